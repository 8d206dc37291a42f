"""Build or load what plugins registered, by name: :func:`get_embedder`, :func:`load_benchmark`.

These lookups sit above the plugin registry (:mod:`.plugins`) and the modules that define
what is registered (:mod:`.embedders`, :mod:`.evaluation.data`), so that those modules never
import the registry and the registry can import them::

    from routellm_core.lookups import get_embedder, load_benchmark
    emb = get_embedder("minilm-l3")              # or ("litellm", model="text-embedding-3-small")
    bench = load_benchmark("mt-bench")            # or "file:my_eval.jsonl"
"""

from __future__ import annotations

import os
from typing import Any

from .embedders import Embedder
from .errors import RoutingError
from .evaluation.data import FILE_PREFIX, BenchmarkData, BenchmarkDataError, load_file_benchmark
from .plugins import get_registry


def get_embedder(name: str, **kwargs: Any) -> Embedder:
    """Build the embedder registered as ``name`` with the settings ``kwargs`` (validated first: ConfigError)."""
    return get_registry().create_embedder(name, kwargs)


def load_benchmark(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    strong_model: str | None = None,
    weak_model: str | None = None,
) -> BenchmarkData:
    """Load a registered benchmark by name, or ``file:PATH`` for a user file."""
    if name.startswith(FILE_PREFIX):
        path = name[len(FILE_PREFIX) :]
        if not path:
            raise BenchmarkDataError("file: benchmark needs a path, e.g. file:my_eval.jsonl")
        return load_file_benchmark(path, strong_model=strong_model, weak_model=weak_model)
    try:
        reg = get_registry().get("benchmarks", name)
    except RoutingError as exc:
        raise BenchmarkDataError(f"{exc}, or file:PATH for your own JSONL/CSV file") from None
    data = reg.factory(data_dir=data_dir)
    if not isinstance(data, BenchmarkData):
        raise BenchmarkDataError(
            f"benchmark {name!r} ({reg.distribution}): loader returned {type(data).__name__}, not BenchmarkData"
        )
    return data


__all__ = ["get_embedder", "load_benchmark"]
