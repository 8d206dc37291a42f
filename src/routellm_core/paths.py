"""Where routellm keeps and finds files on the user's machine.

* Cache: ``$ROUTELLM_CACHE_DIR``, else ``$XDG_CACHE_HOME/routellm``, else ``~/.cache/routellm``.
* Data (evaluation and training files): an explicit directory (``--data-dir``), else
  ``$ROUTELLM_DATA_DIR``, else ``<cache>/data`` (where downloads go).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "ROUTELLM_CACHE_DIR"
DATA_ENV = "ROUTELLM_DATA_DIR"


def user_cache_dir() -> Path:
    """``$ROUTELLM_CACHE_DIR``, else ``$XDG_CACHE_HOME/routellm``, else ``~/.cache/routellm``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "routellm"


def data_dir_candidates(explicit: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """The data directories to look in, in order, each with a label for messages.

    Only ``explicit`` when given; otherwise ``$ROUTELLM_DATA_DIR`` (when set) and ``<user cache>/data``.
    """
    if explicit is not None:
        return [("--data-dir", Path(explicit).expanduser())]
    out = []
    env = os.environ.get(DATA_ENV)
    if env:
        out.append((f"${DATA_ENV}", Path(env).expanduser()))
    out.append(("user cache", user_cache_dir() / "data"))
    return out


def find_data_dir(probe: str, explicit: str | os.PathLike[str] | None = None, subdir: str = "routellm-evals") -> Path | None:
    """The first candidate directory (see :func:`data_dir_candidates`) holding ``probe`` (a relative path),
    directly or under ``subdir``; returns the directory that holds it, or None."""
    for _, base in data_dir_candidates(explicit):
        for root in (base / subdir, base):
            if (root / probe).exists():
                return root
    return None
