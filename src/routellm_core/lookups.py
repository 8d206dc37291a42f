"""Build or load what plugins registered, by name: :func:`get_embedder`, :func:`load_benchmark`.

These lookups sit above the plugin registry (:mod:`.plugins`) and the modules that define
what is registered (:mod:`.embedders`, :mod:`.evaluation.data`), so that those modules never
import the registry and the registry can import them::

    from routellm_core.lookups import get_embedder, load_benchmark
    emb = get_embedder("minilm-l3")              # or ("litellm", model="text-embedding-3-small")
    bench = load_benchmark("mt-bench", download=True)  # or "file:my_eval.jsonl"
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Callable

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
    download: bool | None = None,
    strong_model: str | None = None,
    weak_model: str | None = None,
) -> BenchmarkData:
    """Load a registered benchmark by name, or ``file:PATH`` for a user file.

    ``download`` (``routellm eval --download``) is passed to loaders that take it: ``True`` lets them
    fetch missing files, ``False`` forbids it, ``None`` leaves it to ``$ROUTELLM_DOWNLOAD``
    (:func:`~routellm_core.evaluation.data.downloads_allowed`). A loader without a ``download``
    parameter (written for ``loader(data_dir=None)``) is called with ``data_dir`` only, as before.
    """
    if name.startswith(FILE_PREFIX):
        path = name[len(FILE_PREFIX) :]
        if not path:
            raise BenchmarkDataError("file: benchmark needs a path, e.g. file:my_eval.jsonl")
        return load_file_benchmark(path, strong_model=strong_model, weak_model=weak_model)
    try:
        reg = get_registry().get("benchmarks", name)
    except RoutingError as exc:
        raise BenchmarkDataError(f"{exc}, or file:PATH for your own JSONL/CSV file") from None
    options: dict[str, Any] = {"data_dir": data_dir}
    if download is not None and _takes_keyword(reg.factory, "download"):
        options["download"] = download
    data = reg.factory(**options)
    if not isinstance(data, BenchmarkData):
        raise BenchmarkDataError(
            f"benchmark {name!r} ({reg.distribution}): loader returned {type(data).__name__}, not BenchmarkData"
        )
    return data


def _takes_keyword(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` declares a parameter ``name`` that can be passed by keyword (``**kwargs`` does not count:
    a wrapper such as :func:`~routellm_core.hookspecs.lazy` says nothing about what it calls)."""
    try:
        parameter = inspect.signature(function).parameters.get(name)
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


__all__ = ["get_embedder", "load_benchmark"]
