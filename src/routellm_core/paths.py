"""Where routellm keeps files of its own on the user's machine."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "ROUTELLM_CACHE_DIR"


def user_cache_dir() -> Path:
    """``$ROUTELLM_CACHE_DIR``, else ``$XDG_CACHE_HOME/routellm``, else ``~/.cache/routellm``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "routellm"
