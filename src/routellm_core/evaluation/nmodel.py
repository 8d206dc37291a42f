"""N-model evaluation: RouterBench's cost-quality metrics (Hu et al. 2024, arXiv 2403.12031).

Notation. ``n`` prompts, ``m`` models; ``scores[i, j]`` is the true quality of model ``j``'s answer to
prompt ``i`` and ``costs[i, j]`` its cost in USD; ``predicted[i, j]`` is a router's predicted quality.
Every cost below is a **mean cost per prompt** (USD) and every quality a **mean true quality**, over
the benchmark's prompts.

- **Single models** (:func:`single_models`): model ``j`` answering every prompt, the point
  ``(mean costs[:, j], mean scores[:, j])``. The **best single model** is the one with the highest mean
  quality (the cheapest of equals).
- **A router's curve over the knob** (:func:`knob_curve`): for each knob value ``w`` in [0, 1] the project's
  choice rule (:func:`routellm_core.model_choice.choose`, applied to the predicted quality and the
  prompt's costs) picks one model per prompt; the point is the mean cost and mean *true* quality of the
  picks. The rule walks each prompt's predicted (cost, quality) frontier and takes a step while its
  slope exceeds ``lambda(w)``, so the picks change only where ``lambda(w)`` crosses a slope: the curve
  is computed **exactly**, one point per distinct slope (knob breakpoint) plus the ``w = 1`` point
  (every prompt to its cheapest model). Points ascend in cost (and descend in ``w``).
- **Hull** (:func:`cost_quality_hull`): the non-decreasing convex hull of a curve's points
  (:func:`routellm_core.evaluation.metrics.nondecreasing_hull`): the upper concave envelope, held flat
  after its maximum. Any point on it is reached by mixing two knob values at random.
- **AIQ** (:func:`aiq_over_range`): ``1 / (c_hi - c_lo) * integral of hull(c) dc`` over one **common
  cost range** for every router and baseline of a benchmark, so that their AIQs compare:
  ``[c_lo, c_hi]`` = [the cheapest single model's mean cost, the dearest single model's mean cost]
  (:func:`nmodel_reference`), the range the zero router spans. Past a curve's last point the hull is
  held at its last value (a router never needs to spend more to do worse); a knob curve over all the
  models starts at the mean of each prompt's cheapest cost, which is never above ``c_lo``; its part
  beyond ``c_hi`` (possible when per-prompt picks are dearer than any single model on average) is left
  out. With ``c_lo == c_hi``, AIQ is the hull's value there. A router over fewer models than the
  benchmark (a two-model router as N = 2) can start dearer than ``c_lo``: its hull
  (:func:`router_hull`) then also takes in the single models cheaper than its cheapest point, i.e.
  mixing them in at random, as the zero router does; for a router over all the models nothing is added.
- **Curve AIQ** (:func:`curve_aiq_over_range`): the same mean over ``[c_lo, c_hi]``, of the curve itself
  (neighbouring knob values mixed at random) instead of its hull. The hull picks the best of many
  points *on the evaluation data*, so it is optimistic: a random router's hull lies above the line its
  curve follows, by more the more points the curve has. The curve's own area has no such selection
  (the knob values are set by the predictions alone), so it is the fairer test of beating the zero
  router. For the zero router (defined as its hull) and the oracle (whose points lie on its hull) it
  equals AIQ.
- **Quality at the best single model's cost**: the hull at that cost (``curve_quality_at_best_single_cost``:
  the curve's own value there, without the hull's optimism). **Cost to reach the best single
  model's quality**: the smallest cost where the hull reaches it (within 1e-9; NaN if never), also as
  a fraction of the best single model's cost. The ``knob_`` variants use the curve's points alone
  (one knob value, no mixing): the cheapest point with quality at least the best single model's,
  and a knob value that gives it.
- **Zero router** (:func:`zero_router_curve`): the single models' points; its hull is RouterBench's
  input-agnostic mixing of models.
- **Oracle** (:func:`oracle_curve`): with the true qualities, for every price of cost ``lambda``
  (one price for all prompts, in USD) each prompt takes the model maximising
  ``score - lambda * cost`` (the cheapest of equals); ``lambda = 0`` is the best model at the least
  cost for every prompt. These points trace the upper concave envelope of every per-prompt assignment,
  so no router's hull lies above the oracle's, and its AIQ bounds every router's. (It uses raw USD
  rather than the knob's per-prompt normalised cost, which can miss points of the envelope.)
- **Bootstrap** (:func:`evaluate_cost_quality`): prompts are resampled with replacement
  (:func:`routellm_core.evaluation.metrics.bootstrap_counts`); each resample recomputes the single
  models, the cost range, the best single model and every curve from the same picks; all routers and
  baselines see the same resamples, so AIQ(router) - AIQ(zero router) is paired.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ..model_choice import frontier
from .metrics import Interval, _percentile_interval, bootstrap_counts, nondecreasing_hull

#: tolerance of "reaches the best single model's quality"
QUALITY_TOLERANCE = 1e-9
#: relative tolerance of "a single model is cheaper than a curve's cheapest point"
COST_TOLERANCE = 1e-9


# -- inputs ------------------------------------------------------------------------------------


def _matrix(name: str, values: npt.ArrayLike, shape: tuple[int, int] | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (prompts x models) matrix, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _truth(scores: npt.ArrayLike, costs: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = _matrix("scores", scores)
    c = _matrix("costs", costs, s.shape)
    if np.any(c < 0):
        raise ValueError("costs must be >= 0")
    return s, c


# -- curves ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostQualityCurve:
    """Mean cost per prompt (USD) and mean true quality at each point, ascending in cost.

    ``knob[k]`` is a knob value ``w`` that gives point ``k`` and ``knob_range[k]`` the interval of such
    values ``(low, high)``; NaN for curves not made by the knob (oracle, zero router). ``choices`` holds
    the model index picked for each prompt at each point when kept (``keep_choices=True``).
    """

    cost: np.ndarray
    quality: np.ndarray
    knob: np.ndarray
    knob_range: np.ndarray
    n: int
    choices: np.ndarray | None = None

    def hull(self) -> tuple[np.ndarray, np.ndarray]:
        """The non-decreasing convex hull of the points (see :func:`cost_quality_hull`)."""
        return cost_quality_hull(self.cost, self.quality)


@dataclass(frozen=True)
class _Steps:
    """A curve as steps: every prompt starts at ``start`` and takes its steps in order of falling slope."""

    start: np.ndarray  # (n,) model index per prompt at the first point
    prompt: np.ndarray  # (E,) the prompt of each step, sorted by falling slope
    frm: np.ndarray  # (E,) model index before the step
    to: np.ndarray  # (E,) model index after the step
    ends: np.ndarray  # (G,) index of the last step of each group of equal slope
    slopes: np.ndarray  # (G,) the slope of each group, falling


def _steps(quality: np.ndarray, costs: np.ndarray, *, raw_cost: bool) -> _Steps:
    n = quality.shape[0]
    start = np.empty(n, dtype=np.int64)
    prompts: list[np.ndarray] = []
    frm: list[np.ndarray] = []
    to: list[np.ndarray] = []
    slopes: list[np.ndarray] = []
    for i in range(n):
        idx, slope = frontier(quality[i], costs[i])
        start[i] = idx[0]
        if idx.size > 1:
            if raw_cost:  # the oracle: one price of cost (USD) for every prompt
                slope = np.diff(quality[i, idx]) / np.diff(costs[i, idx])
            prompts.append(np.full(idx.size - 1, i, dtype=np.int64))
            frm.append(idx[:-1])
            to.append(idx[1:])
            slopes.append(slope)
    if not slopes:
        empty = np.zeros(0, dtype=np.int64)
        return _Steps(start, empty, empty, empty, empty, np.zeros(0))
    all_slopes = np.concatenate(slopes)
    order = np.argsort(-all_slopes, kind="stable")  # within a prompt slopes fall: its steps stay in order
    sorted_slopes = all_slopes[order]
    ends = np.flatnonzero(np.r_[sorted_slopes[1:] != sorted_slopes[:-1], True])
    return _Steps(
        start,
        np.concatenate(prompts)[order],
        np.concatenate(frm)[order],
        np.concatenate(to)[order],
        ends,
        sorted_slopes[ends],
    )


def _knob_of_lambda(lam: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        w = lam / (1.0 + lam)
    return np.where(np.isinf(lam), 1.0, w)


def _knob_ranges(slopes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(knob, ranges)`` of the G + 1 points of a knob curve whose groups have these falling slopes."""
    g = slopes.size
    w = _knob_of_lambda(slopes)  # point k (after k groups) holds for lambda in [slopes[k], slopes[k - 1])
    low = np.r_[w, 0.0] if g else np.array([0.0])
    high = np.r_[1.0, w]
    knob = (low + high) / 2.0
    knob[0] = 1.0  # w = 1: every prompt at its cheapest model
    if g:
        knob[-1] = 0.0  # w = 0: every prompt at its best predicted model
    return knob, np.stack([low, high], axis=1)


