"""Routing metrics: PGR curve, APGR, CPT, AUC, AIQ, baselines, bootstrap intervals.

Notation. ``n`` prompts; for prompt ``i`` the router's score ``r_i`` in [0, 1],
the strong model's quality ``s_i`` and the weak model's ``w_i``; ``d_i = s_i - w_i``.
``S = mean(s)``, ``W = mean(w)``.

Routing rule (the one rule of the project): prompt ``i`` goes to the strong model
iff ``r_i >= t``. A threshold ``t`` therefore sends a *prefix* of the prompts
sorted by descending score to the strong model, always whole groups of tied
scores. Sending the set ``A`` gives mean quality
``Q(A) = W + sum_{i in A} d_i / n`` at strong-call fraction ``x = |A| / n``.

Curve. Quality (or PGR) against the strong-call fraction ``x``: the points
reachable with some threshold, joined by straight lines.

- **Per-prompt curve** (:func:`per_prompt_curve`): one point per distinct score
  (threshold = that score) plus the point ``x = 0`` (a threshold above every
  score). Joining the ends of a tied group with a straight line is exactly the
  expected quality when the tie is broken uniformly at random, so ties are
  neither rewarded nor punished.
- **Binned curve** (:func:`binned_curve`, the RouteLLM paper's evaluation):
  thresholds at the ``num_points + 1`` linearly interpolated quantiles of the
  scores (as ``pandas.qcut(scores, num_points, retbins=True)``), the last of
  which (the maximum score) is replaced by the smallest float above it, and
  duplicate thresholds merged. Upstream RouteLLM used ``score > max`` for that
  last bin; ``score >= nextafter(max)`` selects the same prompts (none), so the
  numbers equal the paper's while following the one rule. (Upstream's ``qcut``
  raised on duplicate quantiles, e.g. a router with many equal scores; here
  they are merged, and the curve still runs from 0 to 1.)

PGR (performance gap recovered) of a point: ``(Q - W) / (S - W)``; it is 0 at
``x = 0`` and 1 at ``x = 1``. Undefined (NaN) when ``S == W``.

- **APGR**: area under the PGR curve over ``x`` in [0, 1] (trapezoids; exact
  for a piecewise-linear curve). Random routing: 0.5 in expectation.
- **CPT(p)**: the smallest strong-call fraction at which the curve reaches
  ``PGR >= p`` (linear interpolation inside the crossing segment). For a
  monotone curve this equals upstream RouteLLM's ``np.interp``; for a
  non-monotone one it is the first crossing.
- **AUC**: area under the quality curve, ``integral of Q(x) dx``, in the
  benchmark's quality units. ``APGR = (AUC - W) / (S - W)``.
- **AIQ** (RouterBench, Hu et al. 2024): ``1/(c_max - c_min) * integral of R~(c)
  dc`` where ``R~`` is the non-decreasing convex hull of the curve's points in
  (cost, quality) space, with cost = strong-call fraction (so the range is
  [0, 1]). The hull is the upper concave envelope of the points, held flat
  after its maximum (a router never needs to spend more to do worse).
- **Random baseline** (:func:`random_curve`): the expected curve of a router
  whose scores are independent of the prompts: ``Q(x) = W + x (S - W)``
  exactly, so APGR = 0.5, CPT(p) = p, AUC = (W + S) / 2.
- **Oracle** (:func:`oracle_curve`): the per-prompt curve of the ranking by
  ``d_i`` (ties in ``d`` do not change the curve). For every ``k`` it sends the
  ``k`` prompts with the largest gain, so (when ``S > W``) no router has a
  higher curve, APGR, AUC or AIQ, or a lower CPT: the physical limit. Its PGR
  exceeds 1 where the weak model beats the strong one on some prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from ..threshold import strong_mask

DEFAULT_CPT_LEVELS = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class Curve:
    """Quality against the fraction of prompts sent to the strong model.

    ``strong_fraction`` ascends from 0 to 1. ``gain`` holds ``sum(d_i)`` over the
    prompts sent to strong at each point (so ``quality = W + gain / n``);
    ``thresholds[j]`` is a threshold that produces point ``j`` under the rule
    ``score >= threshold`` (NaN for curves not made by thresholds).
    """

    strong_fraction: np.ndarray
    gain: np.ndarray
    thresholds: np.ndarray
    n: int
    weak_quality: float
    strong_quality: float

    @property
    def quality(self) -> np.ndarray:
        return self.weak_quality + self.gain / self.n

    @property
    def total_gain(self) -> float:
        return float(self.gain[-1])

    @property
    def pgr(self) -> np.ndarray:
        """PGR at each point: ``gain / total gain`` (= ``(Q - W) / (S - W)``); NaN when ``S == W``."""
        total = self.total_gain
        if total == 0.0:
            return np.full(self.gain.shape, np.nan)
        return self.gain / total


# -- input checks ------------------------------------------------------------------------


def _vector(name: str, values: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, expected {n}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _inputs(
    router_scores: npt.ArrayLike, strong: npt.ArrayLike, weak: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _vector("router scores", router_scores)
    s = _vector("strong-model quality", strong, r.size)
    w = _vector("weak-model quality", weak, r.size)
    return r, s, w


def above_all(scores: np.ndarray) -> float:
    """The smallest float greater than every score: the threshold that sends nothing to strong."""
    return float(np.nextafter(np.max(scores), np.inf))


# -- curves ------------------------------------------------------------------------------


class _Ranking:
    """Prompts sorted by descending key with the ends of tie groups (shared by curves and bootstrap)."""

    def __init__(self, key: np.ndarray):
        self.order = np.argsort(-key, kind="stable")
        self.sorted_key = key[self.order]
        self.ends = np.flatnonzero(np.r_[self.sorted_key[1:] != self.sorted_key[:-1], True])  # last index of each group

    def counts_at_ends(self) -> np.ndarray:
        return self.ends + 1


def _curve_from_ranking(rank: _Ranking, s: np.ndarray, w: np.ndarray, thresholds: np.ndarray) -> Curve:
    n = s.size
    d = (s - w)[rank.order]
    cum = np.cumsum(d)
    gain = np.r_[0.0, cum[rank.ends]]
    x = np.r_[0, rank.counts_at_ends()] / n
    return Curve(x, gain, thresholds, n, float(np.mean(w)), float(np.mean(s)))


def per_prompt_curve(router_scores: npt.ArrayLike, strong: npt.ArrayLike, weak: npt.ArrayLike) -> Curve:
    """The exact curve: one point per distinct router score, plus ``x = 0``."""
    r, s, w = _inputs(router_scores, strong, weak)
    rank = _Ranking(r)
    thresholds = np.r_[above_all(r), rank.sorted_key[rank.ends]]
    return _curve_from_ranking(rank, s, w, thresholds)


def paper_thresholds(router_scores: npt.ArrayLike, num_points: int = 10) -> np.ndarray:
    """Thresholds of the paper's binning, in ascending order (see the module docstring)."""
    r = _vector("router scores", router_scores)
    if isinstance(num_points, bool) or not isinstance(num_points, (int, np.integer)) or num_points < 1:
        raise ValueError(f"num_points must be a positive integer, got {num_points!r}")
    # np.percentile of linspace * 100 is what pandas.qcut computes, to the last bit (np.quantile is
    # not: its thresholds can differ by an ulp, which moves a score that sits exactly on a quantile)
    quantiles = np.percentile(r, np.linspace(0.0, 1.0, int(num_points) + 1) * 100.0)
    # the last quantile is max(r); upstream's "score > max" there is "score >= above_all(r)": one rule
    return np.unique(np.r_[quantiles[:-1], above_all(r)])


def binned_curve(router_scores: npt.ArrayLike, strong: npt.ArrayLike, weak: npt.ArrayLike, num_points: int = 10) -> Curve:
    """The RouteLLM paper's curve: ``num_points`` quantile bins of the scores (``num_points + 1`` thresholds)."""
    r, s, w = _inputs(router_scores, strong, weak)
    thresholds = paper_thresholds(r, num_points)[::-1]  # descending threshold = ascending strong fraction
    n = r.size
    rank = _Ranking(r)
    cum = np.r_[0.0, np.cumsum((s - w)[rank.order])]
    # prompts with r >= t are a prefix of the descending order: its length is the count
    k = np.array([np.count_nonzero(strong_mask(r, t)) for t in thresholds])
    first = np.r_[True, k[1:] != k[:-1]]  # thresholds that select the same prompts give one point
    k, thresholds = k[first], thresholds[first]
    return Curve(k / n, cum[k], thresholds, n, float(np.mean(w)), float(np.mean(s)))


def random_curve(strong: npt.ArrayLike, weak: npt.ArrayLike) -> Curve:
    """Expected curve of random routing: the straight line from (0, W) to (1, S)."""
    s = _vector("strong-model quality", strong)
    w = _vector("weak-model quality", weak, s.size)
    total = float(np.sum(s - w))
    return Curve(
        np.array([0.0, 1.0]), np.array([0.0, total]), np.array([np.nan, np.nan]), s.size, float(np.mean(w)), float(np.mean(s))
    )


def oracle_curve(strong: npt.ArrayLike, weak: npt.ArrayLike) -> Curve:
    """Per-prompt curve of the ranking by the true gain ``s - w`` (the best any router can do)."""
    s = _vector("strong-model quality", strong)
    w = _vector("weak-model quality", weak, s.size)
    rank = _Ranking(s - w)
    return _curve_from_ranking(rank, s, w, np.full(rank.ends.size + 1, np.nan))


# -- metrics of a curve -------------------------------------------------------------------


def _trapezoid(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)


def apgr(curve: Curve) -> float:
    """Average PGR: area under the PGR curve over the strong-call fraction in [0, 1]."""
    pgr = curve.pgr
    if np.isnan(pgr[-1]):
        return math.nan
    return _trapezoid(curve.strong_fraction, pgr)


def auc(curve: Curve) -> float:
    """Area under the quality curve over the strong-call fraction in [0, 1]."""
    return _trapezoid(curve.strong_fraction, curve.quality)


def _first_crossing(x: np.ndarray, p: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(p >= level)
    if hit.size == 0:
        return math.nan
    j = int(hit[0])
    if j == 0:
        return float(x[0])
    x0, x1, p0, p1 = x[j - 1], x[j], p[j - 1], p[j]
    return float(x0 + (level - p0) / (p1 - p0) * (x1 - x0))


def cpt(curve: Curve, level: float) -> float:
    """Call-performance threshold: smallest strong-call fraction with PGR >= ``level`` (NaN if never)."""
    level = float(level)
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"CPT level must be in [0, 1], got {level!r}")
    pgr = curve.pgr
    if np.isnan(pgr[-1]):
        return math.nan
    return _first_crossing(curve.strong_fraction, pgr, level)


def nondecreasing_hull(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the non-decreasing convex hull of points ``(x, y)`` (RouterBench's AIQ).

    Upper concave envelope over ``[min x, max x]`` (at equal ``x`` the best ``y``),
    cut at its first maximum and continued flat to ``max x``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    order = np.lexsort((-y, x))  # by x, best y first at equal x
    xs, ys = x[order], y[order]
    keep = np.r_[True, xs[1:] != xs[:-1]]
    xs, ys = xs[keep], ys[keep]
    px, py = xs.tolist(), ys.tolist()  # plain floats: the loop runs in bootstrap resamples too
    hull: list[int] = []
    for i in range(len(px)):  # monotone chain, upper hull
        xi, yi = px[i], py[i]
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (px[b] - px[a]) * (yi - py[a]) - (py[b] - py[a]) * (xi - px[a])
            if cross >= 0:  # b is on or below the segment a-i
                hull.pop()
            else:
                break
        hull.append(i)
    hx, hy = xs[hull], ys[hull]
    peak = int(np.argmax(hy))
    if peak < hx.size - 1:
        hx = np.r_[hx[: peak + 1], hx[-1]]
        hy = np.r_[hy[: peak + 1], hy[peak]]
    return hx, hy


def aiq(curve: Curve) -> float:
    """Average improvement in quality (RouterBench): mean of the non-decreasing convex hull over cost in [0, 1]."""
    hx, hy = nondecreasing_hull(curve.strong_fraction, curve.quality)
    width = hx[-1] - hx[0]
    if width <= 0:
        return float(hy[0])
    return _trapezoid(hx, hy) / float(width)


@dataclass(frozen=True)
class CurveMetrics:
    apgr: float
    auc: float
    aiq: float
    cpt: dict[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "apgr": self.apgr,
            "auc": self.auc,
            "aiq": self.aiq,
            **{f"cpt_{round(level * 100):g}": value for level, value in self.cpt.items()},
        }


def curve_metrics(curve: Curve, cpt_levels: Sequence[float] = DEFAULT_CPT_LEVELS) -> CurveMetrics:
    return CurveMetrics(apgr(curve), auc(curve), aiq(curve), {float(p): cpt(curve, p) for p in cpt_levels})


# -- bootstrap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float = 0.95

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def _percentile_interval(values: np.ndarray, level: float) -> Interval:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(math.nan, math.nan, level)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return Interval(float(low), float(high), level)


def bootstrap_counts(n: int, resamples: int, seed: int = 0, chunk: int | None = None) -> Iterator[np.ndarray]:
    """Yield int32 matrices of resample counts (rows: resamples, columns: prompts in their original order).

    Each row is how often each prompt appears in one bootstrap resample of size
    ``n`` drawn with replacement. Deterministic for a given ``seed`` (and chunking).
    """
    rng = np.random.default_rng(seed)
    chunk = chunk or max(1, min(resamples, 2_000_000 // max(n, 1)))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n))
        idx += (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.int32)
        done += b


def _resampled_pgr(rank: _Ranking, d_sorted: np.ndarray, counts_sorted: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, pgr)`` of the per-prompt curve of each resample (rows)."""
    b, g = counts_sorted.shape[0], rank.ends.size
    x = np.zeros((b, g + 1))
    x[:, 1:] = np.cumsum(counts_sorted, axis=1, dtype=np.int64)[:, rank.ends]
    x /= n
    cd = np.zeros((b, g + 1))
    cd[:, 1:] = np.cumsum(counts_sorted * d_sorted, axis=1)[:, rank.ends]
    total = cd[:, -1].copy()
    bad = total == 0
    total[bad] = 1.0
    cd /= total[:, None]
    cd[bad] = np.nan
    return x, cd


def _rows_apgr(x: np.ndarray, pgr: np.ndarray) -> np.ndarray:
    rows: np.ndarray = np.sum(np.diff(x, axis=1) * (pgr[:, 1:] + pgr[:, :-1]), axis=1) / 2.0
    return rows


def _rows_cpt(x: np.ndarray, pgr: np.ndarray, level: float) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    valid = np.isfinite(pgr[:, -1])
    hit = pgr >= level
    j = np.argmax(hit, axis=1)
    found = valid & hit[np.arange(x.shape[0]), j]
    rows = np.flatnonzero(found)
    jj = j[rows]
    first = jj == 0
    out[rows[first]] = x[rows[first], 0]
    r2, j2 = rows[~first], jj[~first]
    x0, x1 = x[r2, j2 - 1], x[r2, j2]
    p0, p1 = pgr[r2, j2 - 1], pgr[r2, j2]
    out[r2] = x0 + (level - p0) / (p1 - p0) * (x1 - x0)
    return out


@dataclass(frozen=True)
class BootstrapSamples:
    """Per-resample APGR and CPT values of one router (NaN where ``S == W`` in the resample)."""

    apgr: np.ndarray
    cpt: dict[float, np.ndarray]


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile intervals from ``resamples`` bootstrap resamples of the prompts."""

    resamples: int
    apgr: Interval
    cpt: dict[float, Interval]
    apgr_std: float
    degenerate: int  # resamples where S == W (PGR undefined), left out

    def as_dict(self) -> dict[str, Any]:
        return {
            "resamples": self.resamples,
            "level": self.apgr.level,
            "apgr": self.apgr.as_list(),
            "apgr_std": self.apgr_std,
            **{f"cpt_{round(p * 100):g}": iv.as_list() for p, iv in self.cpt.items()},
            "degenerate_resamples": self.degenerate,
        }


def bootstrap_samples(
    routers_scores: Sequence[npt.ArrayLike],
    strong: npt.ArrayLike,
    weak: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    cpt_levels: Sequence[float] = DEFAULT_CPT_LEVELS,
) -> list[BootstrapSamples]:
    """APGR and CPT of the per-prompt curve on ``resamples`` bootstrap resamples of the prompts.

    Prompts are resampled with replacement (each router's score travels with its
    prompt); ``S``, ``W`` and the curve are recomputed on each resample. All
    routers see the same resamples (paired), so differences between them can be
    read off sample by sample.
    """
    s = _vector("strong-model quality", strong)
    w = _vector("weak-model quality", weak, s.size)
    if isinstance(resamples, bool) or int(resamples) < 1:
        raise ValueError("resamples must be >= 1")
    rankings = [_Ranking(_vector("router scores", r, s.size)) for r in routers_scores]
    n = s.size
    d = s - w
    d_sorted = [d[rank.order] for rank in rankings]
    apgrs: list[list[np.ndarray]] = [[] for _ in rankings]
    cpts: list[dict[float, list[np.ndarray]]] = [{float(p): [] for p in cpt_levels} for _ in rankings]
    for counts in bootstrap_counts(n, int(resamples), seed):
        for k, rank in enumerate(rankings):
            x, pgr = _resampled_pgr(rank, d_sorted[k], counts[:, rank.order], n)
            apgrs[k].append(_rows_apgr(x, pgr))
            for p in cpts[k]:
                cpts[k][p].append(_rows_cpt(x, pgr, p))
    return [
        BootstrapSamples(np.concatenate(a), {p: np.concatenate(v) for p, v in c.items()})
        for a, c in zip(apgrs, cpts, strict=True)
    ]


def summarize_bootstrap(samples: BootstrapSamples, level: float = 0.95) -> BootstrapResult:
    a = samples.apgr
    finite = a[np.isfinite(a)]
    return BootstrapResult(
        int(a.size),
        _percentile_interval(a, level),
        {p: _percentile_interval(v, level) for p, v in samples.cpt.items()},
        float(np.std(finite, ddof=1)) if finite.size > 1 else math.nan,
        int(np.count_nonzero(~np.isfinite(a))),
    )


def bootstrap(
    router_scores: npt.ArrayLike,
    strong: npt.ArrayLike,
    weak: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    cpt_levels: Sequence[float] = DEFAULT_CPT_LEVELS,
) -> BootstrapResult:
    """Bootstrap percentile intervals (default 95 %) of the per-prompt APGR and CPT."""
    r, s, w = _inputs(router_scores, strong, weak)
    if float(np.sum(s - w)) == 0.0:  # APGR and CPT are undefined on the sample itself: no interval either
        nan = Interval(math.nan, math.nan, level)
        return BootstrapResult(int(resamples), nan, {float(p): nan for p in cpt_levels}, math.nan, int(resamples))
    [samples] = bootstrap_samples([r], s, w, resamples=resamples, seed=seed, cpt_levels=cpt_levels)
    return summarize_bootstrap(samples, level)


@dataclass(frozen=True)
class PairedComparison:
    """APGR(a) - APGR(b) on the same resamples of the prompts."""

    difference: float
    interval: Interval
    p_value: float
    resamples: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "apgr_difference": self.difference,
            "interval": self.interval.as_list(),
            "level": self.interval.level,
            "p_value": self.p_value,
            "resamples": self.resamples,
        }


def compare_samples(difference: float, a: BootstrapSamples, b: BootstrapSamples, level: float = 0.95) -> PairedComparison:
    """Paired comparison from two routers' samples drawn on the same resamples."""
    diff = a.apgr - b.apgr
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return PairedComparison(difference, Interval(math.nan, math.nan, level), math.nan, int(a.apgr.size))
    p = min(1.0, 2.0 * min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0))))
    return PairedComparison(difference, _percentile_interval(diff, level), p, int(a.apgr.size))


def paired_bootstrap(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    strong: npt.ArrayLike,
    weak: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedComparison:
    """Paired bootstrap of ``APGR(a) - APGR(b)``.

    Both routers are evaluated on the same resamples, so prompt difficulty
    cancels. ``p_value`` is the two-sided bootstrap p-value
    ``min(1, 2 * min(P*(diff <= 0), P*(diff >= 0)))`` for "no difference"
    (resolution ``1 / resamples``).
    """
    a, s, w = _inputs(scores_a, strong, weak)
    b = _vector("router scores", scores_b, a.size)
    diff_point = apgr(per_prompt_curve(a, s, w)) - apgr(per_prompt_curve(b, s, w))
    if math.isnan(diff_point):
        return PairedComparison(diff_point, Interval(math.nan, math.nan, level), math.nan, int(resamples))
    sa, sb = bootstrap_samples([a, b], s, w, resamples=resamples, seed=seed, cpt_levels=())
    return compare_samples(diff_point, sa, sb, level)


def strong_fraction_interval(
    scores: npt.ArrayLike, threshold: float, *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """Bootstrap percentile interval of the fraction of prompts with ``score >= threshold``.

    Treats the prompts as a sample of traffic: the interval is where the strong
    fraction of the fixed threshold lands on traffic like the sample.
    """
    r = _vector("scores", scores)
    hits = strong_mask(r, threshold).astype(np.float64)
    values = []
    for counts in bootstrap_counts(r.size, resamples, seed):
        values.append(counts @ hits / r.size)
    return _percentile_interval(np.concatenate(values), level)


@dataclass(frozen=True)
class BudgetChoice:
    """The threshold with the best mean quality among those within a strong-call budget."""

    threshold: float
    strong_fraction: float
    quality: float
    pgr: float
    budget: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "strong_fraction": self.strong_fraction,
            "quality": self.quality,
            "pgr": self.pgr,
            "budget": self.budget,
        }


def best_threshold_under_budget(
    router_scores: npt.ArrayLike, strong: npt.ArrayLike, weak: npt.ArrayLike, budget: float
) -> BudgetChoice:
    """Threshold in [0, 1] maximising mean quality with ``fraction(score >= t) <= budget``.

    Candidates are the points of the per-prompt curve (a threshold equal to a
    distinct score, or the smallest float above every score when that is still
    in [0, 1]); among the best, the one with the fewest strong calls (the
    highest threshold) wins.
    """
    budget = float(budget)
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be in [0, 1], got {budget!r}")
    curve = per_prompt_curve(router_scores, strong, weak)
    quality = curve.quality
    feasible = (curve.strong_fraction <= budget) & (curve.thresholds <= 1.0)
    if not np.any(feasible):
        raise ValueError(
            f"no threshold in [0, 1] keeps the strong fraction within {budget:g}: the top score is 1.0 and "
            f"{curve.strong_fraction[1]:.4f} of the prompts have it"
        )
    idx = np.flatnonzero(feasible)
    best = idx[np.argmax(quality[idx])]  # argmax takes the first maximum: the fewest strong calls
    pgr = curve.pgr[best]
    return BudgetChoice(
        float(curve.thresholds[best]), float(curve.strong_fraction[best]), float(quality[best]), float(pgr), budget
    )
