"""Helpers shared by the routellm-mf tests."""

import hashlib
from pathlib import Path

import numpy as np

from routellm_core.embedders import Embedder
from routellm_core.testing import shared_data_dir


class HashEmbedder(Embedder):
    """Deterministic fake embedder: a seeded Gaussian vector per text (any dimension, no model files)."""

    name = "hash"

    def __init__(self, dimension: int = 384):
        self.dimension = dimension

    def _embed_batch(self, texts):
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:8], "little")
            out.append(np.random.default_rng(seed).standard_normal(self.dimension))
        return np.asarray(out, np.float32)

    def describe(self):
        return {"embedder": "hash", "dimension": self.dimension}


def data_dir() -> Path | None:
    return shared_data_dir(Path(__file__).resolve().parents[3])
