"""Optional progress bars: tqdm when it is installed and wanted, otherwise nothing."""

from __future__ import annotations

import sys
from typing import Any, Iterable, TypeVar

T = TypeVar("T")


class _NoBar:
    """Stands in for a tqdm bar when there is none."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(total: int, desc: str, *, enabled: bool = True, **kwargs: Any) -> Any:
    """A tqdm bar on stderr (``update(n)``, ``close()``, context manager), or a no-op bar when
    ``enabled`` is false or tqdm is not installed. ``kwargs`` go to tqdm (e.g. ``unit``, ``disable=None``
    for "only on a terminal")."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            kwargs.setdefault("file", sys.stderr)
            kwargs.setdefault("leave", False)
            return tqdm(total=total, desc=desc, **kwargs)
    return _NoBar()


def progress_iter(iterable: Iterable[T], total: int, desc: str, *, enabled: bool = True, **kwargs: Any) -> Iterable[T]:
    """``iterable`` wrapped in a tqdm bar when ``enabled`` and tqdm is installed, else ``iterable`` itself."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return iterable
        kwargs.setdefault("file", sys.stderr)
        kwargs.setdefault("leave", False)
        return tqdm(iterable, total=total, desc=desc, **kwargs)
    return iterable