def _curve_from_steps(
    steps: _Steps, scores: np.ndarray, costs: np.ndarray, *, knob: bool, keep_choices: bool = False
) -> CostQualityCurve:
    n = scores.shape[0]
    rows = np.arange(n)
    base_cost = float(np.sum(costs[rows, steps.start]))
    base_quality = float(np.sum(scores[rows, steps.start]))
    dc = costs[steps.prompt, steps.to] - costs[steps.prompt, steps.frm]
    dq = scores[steps.prompt, steps.to] - scores[steps.prompt, steps.frm]
    cost = (base_cost + np.r_[0.0, np.cumsum(dc)[steps.ends]]) / n
    quality = (base_quality + np.r_[0.0, np.cumsum(dq)[steps.ends]]) / n
    if knob:
        w, ranges = _knob_ranges(steps.slopes)
    else:
        w, ranges = np.full(cost.size, np.nan), np.full((cost.size, 2), np.nan)
    choices = None
    if keep_choices:
        choices = np.empty((cost.size, n), dtype=np.int64)
        current = steps.start.copy()
        choices[0] = current
        begin = 0
        for k, end in enumerate(steps.ends, 1):
            current[steps.prompt[begin : end + 1]] = steps.to[begin : end + 1]
            choices[k] = current
            begin = end + 1
    return CostQualityCurve(cost, quality, w, ranges, n, choices)


