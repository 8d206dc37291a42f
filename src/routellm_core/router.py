"""The Router contract: batched scores in [0, 1] and the routing decision."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .threshold import route_strong, validate_threshold


@dataclass(frozen=True)
class RoutingDecision:
    """What a router decided for one prompt."""

    score: float
    threshold: float
    strong: bool


class Router(abc.ABC):
    """Base class of every router.

    Subclasses implement :meth:`score`: for each prompt, the estimated
    probability that the strong model's answer beats the weak model's.
    Scores must be deterministic for a fixed configuration.
    """

    #: short name the router is registered under (set by the registry)
    name: str = ""

    @abc.abstractmethod
    def score(self, prompts: Sequence[str]) -> np.ndarray:
        """Return a float array of shape ``(len(prompts),)`` with values in [0, 1]."""

    def score_checked(self, prompts: Sequence[str]) -> np.ndarray:
        """:meth:`score`, with the output contract enforced (shape, finite, range)."""
        prompts = list(prompts)
        scores = np.asarray(self.score(prompts), dtype=np.float64).reshape(-1)
        if scores.shape != (len(prompts),):
            raise ValueError(
                f"router {self.name or type(self).__name__!r} returned {scores.shape[0]} scores for {len(prompts)} prompts"
            )
        if not np.all(np.isfinite(scores)) or np.any(scores < 0.0) or np.any(scores > 1.0):
            raise ValueError(f"router {self.name or type(self).__name__!r} returned scores outside [0, 1]")
        return scores

    def route(self, prompt: str, threshold: float) -> RoutingDecision:
        """Score one prompt and apply the threshold rule (strong iff score >= threshold)."""
        threshold = validate_threshold(threshold)
        score = float(self.score_checked([prompt])[0])
        return RoutingDecision(score=score, threshold=threshold, strong=route_strong(score, threshold))

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the router's configuration (used for cache keys)."""
        return {"router": self.name or type(self).__name__}

    def checkpoint_digest(self) -> str | None:
        """A digest of the weights the router scores with, or None if it has none."""
        return None
