"""``toyq``: a small QualityRouter for the N-model tests, registered as a plugin through an entry point.

The tests put a ``dist-info`` with ``[routellm] toyq = toy_quality_router`` on the proxy's PYTHONPATH, so the
real proxy process loads it the way it loads any router plugin.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from routellm_core.plugin_api import QualityRouter, RegisterRouter, Router, hookimpl

#: the router's names for the models it predicts quality for
NAMES = ("gpt-4o", "gpt-4o-mini", "llama-3.1-8b")
#: predicted quality per model: prompts with "hard" in them, and all others
QUALITY = {"hard": (0.9, 0.5, 0.2), "easy": (0.9, 0.88, 0.85)}


def quality_of(prompt: str) -> dict[str, float]:
    return dict(zip(NAMES, QUALITY["hard" if "hard" in prompt else "easy"], strict=True))


class ToyQualityRouter(Router, QualityRouter):
    """Quality per model from the word "hard" in the prompt; as a two-model router, "hard" scores high."""

    @property
    def quality_models(self) -> tuple[str, ...]:
        return NAMES

    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        rows = [[quality_of(p)[m] for m in models] for p in prompts]
        return np.asarray(rows, dtype=np.float64).reshape(len(prompts), len(models))

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        return np.asarray([0.9 if "hard" in p else 0.1 for p in prompts], dtype=np.float64)


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register("toyq", ToyQualityRouter, description="test QualityRouter: quality per model from the word 'hard'")