def knob_curve(
    predicted: npt.ArrayLike, scores: npt.ArrayLike, costs: npt.ArrayLike, *, keep_choices: bool = False
) -> CostQualityCurve:
    """A router's exact cost-quality curve over the knob ``w``: one point per knob breakpoint.

    ``predicted``: the router's predicted quality ``(n, m)``; ``scores``: the true quality ``(n, m)``;
    ``costs``: per-prompt costs in USD ``(n, m)``. Point ``k`` is what
    :func:`routellm_core.model_choice.choose_many` picks at ``w = curve.knob[k]`` (any ``w`` in
    ``curve.knob_range[k]``), scored with the true qualities and costs. (A step whose slope exceeds ~1e16,
    i.e. costs that differ by that factor, has a knob interval too narrow for floating point: its point is
    the limit as ``w`` approaches 1.)
    """
    s, c = _truth(scores, costs)
    p = _matrix("predicted quality", predicted, s.shape)
    return _curve_from_steps(_steps(p, c, raw_cost=False), s, c, knob=True, keep_choices=keep_choices)


def oracle_curve(scores: npt.ArrayLike, costs: npt.ArrayLike, *, keep_choices: bool = False) -> CostQualityCurve:
    """The oracle's curve: per prompt the true-best model at the least cost (last point), and between, the
    picks of one common price of cost; the upper envelope of every per-prompt assignment (see the module)."""
    s, c = _truth(scores, costs)
    return _curve_from_steps(_steps(s, c, raw_cost=True), s, c, knob=False, keep_choices=keep_choices)


@dataclass(frozen=True)
class SingleModel:
    """One model answering every prompt: its mean true quality and mean cost per prompt (USD)."""

    model: str
    quality: float
    cost: float

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "quality": self.quality, "cost": self.cost}


