"""Registers the ``minilm`` (torch), ``minilm-onnx`` (int8 ONNX) and ``minilm-l3`` (3-layer ONNX) embedders.

Imports nothing heavy: the embedders' module (and torch, transformers, onnxruntime) load when one is built.
"""

from __future__ import annotations

from routellm_core.plugin_api import RegisterEmbedder, hookimpl, lazy

from .config import MiniLMConfig, MiniLML3Config, MiniLMOnnxConfig

__all__ = ["MiniLMConfig", "MiniLML3Config", "MiniLMOnnxConfig", "routellm_register_embedders"]


@hookimpl
def routellm_register_embedders(register: RegisterEmbedder) -> None:
    register(
        "minilm",
        lazy("routellm_minilm.encoder:MiniLMEmbedder"),
        config=MiniLMConfig,
        description="all-MiniLM-L6-v2 (384-d) on torch CPU, local and offline (needs routellm-minilm[torch])",
    )
    register(
        "minilm-onnx",
        lazy("routellm_minilm.encoder:MiniLMOnnxEmbedder"),
        config=MiniLMOnnxConfig,
        description="all-MiniLM-L6-v2 as int8 ONNX (needs routellm-minilm[onnx])",
    )
    register(
        "minilm-l3",
        lazy("routellm_minilm.encoder:MiniLML3Embedder"),
        config=MiniLML3Config,
        description="paraphrase-MiniLM-L3-v2 (384-d) on ONNX: fast, local and offline",
    )
