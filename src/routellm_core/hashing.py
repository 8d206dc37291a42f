"""sha256 digests (hex) of bytes, text and files."""

from __future__ import annotations

import hashlib
import os


def sha256_bytes(data: bytes) -> str:
    """sha256 of ``data``, hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """sha256 of the UTF-8 bytes of ``text`` (lone surrogates kept as they are), hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, hex, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
