"""Settings of the ``minilm``, ``minilm-onnx`` and ``minilm-l3`` embedders: the one declaration of them.

The registry validates a config file's settings against these models and builds the embedders of
:mod:`routellm_minilm.encoder` with the instance. Imports pydantic only, so registering the embedders
stays light.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from routellm_core.plugin_api import PluginConfig

DEFAULT_MAX_LENGTH = 128  # word pieces read per text by all-MiniLM-L6-v2: the routers were trained with it
L3_MAX_LENGTH = 128  # word pieces read per text by paraphrase-MiniLM-L3-v2, as sentence-transformers does


_MAX_LENGTH = Field(default=DEFAULT_MAX_LENGTH, ge=8, le=512, description="word pieces read per text")
_BATCH_SIZE = Field(default=32, ge=1, description="texts per forward pass")
_NUM_THREADS = Field(default=None, ge=1, description="CPU threads (default: the library's)")


class MiniLMConfig(PluginConfig):
    """Settings of the ``minilm`` embedder (torch)."""

    max_length: int = _MAX_LENGTH
    batch_size: int = _BATCH_SIZE
    device: str = Field(default="cpu", min_length=1, description="torch device")
    num_threads: int | None = _NUM_THREADS
    dtype: Literal["auto", "float32", "bfloat16"] = Field(default="float32", description="auto: bfloat16 on CPUs with AMX")


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
        default=L3_MAX_LENGTH - 2,
        ge=0,
        le=L3_MAX_LENGTH - 2,
        description="word pieces kept from the start of a long text; the rest from its end",
    )
