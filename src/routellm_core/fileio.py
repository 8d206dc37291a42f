"""Atomic file writes: a temporary file in the target's directory, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Create or replace ``path`` with what ``write(fh)`` writes to a binary file handle.

    Readers see the old file or the complete new one, never a partial one; on error
    the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Create or replace ``path`` with ``data``, atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Create or replace ``path`` with ``text`` (UTF-8), atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """``np.save`` to ``path`` (no pickle), atomically."""
    return atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))