def single_models(models: Sequence[str], scores: npt.ArrayLike, costs: npt.ArrayLike) -> list[SingleModel]:
    """Each model's point: mean quality and mean cost per prompt."""
    s, c = _truth(scores, costs)
    if len(models) != s.shape[1]:
        raise ValueError(f"{len(models)} model names for {s.shape[1]} columns")
    q, k = s.mean(axis=0), c.mean(axis=0)
    return [SingleModel(str(name), float(q[j]), float(k[j])) for j, name in enumerate(models)]


def _best_index(quality: np.ndarray, cost: np.ndarray) -> int:
    top = np.flatnonzero(quality == quality.max())
    return int(top[np.argmin(cost[top])])  # argmin: the first of equally cheap


def best_single_model(singles: Sequence[SingleModel]) -> SingleModel:
    """The single model with the highest mean quality (the cheapest of equals, then the first)."""
    q = np.asarray([x.quality for x in singles])
    k = np.asarray([x.cost for x in singles])
    return singles[_best_index(q, k)]


def zero_router_curve(scores: npt.ArrayLike, costs: npt.ArrayLike) -> CostQualityCurve:
    """The zero router: the single models' points (sorted by cost); its hull mixes models without reading the input."""
    s, c = _truth(scores, costs)
    q, k = s.mean(axis=0), c.mean(axis=0)
    order = np.lexsort((-q, k))
    return CostQualityCurve(k[order], q[order], np.full(k.size, np.nan), np.full((k.size, 2), np.nan), s.shape[0])


# -- hull and its measures -----------------------------------------------------------------------


def cost_quality_hull(cost: npt.ArrayLike, quality: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``(cost, quality)`` of the non-decreasing convex hull of the points (RouterBench's R~)."""
    return nondecreasing_hull(cost, quality)


def router_hull(curve: CostQualityCurve, reference: NModelReference) -> tuple[np.ndarray, np.ndarray]:
    """A curve's hull for the metrics: :func:`cost_quality_hull` of its points and of the single models cheaper than
    its cheapest point (none for a curve over all the benchmark's models; see the module docstring)."""
    return _router_hull(
        curve.cost,
        curve.quality,
        np.asarray([x.cost for x in reference.singles]),
        np.asarray([x.quality for x in reference.singles]),
    )


def _router_hull(
    cost: np.ndarray, quality: np.ndarray, single_cost: np.ndarray, single_quality: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    first = float(cost.min())
    cheaper = single_cost < first - COST_TOLERANCE * max(abs(first), 1e-300)  # equal costs summed in another order are equal
    if np.any(cheaper):
        return nondecreasing_hull(np.r_[single_cost[cheaper], cost], np.r_[single_quality[cheaper], quality])
    return nondecreasing_hull(cost, quality)


def curve_aiq_over_range(
    cost: np.ndarray,
    quality: np.ndarray,
    low: float,
    high: float,
    single_cost: np.ndarray | None = None,
    single_quality: np.ndarray | None = None,
) -> float:
    """The mean over ``[low, high]`` of the curve itself (points joined in cost order, held at its last value past
    its last point); below its first point, the hull of the single models cheaper than it and that point."""
    cost = np.asarray(cost, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    if not high >= low:
        raise ValueError(f"the cost range must have low <= high, got [{low!r}, {high!r}]")
    first = float(cost[0])
    if high == low:  # the curve's value there
        if low < first and single_cost is not None and single_quality is not None:
            lx, ly = _router_hull(cost[:1], quality[:1], single_cost, single_quality)
            return float(np.interp(low, lx, ly))
        return float(np.interp(low, cost, quality))
    area = 0.0
    if first > low:
        if single_cost is not None and single_quality is not None:
            lx, ly = _router_hull(cost[:1], quality[:1], single_cost, single_quality)
        else:
            lx, ly = cost[:1], quality[:1]
        end = min(first, high)
        x = np.r_[low, lx[(lx > low) & (lx < end)], end]
        y = np.interp(x, lx, ly)
        area += float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)
    start = max(first, low)
    if high > start:
        x = np.r_[start, cost[(cost > start) & (cost < high)], high]
        y = np.interp(x, cost, quality)
        area += float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)
    return area / (high - low)


def hull_quality_at(hx: np.ndarray, hy: np.ndarray, cost: float) -> float:
    """The hull's quality at ``cost`` (held at its first value before its first vertex, its last after the last)."""
    return float(np.interp(cost, hx, hy))


def hull_cost_to_reach(hx: np.ndarray, hy: np.ndarray, quality: float, tolerance: float = QUALITY_TOLERANCE) -> float:
    """The smallest cost at which the hull reaches ``quality`` (within ``tolerance``); NaN if it never does."""
    hit = np.flatnonzero(hy >= quality - tolerance)
    if hit.size == 0:
        return math.nan
    k = int(hit[0])
    if k == 0 or hy[k] - hy[k - 1] <= 0:
        return float(hx[k])
    t = min(1.0, max(0.0, (quality - hy[k - 1]) / (hy[k] - hy[k - 1])))
    return float(hx[k - 1] + t * (hx[k] - hx[k - 1]))


def aiq_over_range(hx: np.ndarray, hy: np.ndarray, low: float, high: float) -> float:
    """RouterBench's AIQ: the mean of the hull over costs in ``[low, high]`` (its value at ``low`` when they are equal).

    The hull is held at its last value past its last vertex (and at its first before its first).
    """
    if not high >= low:
        raise ValueError(f"the cost range must have low <= high, got [{low!r}, {high!r}]")
    if high == low:
        return hull_quality_at(hx, hy, low)
    inside = hx[(hx > low) & (hx < high)]
    x = np.r_[low, inside, high]
    y = np.interp(x, hx, hy)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0 / (high - low))


@dataclass(frozen=True)
class NModelReference:
    """What a benchmark fixes for every router: its single models, the best of them and the AIQ cost range."""

    singles: list[SingleModel]
    best: SingleModel
    cost_low: float
    cost_high: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "single_models": [x.as_dict() for x in self.singles],
            "best_single": self.best.as_dict(),
            "aiq_cost_range": [self.cost_low, self.cost_high],
        }


