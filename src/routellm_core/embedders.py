"""Text embedders: the base class, and an on-disk embedding cache.

An :class:`Embedder` maps texts to L2-normalised float32 vectors. Concrete
embedders live in plugins (``routellm_register_embedders``): the local
encoders in ``routellm-minilm`` (``minilm-l3``, paraphrase-MiniLM-L3-v2 on ONNX,
the default of the shipped routers; ``minilm``, all-MiniLM-L6-v2 on torch, with
its ``[torch]`` extra), remote models through litellm in the built-in ``litellm``
plugin. Embedders are looked up by name through the plugin registry, which this
module does not import::

    from routellm_core.lookups import get_embedder
    emb = get_embedder("minilm-l3")         # or ("litellm", model="text-embedding-3-small")
    vectors = emb.embed(["hello", "world"])  # (2, emb.dimension) float32, unit norm

:class:`EmbeddingCache` stores vectors on disk keyed by (embedder description,
text hash), as ``.npy`` + ``.json`` files (never pickle), under
``$ROUTELLM_CACHE_DIR`` or the user cache directory (``~/.cache/routellm``).
Training and evaluation use it so that a prompt is embedded once.
"""

from __future__ import annotations

import abc
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from .fileio import atomic_save_npy, atomic_write_bytes
from .hashing import sha256_text
from .paths import user_cache_dir
from .progress import progress_bar

#: a stable digest of a text (sha256 of its UTF-8 bytes, hex): the embedding cache's key
text_hash = sha256_text


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterable[np.ndarray]:
    """Indices of ``texts`` in batches of similar length (padding dominates encoder cost)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def l2_normalise(vectors: np.ndarray) -> npt.NDArray[np.float32]:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    normalised: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
    return normalised


class Embedder(abc.ABC):
    """Base class of text embedders.

    Subclasses set :attr:`name` and :attr:`dimension` and implement
    :meth:`_embed_batch` (one batch of texts -> array ``(n, dimension)``).
    :meth:`embed` sorts texts by length, batches them, normalises the vectors
    and returns them in input order.
    """

    name: str = ""
    #: length of the vectors; 0 = not known until the first batch (e.g. remote models)
    dimension: int = 0
    batch_size: int = 32

    @abc.abstractmethod
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed one batch (vectors need not be normalised)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        out: np.ndarray | None = np.zeros((len(texts), self.dimension), dtype=np.float32) if self.dimension else None
        for idx in length_sorted_batches(texts, self.batch_size):
            vecs = np.asarray(self._embed_batch([texts[i] for i in idx]), dtype=np.float32)
            if out is None:  # dimension learnt from the first batch (remote models)
                self.dimension = int(vecs.shape[-1])
                out = np.zeros((len(texts), self.dimension), dtype=np.float32)
            if vecs.shape != (len(idx), self.dimension):
                raise ValueError(
                    f"embedder {self.name!r} returned shape {vecs.shape} for {len(idx)} texts (dimension {self.dimension})"
                )
            out[idx] = l2_normalise(vecs)
        if out is None:
            out = np.zeros((0, self.dimension), dtype=np.float32)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-able identity of the embedder: two embedders with equal descriptions give equal vectors."""
        return {"embedder": self.name, "dimension": self.dimension}

    def key(self) -> str:
        """A short digest of :meth:`describe` (cache key component)."""
        return sha256_text(json.dumps(self.describe(), sort_keys=True))[:16]


class EmbeddingCache:
    """An on-disk cache of embeddings, one directory per embedder description.

    Layout: ``<root>/embeddings/<embedder key>/`` holds ``embedder.json`` (the
    description) and shard pairs ``<n>.npy`` (float32 vectors) +
    ``<n>.json`` (the text hashes, in row order). Writes are atomic (temp file +
    rename), so concurrent writers at worst duplicate work.
    """

    def __init__(self, embedder: Embedder, root: str | os.PathLike[str] | None = None) -> None:
        self.embedder = embedder
        self.root = Path(root) if root is not None else user_cache_dir()
        self.dir = self.root / "embeddings" / embedder.key()
        self._index: dict[str, tuple[str, int]] | None = None
        self._shards: dict[str, np.ndarray] = {}

    def _load_index(self) -> dict[str, tuple[str, int]]:
        if self._index is None:
            self._index = {}
            if self.dir.is_dir():
                for meta in sorted(self.dir.glob("shard-*.json")):
                    try:
                        hashes = json.loads(meta.read_text())
                    except (OSError, ValueError):
                        continue
                    if not meta.with_suffix(".npy").exists():
                        continue
                    for row, h in enumerate(hashes):
                        self._index[h] = (meta.stem, row)
        return self._index

    def _shard(self, stem: str) -> np.ndarray:
        if stem not in self._shards:
            self._shards[stem] = np.load(self.dir / f"{stem}.npy", allow_pickle=False)
        return self._shards[stem]

    def __len__(self) -> int:
        return len(self._load_index())

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embeddings of ``texts``, computing (and storing) only the missing ones.

        Works for embedders that learn their dimension from the first batch (``dimension == 0``).
        """
        texts = [str(t) for t in texts]
        index = self._load_index()
        hashes = [sha256_text(t) for t in texts]
        missing: dict[str, int] = {}
        for i, h in enumerate(hashes):
            if h not in index and h not in missing:
                missing[h] = i
        if missing:
            vecs = _embed_with_progress(self.embedder, [texts[i] for i in missing.values()], progress)
            self._write(list(missing.keys()), vecs)  # adds them to the index
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([self._shard(stem)[row] for stem, row in (index[h] for h in hashes)]).astype(np.float32, copy=False)

    def _write(self, hashes: list[str], vecs: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        desc = self.dir / "embedder.json"
        if not desc.exists():
            atomic_write_bytes(desc, json.dumps(self.embedder.describe(), sort_keys=True, indent=1).encode())
        stem = "shard-" + sha256_text("".join(hashes))[:16]
        # vectors first, then the hash list that makes the shard visible
        atomic_save_npy(self.dir / f"{stem}.npy", np.asarray(vecs, dtype=np.float32))
        atomic_write_bytes(self.dir / f"{stem}.json", json.dumps(hashes).encode())
        index = self._load_index()
        self._shards[stem] = np.asarray(vecs, dtype=np.float32)
        for row, h in enumerate(hashes):
            index[h] = (stem, row)


def _embed_with_progress(embedder: Embedder, texts: list[str], progress: bool) -> np.ndarray:
    if not progress or len(texts) <= embedder.batch_size:
        return embedder.embed(texts)
    chunk = max(embedder.batch_size * 16, 256)
    order = np.argsort([len(t) for t in texts], kind="stable")
    out: np.ndarray | None = None
    with progress_bar(len(texts), f"embedding ({embedder.name})", unit="text", leave=True) as bar:
        for start in range(0, len(order), chunk):
            idx = order[start : start + chunk]
            vecs = embedder.embed([texts[i] for i in idx])
            if out is None:  # the dimension may be known only now
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            bar.update(len(idx))
    assert out is not None
    return out
