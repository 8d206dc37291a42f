"""The built-in ``random`` router: a seeded, per-prompt deterministic baseline."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
from pydantic import Field

from ..config import PluginConfig
from ..hookspecs import RegisterRouter, hookimpl
from ..router import Router


class RandomConfig(PluginConfig):
    """Settings of the ``random`` router."""

    seed: int = Field(0, ge=-(2**127), lt=2**127, description="scores are a keyed hash of (seed, prompt)")


class RandomRouter(Router):
    """Scores each prompt with a uniform pseudo-random number derived from (seed, prompt).

    The same prompt always gets the same score for a given seed, so batched and
    one-by-one scoring agree, while over many prompts the scores are uniform on
    [0, 1): a threshold ``t`` sends about ``1 - t`` of traffic to the strong model.
    """

    def __init__(self, config: RandomConfig | None = None) -> None:
        seed = (config or RandomConfig()).seed
        self.seed = seed
        self._key = seed.to_bytes(16, "little", signed=True)

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(prompts), dtype=np.float64)
        for i, prompt in enumerate(prompts):
            digest = hashlib.blake2b(prompt.encode("utf-8", "surrogatepass"), digest_size=8, key=self._key).digest()
            out[i] = int.from_bytes(digest, "little") / 2.0**64
        return out

    def describe(self) -> dict[str, Any]:
        return {"router": "random", "seed": self.seed}


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "random",
        RandomRouter,
        config=RandomConfig,
        description="seeded random baseline (uniform scores, deterministic per prompt)",
    )
