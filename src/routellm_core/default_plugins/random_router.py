"""The built-in ``random`` router: a seeded, per-prompt deterministic baseline."""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from ..hookspecs import hookimpl
from ..router import Router


class RandomRouter(Router):
    """Scores each prompt with a uniform pseudo-random number derived from (seed, prompt).

    The same prompt always gets the same score for a given seed, so batched and
    one-by-one scoring agree, while over many prompts the scores are uniform on
    [0, 1): a threshold ``t`` sends about ``1 - t`` of traffic to the strong model.
    """

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.seed = seed
        self._key = seed.to_bytes(16, "little", signed=True)

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(prompts), dtype=np.float64)
        for i, prompt in enumerate(prompts):
            digest = hashlib.blake2b(prompt.encode("utf-8", "surrogatepass"), digest_size=8, key=self._key).digest()
            out[i] = int.from_bytes(digest, "little") / 2.0**64
        return out

    def describe(self) -> dict:
        return {"router": "random", "seed": self.seed}


@hookimpl
def routellm_register_routers(register):
    register("random", RandomRouter, description="seeded random baseline (uniform scores, deterministic per prompt)")