def nmodel_reference(models: Sequence[str], scores: npt.ArrayLike, costs: npt.ArrayLike) -> NModelReference:
    """The single models, the best single model and the common AIQ cost range
    ``[cheapest single model's mean cost, dearest single model's mean cost]``."""
    singles = single_models(models, scores, costs)
    costs_of = [x.cost for x in singles]
    return NModelReference(singles, best_single_model(singles), float(min(costs_of)), float(max(costs_of)))


@dataclass(frozen=True)
class CostQualityMetrics:
    """RouterBench's measures of one curve against a benchmark's :class:`NModelReference` (costs in USD per prompt)."""

    aiq: float
    curve_aiq: float
    quality_at_best_single_cost: float
    curve_quality_at_best_single_cost: float
    cost_to_best_single_quality: float
    cost_fraction_to_best_single_quality: float
    knob_cost_to_best_single_quality: float
    knob_cost_fraction_to_best_single_quality: float
    knob_for_best_single_quality: float
    max_quality: float
    cost_at_max_quality: float
    min_cost: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cost_quality_metrics(curve: CostQualityCurve, reference: NModelReference) -> CostQualityMetrics:
    """AIQ and curve AIQ over the reference's cost range, quality at the best single model's cost, cost to reach its
    quality. (The zero router's curve AIQ is its AIQ: :func:`evaluate_cost_quality` sets it.)"""
    hx, hy = router_hull(curve, reference)
    best = reference.best
    cost_to = hull_cost_to_reach(hx, hy, best.quality)
    reach = np.flatnonzero(curve.quality >= best.quality - QUALITY_TOLERANCE)
    knob_cost = float(curve.cost[reach[0]]) if reach.size else math.nan  # points ascend in cost: the first is cheapest
    knob_w = float(curve.knob[reach[0]]) if reach.size else math.nan
    top = int(np.argmax(curve.quality))
    return CostQualityMetrics(
        aiq=aiq_over_range(hx, hy, reference.cost_low, reference.cost_high),
        curve_aiq=curve_aiq_over_range(
            curve.cost,
            curve.quality,
            reference.cost_low,
            reference.cost_high,
            np.asarray([x.cost for x in reference.singles]),
            np.asarray([x.quality for x in reference.singles]),
        ),
        quality_at_best_single_cost=hull_quality_at(hx, hy, best.cost),
        curve_quality_at_best_single_cost=curve_aiq_over_range(
            curve.cost,
            curve.quality,
            best.cost,
            best.cost,
            np.asarray([x.cost for x in reference.singles]),
            np.asarray([x.quality for x in reference.singles]),
        ),
        cost_to_best_single_quality=cost_to,
        cost_fraction_to_best_single_quality=_fraction(cost_to, best.cost),
        knob_cost_to_best_single_quality=knob_cost,
        knob_cost_fraction_to_best_single_quality=_fraction(knob_cost, best.cost),
        knob_for_best_single_quality=knob_w,
        max_quality=float(curve.quality[top]),
        cost_at_max_quality=float(curve.cost[top]),
        min_cost=float(curve.cost[0]),
    )


