"""Registers the ``minilm`` (torch), ``minilm-onnx`` (int8 ONNX) and ``minilm-l3`` (3-layer ONNX) embedders. Imports nothing heavy."""

from __future__ import annotations

from routellm_core.hookspecs import hookimpl


def _minilm(**kwargs):
    from .encoder import MiniLMEmbedder

    return MiniLMEmbedder(**kwargs)


def _minilm_onnx(**kwargs):
    from .encoder import MiniLMOnnxEmbedder

    return MiniLMOnnxEmbedder(**kwargs)


def _minilm_l3(**kwargs):
    from .encoder import MiniLML3Embedder

    return MiniLML3Embedder(**kwargs)


@hookimpl
def routellm_register_embedders(register):
    register("minilm", _minilm, description="all-MiniLM-L6-v2 (384-d) on torch CPU, local and offline (needs routellm-minilm[torch])")
    register("minilm-onnx", _minilm_onnx, description="all-MiniLM-L6-v2 as int8 ONNX (needs routellm-minilm[onnx])")
    register("minilm-l3", _minilm_l3, description="paraphrase-MiniLM-L3-v2 (384-d) on ONNX: fast, local and offline")
