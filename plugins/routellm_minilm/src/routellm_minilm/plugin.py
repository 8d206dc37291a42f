"""Registers the ``minilm`` (torch), ``minilm-onnx`` (int8 ONNX) and ``minilm-l3`` (3-layer ONNX) embedders.

Imports nothing heavy: torch, transformers and onnxruntime load when an embedder is built.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from routellm_core.plugin_api import PluginConfig, RegisterEmbedder, hookimpl

from .encoder import DEFAULT_MAX_LENGTH, L3_MAX_LENGTH, MiniLMEmbedder, MiniLML3Embedder, MiniLMOnnxEmbedder

_MAX_LENGTH = Field(DEFAULT_MAX_LENGTH, ge=8, le=512, description="word pieces read per text")
_BATCH_SIZE = Field(32, ge=1, description="texts per forward pass")
_NUM_THREADS = Field(None, ge=1, description="CPU threads (default: the library's)")


class MiniLMConfig(PluginConfig):
    """Settings of the ``minilm`` embedder (torch)."""

    max_length: int = _MAX_LENGTH
    batch_size: int = _BATCH_SIZE
    device: str = Field("cpu", min_length=1, description="torch device")
    num_threads: int | None = _NUM_THREADS
    dtype: Literal["auto", "float32", "bfloat16"] = Field("float32", description="auto: bfloat16 on CPUs with AMX")


class MiniLMOnnxConfig(PluginConfig):
    """Settings of the ``minilm-onnx`` embedder."""

    max_length: int = _MAX_LENGTH
    batch_size: int = _BATCH_SIZE
    num_threads: int | None = _NUM_THREADS


class MiniLML3Config(PluginConfig):
    """Settings of the ``minilm-l3`` embedder."""

    batch_size: int = _BATCH_SIZE
    num_threads: int | None = _NUM_THREADS
    head_tokens: int = Field(
        L3_MAX_LENGTH - 2,
        ge=0,
        le=L3_MAX_LENGTH - 2,
        description="word pieces kept from the start of a long text; the rest from its end",
    )


@hookimpl
def routellm_register_embedders(register: RegisterEmbedder) -> None:
    register(
        "minilm",
        MiniLMEmbedder,
        config=MiniLMConfig,
        description="all-MiniLM-L6-v2 (384-d) on torch CPU, local and offline (needs routellm-minilm[torch])",
    )
    register(
        "minilm-onnx",
        MiniLMOnnxEmbedder,
        config=MiniLMOnnxConfig,
        description="all-MiniLM-L6-v2 as int8 ONNX (needs routellm-minilm[onnx])",
    )
    register(
        "minilm-l3",
        MiniLML3Embedder,
        config=MiniLML3Config,
        description="paraphrase-MiniLM-L3-v2 (384-d) on ONNX: fast, local and offline",
    )