def _fraction(cost: float, reference: float) -> float:
    if math.isnan(cost):
        return math.nan
    if reference == 0.0:
        return 1.0 if cost == 0.0 else math.inf
    return cost / reference


# -- evaluation with bootstrap intervals ----------------------------------------------------------


@dataclass(frozen=True)
class CostQualityIntervals:
    """Bootstrap percentile intervals of one curve's measures (``resamples`` paired resamples of the prompts)."""

    resamples: int
    aiq: Interval
    quality_at_best_single_cost: Interval
    cost_fraction_to_best_single_quality: Interval
    curve_aiq: Interval
    aiq_minus_zero_router: Interval | None = None
    p_value_vs_zero_router: float = math.nan
    curve_aiq_minus_zero_router: Interval | None = None
    curve_p_value_vs_zero_router: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resamples": self.resamples,
            "level": self.aiq.level,
            "aiq": self.aiq.as_list(),
            "quality_at_best_single_cost": self.quality_at_best_single_cost.as_list(),
            "cost_fraction_to_best_single_quality": self.cost_fraction_to_best_single_quality.as_list(),
            "curve_aiq": self.curve_aiq.as_list(),
        }
        if self.aiq_minus_zero_router is not None:
            out["aiq_minus_zero_router"] = self.aiq_minus_zero_router.as_list()
            out["p_value_vs_zero_router"] = self.p_value_vs_zero_router
        if self.curve_aiq_minus_zero_router is not None:
            out["curve_aiq_minus_zero_router"] = self.curve_aiq_minus_zero_router.as_list()
            out["curve_p_value_vs_zero_router"] = self.curve_p_value_vs_zero_router
        return out


@dataclass
class CostQualityResult:
    """One router's (or baseline's) curve, hull, measures and intervals on an N-model benchmark."""

    name: str
    kind: str  # "router", "zero-router", "oracle", "single"
    curve: CostQualityCurve
    metrics: CostQualityMetrics
    hull_points: tuple[np.ndarray, np.ndarray]
    intervals: CostQualityIntervals | None = None
    models: list[str] = field(default_factory=list)
    note: str = ""
    cached: bool | None = None
    seconds: float | None = None

    @property
    def hull(self) -> tuple[np.ndarray, np.ndarray]:
        """The hull the measures were computed on (:func:`router_hull`)."""
        return self.hull_points

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, **self.metrics.as_dict()}
        if self.intervals is not None:
            out["bootstrap"] = self.intervals.as_dict()
        if self.models:
            out["models"] = list(self.models)
        if self.note:
            out["note"] = self.note
        if self.cached is not None:
            out["cached"] = self.cached
        if self.seconds is not None:
            out["seconds"] = self.seconds
        return out


@dataclass
class NModelEvaluation:
    """Every router and baseline on one N-model benchmark."""

    reference: NModelReference
    routers: list[CostQualityResult]
    zero_router: CostQualityResult
    oracle: CostQualityResult
    n_prompts: int
    resamples: int


