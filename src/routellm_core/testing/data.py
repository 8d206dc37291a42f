"""Where tests find the evaluation and training data, for the core's and plugins' tests."""

from __future__ import annotations

import os
from pathlib import Path

#: what tests print when they skip for want of the data
MISSING = "shared data not found (set ROUTELLM_DATA_DIR or put it at ../shared/data)"


def shared_data_dir(repository: Path, needs: str = "routellm-evals") -> Path | None:
    """``$ROUTELLM_DATA_DIR``, else ``../shared/data`` beside ``repository``, if it holds ``needs``; None otherwise.

    A directory that holds ``mmlu/`` directly (RouteLLM's evaluation files alone) counts for ``routellm-evals``.
    """
    env = os.environ.get("ROUTELLM_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [Path(repository) / ".." / "shared" / "data"]:
        if (candidate / needs).is_dir() or (needs == "routellm-evals" and (candidate / "mmlu").is_dir()):
            return candidate.resolve()
    return None
