"""File-name-safe short names."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str, *, max_len: int | None = None, empty: str = "x") -> str:
    """``text`` with each run of characters other than ``A-Za-z0-9_.-`` replaced by ``_``, leading and
    trailing ``.``/``_`` removed, cut to ``max_len`` characters; ``empty`` when nothing is left."""
    out = _UNSAFE.sub("_", text).strip("._")
    if max_len is not None:
        out = out[:max_len]
    return out or empty
