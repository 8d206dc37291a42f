"""Calibrating the cost knob to a budget: the smallest knob ``w`` whose expected cost on a sample stays within it.

With a models list, ``router-<router>-<w>`` picks, for each prompt, the model :func:`~routellm_core.model_choice.choose`
gives for the knob ``w``: ``w = 0`` the best predicted model, ``w = 1`` the cheapest, and the chosen model's cost never
rises as ``w`` rises. So the cost of a sample of prompts is a non-increasing step function of ``w``, and the smallest
``w`` (the highest quality) meeting a budget is one of its steps: :func:`calibrate_knob` lists the exact knob values
where any prompt's choice changes (the slopes of each prompt's cost-quality hull, turned into the smallest float ``w``
whose ``lambda(w)`` reaches them) and bisects over them, evaluating the choice rule exactly as the router does.

Budgets: ``max_cost_per_1k`` (USD per 1,000 requests like the sample) or ``max_fraction_of_best`` (a fraction of the
sample's cost at ``w = 0``, every prompt going to its best predicted model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .model_choice import frontier, knob_lambda


@dataclass(frozen=True)
class KnobCalibration:
    """The knob a budget allows on a sample, and what it buys there.

    ``knob``: the smallest ``w`` whose expected cost meets the budget on the sample; ``short_knob``: the
    shortest decimal routing the sample exactly as ``knob`` does (for a readable model name). Costs are in
    USD per 1,000 requests like the sample; ``mix`` is the fraction of the sample each model gets, ``counts``
    how many prompts; ``quality`` the mean predicted quality of the chosen models (``best_quality`` at ``w = 0``).
    """

    knob: float
    short_knob: float
    budget_per_1k: float
    cost_per_1k: float
    best_cost_per_1k: float
    cheapest_cost_per_1k: float
    counts: tuple[int, ...]
    mix: tuple[float, ...]
    quality: float
    best_quality: float
    prompts: int

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "knob": self.knob,
            "short_knob": self.short_knob,
            "budget_per_1k": self.budget_per_1k,
            "cost_per_1k": self.cost_per_1k,
            "best_cost_per_1k": self.best_cost_per_1k,
            "cheapest_cost_per_1k": self.cheapest_cost_per_1k,
            "quality": self.quality,
            "best_quality": self.best_quality,
            "prompts": self.prompts,
        }
        labels = list(names) if names is not None else [str(i) for i in range(len(self.mix))]
        out["mix"] = {label: {"fraction": f, "prompts": c} for label, f, c in zip(labels, self.mix, self.counts, strict=True)}
        return out


class _Sample:
    """Each prompt's cost-quality hull, for evaluating the choice rule at many knob values."""

    def __init__(self, quality: npt.ArrayLike, cost: npt.ArrayLike) -> None:
        q = np.asarray(quality, dtype=np.float64)
        if q.ndim != 2 or q.shape[0] == 0 or q.shape[1] == 0:
            raise ValueError(f"need a (prompts, models) quality matrix with at least one of each, got shape {q.shape}")
        c = np.broadcast_to(np.asarray(cost, dtype=np.float64), q.shape)
        self.quality, self.cost = q, c
        self.hulls = [frontier(q[i], c[i]) for i in range(q.shape[0])]

    def chosen(self, w: float) -> np.ndarray:
        """Each prompt's chosen model at knob ``w``, exactly as :func:`~routellm_core.model_choice.choose` picks it."""
        lam = knob_lambda(w)
        out = np.empty(len(self.hulls), dtype=np.int64)
        for i, (idx, slopes) in enumerate(self.hulls):
            steps = 0
            while steps < slopes.size and slopes[steps] > lam:
                steps += 1
            out[i] = idx[steps]
        return out

    def total(self, chosen: np.ndarray) -> float:
        return float(np.sum(self.cost[np.arange(chosen.size), chosen]))

    def breakpoints(self) -> np.ndarray:
        """Every knob value where some prompt's choice changes, with 0 and 1: sorted, unique."""
        values = {0.0, 1.0}
        for _, slopes in self.hulls:
            for slope in slopes:
                values.add(smallest_knob_reaching(float(slope)))
        return np.asarray(sorted(values), dtype=np.float64)