def _row_measures(
    cost: np.ndarray,
    quality: np.ndarray,
    singles: tuple[np.ndarray, np.ndarray],
    low: float,
    high: float,
    best_cost: float,
    best_quality: float,
    *,
    zero: bool = False,
) -> tuple[float, float, float, float]:
    hx, hy = _router_hull(cost, quality, *singles)
    cost_to = hull_cost_to_reach(hx, hy, best_quality)
    value = aiq_over_range(hx, hy, low, high)
    curve_value = value if zero else curve_aiq_over_range(cost, quality, low, high, *singles)
    return value, hull_quality_at(hx, hy, best_cost), _fraction(cost_to, best_cost), curve_value


def _bootstrap(
    specs: Sequence[_Steps | None],
    column_sets: Sequence[np.ndarray],
    scores: np.ndarray,
    costs: np.ndarray,
    *,
    resamples: int,
    seed: int,
) -> list[np.ndarray]:
    """Per-resample ``(aiq, quality_at_best_cost, cost_fraction, curve_aiq)`` ``(resamples, 4)`` of each spec
    (None: the zero router)."""
    n = scores.shape[0]
    longest = max([n] + [s.prompt.size for s in specs if s is not None])
    chunk = max(1, min(resamples, 1_000_000 // longest))
    out: list[list[np.ndarray]] = [[] for _ in specs]
    for counts in bootstrap_counts(n, resamples, seed, chunk=chunk):
        weights = counts.astype(np.float64)
        model_q = weights @ scores / n  # (b, m)
        model_c = weights @ costs / n
        low, high = model_c.min(axis=1), model_c.max(axis=1)
        best = [_best_index(model_q[r], model_c[r]) for r in range(counts.shape[0])]
        best_q = model_q[np.arange(counts.shape[0]), best]
        best_c = model_c[np.arange(counts.shape[0]), best]
        for k, (spec, cols) in enumerate(zip(specs, column_sets, strict=True)):
            rows = np.empty((counts.shape[0], 4))
            if spec is None:
                for r in range(counts.shape[0]):
                    order = np.lexsort((-model_q[r], model_c[r]))
                    rows[r] = _row_measures(
                        model_c[r][order],
                        model_q[r][order],
                        (model_c[r], model_q[r]),
                        low[r],
                        high[r],
                        best_c[r],
                        best_q[r],
                        zero=True,
                    )
            else:
                s, c = scores[:, cols], costs[:, cols]
                start_q = weights @ s[np.arange(n), spec.start]
                start_c = weights @ c[np.arange(n), spec.start]
                dq = s[spec.prompt, spec.to] - s[spec.prompt, spec.frm]
                dc = c[spec.prompt, spec.to] - c[spec.prompt, spec.frm]
                w = weights[:, spec.prompt]
                point_q = (start_q[:, None] + np.c_[np.zeros(counts.shape[0]), np.cumsum(w * dq, axis=1)[:, spec.ends]]) / n
                point_c = (start_c[:, None] + np.c_[np.zeros(counts.shape[0]), np.cumsum(w * dc, axis=1)[:, spec.ends]]) / n
                for r in range(counts.shape[0]):
                    rows[r] = _row_measures(
                        point_c[r], point_q[r], (model_c[r], model_q[r]), low[r], high[r], best_c[r], best_q[r]
                    )
            out[k].append(rows)
    return [np.concatenate(rows) for rows in out]


def _intervals(
    samples: np.ndarray, zero: np.ndarray | None, point_aiq: float, zero_aiq: float, level: float
) -> CostQualityIntervals:
    def paired(column: int) -> tuple[Interval | None, float]:
        if zero is None:
            return None, math.nan
        diff = samples[:, column] - zero[:, 0]
        diff = diff[np.isfinite(diff)]
        p_value = math.nan
        if diff.size and not math.isnan(point_aiq - zero_aiq):
            p_value = min(1.0, 2.0 * min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0))))
        return _percentile_interval(diff, level), p_value

    diff_iv, p_value = paired(0)
    curve_iv, curve_p = paired(3)
    return CostQualityIntervals(
        int(samples.shape[0]),
        _percentile_interval(samples[:, 0], level),
        _percentile_interval(samples[:, 1], level),
        _percentile_interval(samples[:, 2], level),
        _percentile_interval(samples[:, 3], level),
        diff_iv,
        p_value,
        curve_iv,
        curve_p,
    )


