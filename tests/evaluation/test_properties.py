"""Hypothesis properties of the metrics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from routellm_core.evaluation import metrics as M

SCORE_VALUES = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]


@st.composite
def benchmark(draw, min_n=1, max_n=40):
    n = draw(st.integers(min_n, max_n))
    quality = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5]), min_size=n, max_size=n)
    s = np.array(draw(quality))
    w = np.array(draw(quality))
    r = np.array(
        draw(st.lists(st.sampled_from(SCORE_VALUES) | st.integers(0, 1000).map(lambda k: k / 1000), min_size=n, max_size=n))
    )
    assume(float(np.sum(s - w)) != 0.0)
    return r, s, w


@settings(max_examples=200, deadline=None)
@given(benchmark())
def test_curve_shape(data):
    r, s, w = data
    for c in (M.per_prompt_curve(r, s, w), M.binned_curve(r, s, w, 10)):
        x, pgr = c.strong_fraction, c.pgr
        assert x[0] == 0.0 and x[-1] == 1.0 and np.all(np.diff(x) > 0)
        assert pgr[0] == 0.0 and pgr[-1] == 1.0
        assert c.quality[0] == pytest.approx(w.mean()) and c.quality[-1] == pytest.approx(s.mean())
        # each point is what its threshold does under the one rule
        for t, xi, q in zip(c.thresholds, x, c.quality, strict=True):
            mask = r >= t
            assert mask.mean() == xi
            assert np.where(mask, s, w).mean() == pytest.approx(q, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(benchmark())
def test_metric_identities_and_bounds(data):
    r, s, w = data
    c = M.per_prompt_curve(r, s, w)
    S, W = s.mean(), w.mean()
    a = M.apgr(c)
    assert M.auc(c) == pytest.approx(W + a * (S - W), abs=1e-9)
    cpts = [M.cpt(c, p) for p in (0.0, 0.2, 0.5, 0.8, 1.0)]
    assert all(0.0 <= v <= 1.0 for v in cpts) and cpts == sorted(cpts)
    oracle = M.oracle_curve(s, w)
    assert M.auc(oracle) >= M.auc(c) - 1e-12
    assert M.aiq(oracle) >= M.aiq(c) - 1e-12
    if S > W:  # PGR-based metrics of the oracle bound a router's when the strong model is better
        assert M.apgr(oracle) >= a - 1e-12
        for p in (0.2, 0.5, 0.8):
            assert M.cpt(oracle, p) <= M.cpt(c, p) + 1e-12
    # AIQ: the hull lies on or above every point of the curve, and below its best point
    assert M.aiq(c) >= M.auc(c) - 1e-12
    assert M.aiq(c) <= max(c.quality) + 1e-12


@settings(max_examples=200, deadline=None)
@given(benchmark())
def test_reversed_ranking_mirrors_apgr(data):
    r, s, w = data
    assert M.apgr(M.per_prompt_curve(1.0 - r, s, w)) == pytest.approx(1.0 - M.apgr(M.per_prompt_curve(r, s, w)), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(benchmark())
def test_monotone_transform_does_not_change_exact_metrics(data):
    r, s, w = data
    a = M.per_prompt_curve(r, s, w)
    b = M.per_prompt_curve(r**3 / 2 + 0.1, s, w)
    assert M.apgr(a) == M.apgr(b)
    assert [M.cpt(a, p) for p in (0.2, 0.5, 0.8)] == [M.cpt(b, p) for p in (0.2, 0.5, 0.8)]


def _apgr_of_order(order, s, w):
    n = len(order)
    ranks = np.empty(n)
    ranks[list(order)] = np.arange(n, 0, -1) / (n + 1)  # distinct scores, descending along `order`
    return M.apgr(M.per_prompt_curve(ranks, s, w))


@settings(max_examples=60, deadline=None)
@given(benchmark(min_n=1, max_n=6))
def test_ties_equal_the_mean_over_tie_breaking_orders(data):
    r, s, w = data
    values = [_apgr_of_order(p, s, w) for p in itertools.permutations(range(len(r))) if np.all(np.diff(r[list(p)]) <= 0)]
    assert M.apgr(M.per_prompt_curve(r, s, w)) == pytest.approx(float(np.mean(values)), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(benchmark(min_n=1, max_n=6))
def test_random_routing_averages_to_one_half(data):
    _, s, w = data
    values = [_apgr_of_order(p, s, w) for p in itertools.permutations(range(len(s)))]
    assert float(np.mean(values)) == pytest.approx(0.5, abs=1e-12)
    assert M.apgr(M.random_curve(s, w)) == 0.5


@settings(max_examples=100, deadline=None)
@given(benchmark(min_n=2, max_n=30), st.integers(0, 2**32 - 1))
def test_bootstrap_interval_is_ordered_and_finite(data, seed):
    r, s, w = data
    b = M.bootstrap(r, s, w, resamples=50, seed=seed)
    if not math.isnan(b.apgr.low):
        assert b.apgr.low <= b.apgr.high
    for iv in b.cpt.values():
        if not math.isnan(iv.low):
            assert 0.0 <= iv.low <= iv.high <= 1.0
