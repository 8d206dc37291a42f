"""The built-in ``length`` router: longer prompts go to the strong model (a no-training baseline)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pydantic import Field

from ..config import PluginConfig
from ..hookspecs import RegisterRouter, hookimpl
from ..router import Router


class LengthConfig(PluginConfig):
    """Settings of the ``length`` router."""

    scale: float = Field(1000.0, gt=0, description="the length in characters that gets score 0.5")


class LengthRouter(Router):
    """Scores a prompt by its length in characters: ``score = L / (L + scale)``.

    The map is strictly increasing in ``L``, so the ranking (and every metric of
    the evaluation harness) is that of the raw length; ``scale`` (default 1000
    characters) only sets which length gets score 0.5. A baseline a learned
    router should beat.
    """

    def __init__(self, config: LengthConfig | None = None) -> None:
        self.scale = float((config or LengthConfig()).scale)

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        lengths = np.fromiter((len(p) for p in prompts), dtype=np.float64, count=len(prompts))
        return lengths / (lengths + self.scale)

    def describe(self) -> dict[str, Any]:
        return {"router": "length", "scale": self.scale}


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register("length", LengthRouter, config=LengthConfig, description="prompt length baseline (longer -> strong), no training")