def evaluate_cost_quality(
    models: Sequence[str],
    scores: npt.ArrayLike,
    costs: npt.ArrayLike,
    predictions: Mapping[str, tuple[Sequence[str], npt.ArrayLike]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> NModelEvaluation:
    """Curves, hulls, measures and paired bootstrap intervals of routers and baselines on an N-model benchmark.

    ``predictions``: router name -> ``(models it chose among, predicted quality (n, len(those models)))``;
    the models are a subset of ``models`` (all of them for an N-model router, the strong and weak model
    for a two-model router through :class:`~routellm_core.model_choice.TwoModelQuality`). The cost range,
    the best single model and the baselines always use every model of the benchmark.
    """
    s, c = _truth(scores, costs)
    names = list(models)
    reference = nmodel_reference(names, s, c)
    specs: list[_Steps | None] = []
    column_sets: list[np.ndarray] = []
    results: list[CostQualityResult] = []
    for name, (chosen, predicted) in predictions.items():
        cols = np.asarray([names.index(m) for m in chosen], dtype=np.int64)
        p = _matrix(f"predicted quality of {name!r}", predicted, (s.shape[0], cols.size))
        steps = _steps(p, c[:, cols], raw_cost=False)
        curve = _curve_from_steps(steps, s[:, cols], c[:, cols], knob=True)
        specs.append(steps)
        column_sets.append(cols)
        results.append(
            CostQualityResult(
                name,
                "router",
                curve,
                cost_quality_metrics(curve, reference),
                router_hull(curve, reference),
                models=list(chosen),
            )
        )
    zero_curve = zero_router_curve(s, c)
    zero_metrics = cost_quality_metrics(zero_curve, reference)
    zero_metrics = dataclasses.replace(  # the zero router is its hull
        zero_metrics, curve_aiq=zero_metrics.aiq, curve_quality_at_best_single_cost=zero_metrics.quality_at_best_single_cost
    )
    zero = CostQualityResult("zero router", "zero-router", zero_curve, zero_metrics, zero_curve.hull())
    oracle_steps = _steps(s, c, raw_cost=True)
    orc_curve = _curve_from_steps(oracle_steps, s, c, knob=False)
    orc = CostQualityResult("oracle", "oracle", orc_curve, cost_quality_metrics(orc_curve, reference), orc_curve.hull())
    if resamples:
        all_cols = np.arange(s.shape[1])
        samples = _bootstrap(
            [*specs, None, oracle_steps], [*column_sets, all_cols, all_cols], s, c, resamples=int(resamples), seed=seed
        )
        zero_samples = samples[-2]
        for res, sample in zip(results, samples, strict=False):
            res.intervals = _intervals(sample, zero_samples, res.metrics.aiq, zero.metrics.aiq, level)
        zero.intervals = _intervals(zero_samples, None, zero.metrics.aiq, zero.metrics.aiq, level)
        orc.intervals = _intervals(samples[-1], zero_samples, orc.metrics.aiq, zero.metrics.aiq, level)
    return NModelEvaluation(reference, results, zero, orc, int(s.shape[0]), int(resamples))


__all__ = [
    "CostQualityCurve",
    "CostQualityIntervals",
    "CostQualityMetrics",
    "CostQualityResult",
    "NModelEvaluation",
    "NModelReference",
    "COST_TOLERANCE",
    "QUALITY_TOLERANCE",
    "SingleModel",
    "aiq_over_range",
    "best_single_model",
    "cost_quality_hull",
    "cost_quality_metrics",
    "curve_aiq_over_range",
    "evaluate_cost_quality",
    "hull_cost_to_reach",
    "hull_quality_at",
    "knob_curve",
    "nmodel_reference",
    "oracle_curve",
    "router_hull",
    "single_models",
    "zero_router_curve",
]