def smallest_knob_reaching(slope: float) -> float:
    """The smallest float ``w`` in [0, 1] with ``lambda(w) >= slope``: from it on, a step of that slope is not taken."""
    if not slope > 0.0:
        return 0.0
    if math.isinf(slope):
        return 1.0
    w = min(1.0, slope / (1.0 + slope))
    while knob_lambda(w) < slope:
        w = float(np.nextafter(w, 2.0))
    while w > 0.0:
        below = float(np.nextafter(w, -1.0))
        if knob_lambda(below) < slope:
            break
        w = below
    return w


def shortest_decimal(low: float, high: float) -> float:
    """The decimal with the fewest digits in ``[low, high)`` (``low`` itself when none is shorter)."""
    for digits in range(0, 18):
        scale = 10.0**digits
        value = math.ceil(low * scale) / scale
        if value < low:  # float rounding
            value = math.ceil(low * scale + 1) / scale
        if low <= value < high and value <= 1.0:
            return value
    return low


def calibrate_knob(
    quality: npt.ArrayLike,
    cost: npt.ArrayLike,
    *,
    max_cost_per_1k: float | None = None,
    max_fraction_of_best: float | None = None,
) -> KnobCalibration:
    """The smallest knob ``w`` whose expected cost on the sample meets the budget.

    Args:
        quality: ``(prompts, models)`` predicted quality.
        cost: ``(prompts, models)`` or ``(models,)`` expected cost of each prompt on each model (USD).
        max_cost_per_1k: the budget in USD per 1,000 requests like the sample ...
        max_fraction_of_best: ... or as a fraction of the sample's cost at ``w = 0`` (every prompt to its best
            predicted model); give exactly one.

    Raises:
        ValueError: a bad budget, or one below the sample's cost at ``w = 1`` (every prompt to its cheapest model),
            naming both.
    """
    if (max_cost_per_1k is None) == (max_fraction_of_best is None):
        raise ValueError("give exactly one budget: max_cost_per_1k or max_fraction_of_best")
    sample = _Sample(quality, cost)
    n = int(sample.quality.shape[0])
    best = sample.chosen(0.0)
    best_total = sample.total(best)
    cheapest_total = sample.total(sample.chosen(1.0))
    if max_cost_per_1k is not None:
        if not math.isfinite(max_cost_per_1k) or max_cost_per_1k < 0:
            raise ValueError(f"the budget must be a finite number of USD >= 0 per 1,000 requests, got {max_cost_per_1k!r}")
        budget = max_cost_per_1k * n / 1000.0
    else:
        assert max_fraction_of_best is not None
        if not math.isfinite(max_fraction_of_best) or max_fraction_of_best < 0:
            raise ValueError(f"the budget must be a fraction >= 0 of the all-best cost, got {max_fraction_of_best!r}")
        budget = max_fraction_of_best * best_total

    def per_1k(total: float) -> float:
        return float(total * 1000.0 / n)

    if cheapest_total > budget:
        raise ValueError(
            f"the budget of ${per_1k(budget):.6g} per 1,000 requests is below the cheapest routing of this sample: "
            f"${per_1k(cheapest_total):.6g} per 1,000 requests with every prompt on its cheapest model (w = 1)"
        )
    candidates = sample.breakpoints()
    lo, hi = 0, candidates.size - 1  # the cost at candidates[hi] (w = 1) meets the budget
    while lo < hi:
        mid = (lo + hi) // 2
        if sample.total(sample.chosen(float(candidates[mid]))) <= budget:
            hi = mid
        else:
            lo = mid + 1
    knob = float(candidates[lo])
    chosen = sample.chosen(knob)
    following = float(candidates[lo + 1]) if lo + 1 < candidates.size else math.nextafter(1.0, 2.0)
    counts = np.bincount(chosen, minlength=sample.quality.shape[1])
    rows = np.arange(n)
    return KnobCalibration(
        knob=knob,
        short_knob=shortest_decimal(knob, following),
        budget_per_1k=per_1k(budget),
        cost_per_1k=per_1k(sample.total(chosen)),
        best_cost_per_1k=per_1k(best_total),
        cheapest_cost_per_1k=per_1k(cheapest_total),
        counts=tuple(int(c) for c in counts),
        mix=tuple(float(c) / n for c in counts),
        quality=float(np.mean(sample.quality[rows, chosen])),
        best_quality=float(np.mean(sample.quality[rows, best])),
        prompts=n,
    )


__all__ = ["KnobCalibration", "calibrate_knob", "shortest_decimal", "smallest_knob_reaching"]
