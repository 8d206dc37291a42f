"""Cache of router scores on a benchmark, in a user cache directory, without pickle.

Key: sha256 over the router's ``describe()``, the config it was built from, its
plugin distribution and version, ``checkpoint_digest()`` and the benchmark's data
digest. An entry is two files, ``<key>.npy`` (float64 scores, saved and loaded
with ``allow_pickle=False``) and ``<key>.json`` (the key material and the sha256
of the ``.npy`` file). An entry is used only when all of the key material
matches, the checksum matches and there is one finite score in [0, 1] per
prompt; anything else is recomputed and overwritten. Writes are atomic.

Predicted qualities of N-model routers use the same cache: their key material
adds the models predicted for (:func:`quality_key_material`) and the array is
``(prompts, models)``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import numpy.typing as npt

from ..fileio import atomic_write_bytes, atomic_write_text
from ..hashing import sha256_bytes, sha256_file, sha256_text
from ..paths import user_cache_dir
from ..slug import slug

if TYPE_CHECKING:
    from ..router import Router

FORMAT = "routellm-score-cache-v1"


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


def cache_key_material(
    router: Router, benchmark_digest: str, *, config: dict[str, Any] | None = None, plugin: str | None = None
) -> dict[str, Any]:
    """Everything the cached scores depend on."""
    return {
        "format": FORMAT,
        "router": router.describe(),
        "router_name": getattr(router, "name", "") or type(router).__name__,
        "router_class": f"{type(router).__module__}.{type(router).__qualname__}",
        "config": config or {},
        "plugin": plugin,
        "checkpoint_digest": router.checkpoint_digest(),
        "benchmark_digest": benchmark_digest,
    }


def quality_key_material(
    router: Router,
    benchmark_digest: str,
    models: Sequence[str],
    *,
    config: dict[str, Any] | None = None,
    plugin: str | None = None,
) -> dict[str, Any]:
    """Everything a router's predicted quality matrix depends on: :func:`cache_key_material` and the models."""
    return {**cache_key_material(router, benchmark_digest, config=config, plugin=plugin), "quality_models": list(models)}


class ScoreCache:
    """Router scores per (router configuration, checkpoint, benchmark data)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else user_cache_dir() / "eval-scores"

    def paths(self, material: dict[str, Any], benchmark_name: str) -> tuple[Path, Path]:
        key = sha256_text(_canonical(material))
        folder = self.root / slug(benchmark_name, max_len=60)
        stem = f"{slug(str(material.get('router_name')), max_len=60)}-{key[:32]}"
        return folder / f"{stem}.npy", folder / f"{stem}.json"

    def load(
        self, material: dict[str, Any], benchmark_name: str, n_prompts: int, *, columns: int | None = None
    ) -> npt.NDArray[np.float64] | None:
        """The cached scores (``(n_prompts,)``, or ``(n_prompts, columns)`` for predicted qualities), or None when
        absent or not valid for exactly this material."""
        npy, meta_path = self.paths(material, benchmark_name)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("key") != json.loads(_canonical(material)):
                return None
            if meta.get("npy_sha256") != sha256_file(npy):
                return None
            scores: npt.NDArray[np.float64] = np.load(npy, allow_pickle=False)
        except (OSError, ValueError):
            return None
        shape = (n_prompts,) if columns is None else (n_prompts, columns)
        if scores.dtype != np.float64 or scores.shape != shape:
            return None
        if not np.all(np.isfinite(scores)) or np.any(scores < 0) or np.any(scores > 1):
            return None
        return scores

    def store(self, material: dict[str, Any], benchmark_name: str, scores: np.ndarray) -> Path:
        npy, meta_path = self.paths(material, benchmark_name)
        npy.parent.mkdir(parents=True, exist_ok=True)
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        buf = io.BytesIO()
        np.save(buf, scores, allow_pickle=False)
        atomic_write_bytes(npy, buf.getvalue())
        meta = {"key": json.loads(_canonical(material)), "npy_sha256": sha256_bytes(buf.getvalue()), "n": int(scores.size)}
        atomic_write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True))
        return npy
