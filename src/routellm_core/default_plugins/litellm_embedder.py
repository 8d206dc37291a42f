"""The built-in ``litellm`` embedder: remote embedding models through litellm.

For users with provider keys (e.g. ``OPENAI_API_KEY``), this gives the
embeddings RouteLLM's published checkpoints were trained with
(``text-embedding-3-small``, 1536-d). Nothing is contacted at import or
construction time; the first :meth:`embed` call does the first request.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field

from ..config import PluginConfig
from ..embedders import Embedder
from ..errors import MissingDependencyError
from ..hookspecs import RegisterEmbedder, hookimpl

#: dimensions of well-known embedding models (others are discovered on first call)
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "openai/text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "openai/text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "openai/text-embedding-ada-002": 1536,
}


class LiteLLMEmbedderConfig(PluginConfig):
    """Settings of the ``litellm`` embedder; further keys (``api_base``, ...) are passed to ``litellm.embedding``."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("text-embedding-3-small", min_length=1, description="litellm embedding model id")
    dimensions: int | None = Field(None, ge=1, description="shortened embeddings, for providers that support them")
    batch_size: int = Field(256, ge=1)
    timeout: float = Field(60.0, gt=0, description="seconds per request")


class LiteLLMEmbedder(Embedder):
    """Embeds texts with ``litellm.embedding(model=..., input=[...])``.

    ``dimensions`` is passed to providers that support shortened embeddings;
    :attr:`extra` holds the settings' further keys for litellm (``api_base``, ...).
    """

    def __init__(self, config: LiteLLMEmbedderConfig | None = None) -> None:
        config = config or LiteLLMEmbedderConfig()
        model, dimensions, batch_size, timeout = config.model, config.dimensions, config.batch_size, config.timeout
        extra: dict[str, Any] = dict(config.model_extra or {})
        self.model = model
        self.name = "litellm"
        self.requested_dimensions = dimensions
        self.dimension = int(dimensions or KNOWN_DIMENSIONS.get(model, 0))
        self.batch_size = int(batch_size)
        self.timeout = float(timeout)
        self.extra = extra

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        try:
            import litellm
        except ImportError:  # pragma: no cover - litellm is a core dependency
            raise MissingDependencyError("litellm", "the litellm embedder") from None
        kwargs = dict(self.extra)
        if self.requested_dimensions:
            kwargs["dimensions"] = self.requested_dimensions
        response = litellm.embedding(model=self.model, input=texts, timeout=self.timeout, **kwargs)
        data = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        vecs = np.asarray([d["embedding"] if isinstance(d, dict) else d.embedding for d in data], dtype=np.float32)
        if not self.dimension:
            self.dimension = int(vecs.shape[1])
        return vecs

    def describe(self) -> dict[str, Any]:
        return {"embedder": "litellm", "model": self.model, "dimension": self.dimension}


@hookimpl
def routellm_register_embedders(register: RegisterEmbedder) -> None:
    register(
        "litellm",
        LiteLLMEmbedder,
        config=LiteLLMEmbedderConfig,
        description="remote embedding models through litellm (e.g. text-embedding-3-small; needs provider keys)",
    )
