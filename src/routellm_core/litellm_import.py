"""Import litellm without it reaching for the network at import time."""

from __future__ import annotations

import os
from types import ModuleType


def import_litellm() -> ModuleType:
    """litellm, using its bundled model cost map unless the user chose otherwise."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm
