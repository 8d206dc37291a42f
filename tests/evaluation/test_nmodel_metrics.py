"""RouterBench's cost-quality metrics (evaluation/nmodel.py): hand-computed cases and hypothesis properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from routellm_core.evaluation import nmodel as N
from routellm_core.model_choice import choose_many

# two prompts, models A (USD 1 per prompt) and B (USD 3): A answers prompt 1 only, B both
MODELS = ["A", "B"]
SCORES = np.array([[1.0, 1.0], [0.0, 1.0]])
COSTS = np.array([[1.0, 3.0], [1.0, 3.0]])


def test_single_models_best_and_range_by_hand():
    ref = N.nmodel_reference(MODELS, SCORES, COSTS)
    assert [(s.model, s.quality, s.cost) for s in ref.singles] == [("A", 0.5, 1.0), ("B", 1.0, 3.0)]
    assert ref.best.model == "B" and (ref.cost_low, ref.cost_high) == (1.0, 3.0)


def test_zero_router_by_hand():
    ref = N.nmodel_reference(MODELS, SCORES, COSTS)
    m = N.cost_quality_metrics(N.zero_router_curve(SCORES, COSTS), ref)
    assert m.aiq == 0.75  # the straight line from (1, .5) to (3, 1)
    assert m.quality_at_best_single_cost == 1.0 and m.cost_fraction_to_best_single_quality == 1.0


def test_oracle_and_perfect_router_by_hand():
    ref = N.nmodel_reference(MODELS, SCORES, COSTS)
    oracle = N.oracle_curve(SCORES, COSTS)
    assert oracle.cost.tolist() == [1.0, 2.0] and oracle.quality.tolist() == [0.5, 1.0]
    m = N.cost_quality_metrics(oracle, ref)
    assert m.aiq == 0.875  # (.5 + 1) / 2 over [1, 2], then 1 over [2, 3]; divided by 2
    assert m.cost_to_best_single_quality == 2.0 and m.cost_fraction_to_best_single_quality == pytest.approx(2 / 3)
    perfect = N.knob_curve(SCORES, SCORES, COSTS, keep_choices=True)
    assert perfect.cost.tolist() == [1.0, 2.0] and perfect.quality.tolist() == [0.5, 1.0]
    assert perfect.knob.tolist() == [1.0, 0.0]
    # prompt 2's step gains 1 per 2/3 of the dearest cost: slope 1.5, lambda(w) = w / (1 - w) = 1.5 at w = 0.6
    assert perfect.knob_range.tolist() == [[pytest.approx(0.6), 1.0], [0.0, pytest.approx(0.6)]]
    assert perfect.choices is not None and perfect.choices.tolist() == [[0, 0], [0, 1]]
    pm = N.cost_quality_metrics(perfect, ref)
    assert pm.aiq == 0.875 and pm.knob_cost_fraction_to_best_single_quality == pytest.approx(2 / 3)
    assert pm.knob_for_best_single_quality == 0.0


def test_curve_aiq_by_hand():
    # a dip the hull bridges: points (1, .5), (2, .25), (3, 1)
    cost, quality = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.25, 1.0])
    hx, hy = N.cost_quality_hull(cost, quality)
    assert N.aiq_over_range(hx, hy, 1.0, 3.0) == 0.75
    assert N.curve_aiq_over_range(cost, quality, 1.0, 3.0) == (0.375 + 0.625) / 2
    assert N.curve_aiq_over_range(cost, quality, 1.0, 4.0) == (0.375 + 0.625 + 1.0) / 3  # held at its last value
    # below its first point: the hull of the cheaper single models and that point
    assert N.curve_aiq_over_range(cost, quality, 0.0, 1.0, np.array([0.0]), np.array([0.0])) == 0.25
    assert N.curve_aiq_over_range(cost, quality, 0.5, 0.5, np.array([0.0]), np.array([0.0])) == 0.25


def test_inverted_router_by_hand():
    ref = N.nmodel_reference(MODELS, SCORES, COSTS)
    predicted = np.array([[0.0, 1.0], [1.0, 0.5]])  # B for prompt 1 (no gain), A for prompt 2 (loses)
    curve = N.knob_curve(predicted, SCORES, COSTS)
    assert curve.cost.tolist() == [1.0, 2.0] and curve.quality.tolist() == [0.5, 0.5]
    m = N.cost_quality_metrics(curve, ref)
    assert m.aiq == 0.5 and m.quality_at_best_single_cost == 0.5
    assert math.isnan(m.cost_to_best_single_quality) and math.isnan(m.knob_for_best_single_quality)


def test_aiq_over_range_by_hand():
    hx, hy = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0])
    assert N.aiq_over_range(hx, hy, 1.0, 3.0) == 0.75  # .5 over [1, 2], then 1
    assert N.aiq_over_range(hx, hy, 0.0, 2.0) == 0.25  # held at 0 before 1: 0 over [0, 1], .5 over [1, 2]
    assert N.aiq_over_range(hx, hy, 2.0, 6.0) == 1.0  # held at its last value
    assert N.aiq_over_range(hx, hy, 1.5, 1.5) == 0.5
    with pytest.raises(ValueError):
        N.aiq_over_range(hx, hy, 2.0, 1.0)
    assert N.hull_cost_to_reach(hx, hy, 0.5) == 1.5 and N.hull_cost_to_reach(hx, hy, 0.0) == 1.0
    assert math.isnan(N.hull_cost_to_reach(hx, hy, 1.5))


def test_router_over_fewer_models_mixes_in_cheaper_single_models():
    scores = np.c_[SCORES, [0.0, 0.0]]  # model C: free and always wrong
    costs = np.c_[COSTS, [0.0, 0.0]]
    ref = N.nmodel_reference(["A", "B", "C"], scores, costs)
    assert (ref.cost_low, ref.cost_high) == (0.0, 3.0)
    two = N.knob_curve(SCORES, SCORES, COSTS)  # over A and B only: starts at cost 1
    hx, hy = N.router_hull(two, ref)
    assert hx.tolist() == [0.0, 2.0] and hy.tolist() == [0.0, 1.0]  # (1, .5) lies on the segment
    assert N.cost_quality_metrics(two, ref).aiq == pytest.approx((2 * 0.5 + 1) / 3)
    full = N.knob_curve(scores, scores, costs)  # over all models: nothing added
    assert np.array_equal(N.router_hull(full, ref)[0], full.hull()[0])


def test_evaluate_cost_quality_is_paired_and_deterministic():
    rng = np.random.default_rng(3)
    s, c, p = rng.random((40, 3)), rng.random((40, 3)), rng.random((40, 3))
    args = (["a", "b", "c"], s, c, {"r": (["a", "b", "c"], p), "pair": (["a", "c"], p[:, [0, 2]])})
    one = N.evaluate_cost_quality(*args, resamples=50, seed=1)
    two = N.evaluate_cost_quality(*args, resamples=50, seed=1)
    assert [r.intervals.as_dict() for r in one.routers] == [r.intervals.as_dict() for r in two.routers]
    assert one.oracle.metrics.aiq >= max(r.metrics.aiq for r in one.routers)
    assert one.zero_router.intervals.aiq_minus_zero_router is None
    assert one.routers[0].intervals.aiq.low <= one.routers[0].metrics.aiq <= one.routers[0].intervals.aiq.high
    none = N.evaluate_cost_quality(*args, resamples=0)
    assert none.routers[0].intervals is None and none.routers[0].metrics == one.routers[0].metrics


# -- properties -----------------------------------------------------------------------------------


@st.composite
def benchmark(draw, max_n=6, max_m=4, grid=True):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    levels = st.sampled_from([0.0, 0.25, 0.5, 1.0]) if grid else st.floats(0, 1, allow_nan=False)
    # costs in micro-dollars: a knob interval is empty in floating point only for cost ratios beyond ~1e16
    cost_levels = st.sampled_from([0.0, 0.5, 1.0, 2.0, 10.0]) if grid else st.floats(0, 10).map(lambda x: round(x, 6))

    def matrix(values):
        return np.array(draw(st.lists(st.lists(values, min_size=m, max_size=m), min_size=n, max_size=n)), dtype=float)

    return matrix(levels), matrix(cost_levels), matrix(levels)


@settings(max_examples=150, deadline=None)
@given(benchmark(grid=True) | benchmark(grid=False))
def test_knob_curve_is_exactly_what_choose_picks(data):
    scores, costs, predicted = data
    curve = N.knob_curve(predicted, scores, costs, keep_choices=True)
    assert curve.choices is not None
    rows = np.arange(scores.shape[0])
    assert np.all(np.diff(curve.cost) >= 0)  # rises with every step (in exact arithmetic)
    for k, w in enumerate(curve.knob):
        picks = choose_many(predicted, costs, w)
        assert np.array_equal(picks, curve.choices[k])
        assert costs[rows, picks].mean() == pytest.approx(curve.cost[k], abs=1e-12)
        assert scores[rows, picks].mean() == pytest.approx(curve.quality[k], abs=1e-12)
    points = set(zip(np.round(curve.cost, 9), np.round(curve.quality, 9), strict=True))
    for w in np.linspace(0.0, 1.0, 41):  # every knob value lands on a point of the curve
        picks = choose_many(predicted, costs, w)
        assert (round(costs[rows, picks].mean(), 9), round(scores[rows, picks].mean(), 9)) in points


@settings(max_examples=150, deadline=None)
@given(benchmark(grid=True) | benchmark(grid=False))
def test_hull_is_non_decreasing_and_concave(data):
    scores, costs, predicted = data
    for curve in (N.knob_curve(predicted, scores, costs), N.oracle_curve(scores, costs), N.zero_router_curve(scores, costs)):
        hx, hy = curve.hull()
        assert np.all(np.diff(hx) > 0) and np.all(np.diff(hy) >= 0)
        slopes = np.diff(hy) / np.diff(hx)
        assert np.all(np.diff(slopes) <= 1e-9 * (1 + np.abs(slopes[1:])))
        # every point lies on or under the hull
        assert np.all(np.interp(curve.cost, hx, hy) >= curve.quality - 1e-12)


@settings(max_examples=150, deadline=None)
@given(benchmark(grid=True) | benchmark(grid=False))
def test_oracle_bounds_every_router_and_the_zero_router(data):
    scores, costs, predicted = data
    names = [f"m{j}" for j in range(scores.shape[1])]
    ref = N.nmodel_reference(names, scores, costs)
    oracle = N.cost_quality_metrics(N.oracle_curve(scores, costs), ref)
    router = N.cost_quality_metrics(N.knob_curve(predicted, scores, costs), ref)
    zero = N.cost_quality_metrics(N.zero_router_curve(scores, costs), ref)
    assert oracle.aiq >= router.aiq - 1e-12 and oracle.aiq >= zero.aiq - 1e-12
    # the curve lies under its hull; the oracle's points are its hull's vertices
    assert router.curve_aiq <= router.aiq + 1e-12 and oracle.curve_aiq == pytest.approx(oracle.aiq, abs=1e-12)
    assert oracle.curve_aiq >= router.curve_aiq - 1e-12
    assert router.curve_quality_at_best_single_cost <= router.quality_at_best_single_cost + 1e-12
    assert oracle.quality_at_best_single_cost >= router.quality_at_best_single_cost - 1e-12
    assert oracle.max_quality == pytest.approx(scores.max(axis=1).mean(), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(benchmark(grid=True) | benchmark(grid=False))
def test_zero_router_aiq_is_the_single_models_hull(data):
    scores, costs, _ = data
    names = [f"m{j}" for j in range(scores.shape[1])]
    ref = N.nmodel_reference(names, scores, costs)
    q, c = scores.mean(axis=0), costs.mean(axis=0)
    hx, hy = N.cost_quality_hull(c, q)
    low, high = c.min(), c.max()
    if high > low:
        grid = np.linspace(low, high, 20001)
        expected = np.trapezoid(np.interp(grid, hx, hy), grid) / (high - low)
    else:
        expected = hy.max()
    assert N.cost_quality_metrics(N.zero_router_curve(scores, costs), ref).aiq == pytest.approx(expected, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(benchmark(max_n=4, max_m=3, grid=False))
def test_oracle_hull_is_the_envelope_of_every_assignment(data):
    scores, costs, _ = data
    n, m = scores.shape
    assume(m**n <= 81)
    rows = np.arange(n)
    points = [(costs[rows, a].mean(), scores[rows, a].mean()) for a in map(list, itertools.product(range(m), repeat=n))]
    ex, ey = N.cost_quality_hull(*zip(*points, strict=True))
    ox, oy = N.oracle_curve(scores, costs).hull()
    for x in np.linspace(ex[0], ex[-1], 25):
        assert np.interp(x, ox, oy) == pytest.approx(np.interp(x, ex, ey), abs=1e-9)
