"""Fakes that stand in for model-backed parts in tests."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..embedders import Embedder


class HashEmbedder(Embedder):
    """Deterministic fake embedder: a seeded Gaussian vector per text (any dimension, no model files).

    The seed is the first 8 bytes of the text's sha256, so equal texts get equal vectors in every process.
    """

    name = "hash"

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "little")
            out.append(np.random.default_rng(seed).standard_normal(self.dimension))
        return np.asarray(out, np.float32)

    def describe(self) -> dict[str, Any]:
        return {"embedder": "hash", "dimension": self.dimension}
