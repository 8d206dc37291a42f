"""Hand-computed cases for every metric, and comparisons with upstream RouteLLM's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routellm_core.evaluation import metrics as M

# Four prompts. d = s - w = [1, 0, 0, 1]; S = 0.75, W = 0.25, total gain 2.
S4 = np.array([1.0, 1.0, 0.0, 1.0])
W4 = np.array([0.0, 1.0, 0.0, 0.0])


def test_per_prompt_curve_distinct_scores_by_hand():
    r = [0.9, 0.8, 0.3, 0.1]
    c = M.per_prompt_curve(r, S4, W4)
    assert c.strong_fraction.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert c.pgr.tolist() == [0.0, 0.5, 0.5, 0.5, 1.0]
    assert c.quality.tolist() == [0.25, 0.5, 0.5, 0.5, 0.75]
    assert c.thresholds[1:].tolist() == [0.9, 0.8, 0.3, 0.1]
    assert c.thresholds[0] > 0.9 and np.count_nonzero(np.asarray(r) >= c.thresholds[0]) == 0
    # APGR = .25*(0+.5)/2 + .25*(.5+.5)/2 + .25*(.5+.5)/2 + .25*(.5+1)/2
    assert M.apgr(c) == 0.5
    assert M.cpt(c, 0.2) == pytest.approx(0.1, abs=1e-15)  # 0.2 / 0.5 * 0.25
    assert M.cpt(c, 0.5) == 0.25
    assert M.cpt(c, 0.8) == pytest.approx(0.9, abs=1e-15)  # 0.75 + 0.3 / 0.5 * 0.25
    assert M.auc(c) == 0.5  # W + APGR (S - W)
    # hull (0,.25) (.25,.5) (1,.75): .25*(.25+.5)/2 + .75*(.5+.75)/2
    assert M.aiq(c) == 0.5625


def test_worse_than_random_router_by_hand():
    r = [0.1, 0.9, 0.8, 0.2]  # ranks the two gains last
    c = M.per_prompt_curve(r, S4, W4)
    assert c.pgr.tolist() == [0.0, 0.0, 0.0, 0.5, 1.0]
    assert M.apgr(c) == 0.25 < 0.5
    assert M.cpt(c, 0.2) == pytest.approx(0.6, abs=1e-15)
    assert M.cpt(c, 0.5) == 0.75
    assert M.auc(c) == 0.375
    assert M.aiq(c) == 0.5  # the hull is the straight line from (0, .25) to (1, .75)


def test_ties_are_the_expected_value_over_tie_breaking():
    s = np.array([1.0, 1.0, 0.0, 1.0])
    w = np.array([1.0, 0.0, 0.0, 0.0])  # d = [0, 1, 0, 1]
    r = [0.9, 0.5, 0.5, 0.1]
    c = M.per_prompt_curve(r, s, w)
    assert c.strong_fraction.tolist() == [0.0, 0.25, 0.75, 1.0]
    assert c.pgr.tolist() == [0.0, 0.0, 0.5, 1.0]
    # breaking the tie one way gives APGR .375, the other .25: the mean is .3125
    assert M.apgr(c) == 0.3125
    assert M.cpt(c, 0.5) == 0.75
    assert M.cpt(c, 0.2) == pytest.approx(0.25 + 0.2 / 0.5 * 0.5, abs=1e-15)


def test_constant_scores_are_random_in_expectation():
    c = M.per_prompt_curve([0.5] * 4, S4, W4)
    assert c.strong_fraction.tolist() == [0.0, 1.0]
    assert M.apgr(c) == 0.5
    for p in (0.2, 0.5, 0.8):
        assert M.cpt(c, p) == pytest.approx(p, abs=1e-15)
    b = M.binned_curve([0.5] * 4, S4, W4)
    assert b.strong_fraction.tolist() == [0.0, 1.0]
    assert M.apgr(b) == 0.5


def test_constant_scores_of_one_still_reach_zero_strong():
    c = M.per_prompt_curve([1.0] * 3, [1, 1, 1], [0, 0, 0])
    assert c.thresholds[0] > 1.0 and c.strong_fraction[0] == 0.0
    assert M.apgr(c) == 0.5


def test_random_expected_baseline():
    c = M.random_curve(S4, W4)
    assert M.apgr(c) == 0.5
    assert M.cpt(c, 0.2) == pytest.approx(0.2, abs=1e-15)
    assert M.cpt(c, 0.8) == pytest.approx(0.8, abs=1e-15)
    assert M.auc(c) == 0.5 == (0.75 + 0.25) / 2
    assert M.aiq(c) == 0.5


def test_oracle_by_hand():
    c = M.oracle_curve(S4, W4)
    assert c.strong_fraction.tolist() == [0.0, 0.5, 1.0]
    assert c.pgr.tolist() == [0.0, 1.0, 1.0]
    assert M.apgr(c) == 0.75
    assert M.cpt(c, 0.5) == 0.25
    # an oracle that must send prompts where the strong model is worse loses quality: PGR above 1 mid-curve
    s, w = np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])  # d = [1, -1, 1]
    o = M.oracle_curve(s, w)
    assert o.pgr.tolist() == [0.0, 2.0, 1.0]
    assert M.apgr(o) == pytest.approx((2 / 3) * 1.0 + (1 / 3) * 1.5)
    hx, hy = M.nondecreasing_hull(o.strong_fraction, o.quality)
    assert hx.tolist() == [0.0, 2 / 3, 1.0] and hy[-1] == hy[-2]  # flat after the peak


def test_aiq_hull_flat_after_peak_and_below_points_ignored():
    hx, hy = M.nondecreasing_hull([0, 0.5, 1, 0.25], [0, 1, 0.5, 0.1])
    assert hx.tolist() == [0.0, 0.5, 1.0]
    assert hy.tolist() == [0.0, 1.0, 1.0]
    curve = M.Curve(np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.5]), np.full(3, np.nan), 1, 0.0, 0.5)
    assert M.aiq(curve) == 0.75  # .5*(0+1)/2 + .5*1


def test_cpt_is_the_first_crossing_of_a_non_monotone_curve():
    # PGR: 0, .6, .3, 1 at x 0, .25, .5, 1
    curve = M.Curve(np.array([0.0, 0.25, 0.5, 1.0]), np.array([0.0, 0.6, 0.3, 1.0]), np.full(4, np.nan), 1, 0.0, 1.0)
    assert M.cpt(curve, 0.5) == pytest.approx(0.5 / 0.6 * 0.25)
    assert M.cpt(curve, 0.8) == pytest.approx(0.5 + (0.8 - 0.3) / 0.7 * 0.5)
    assert M.cpt(curve, 0.0) == 0.0
    assert M.cpt(curve, 1.0) == 1.0
    with pytest.raises(ValueError):
        M.cpt(curve, 1.5)


def test_equal_mean_quality_gives_nan_not_a_number():
    s, w = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    c = M.per_prompt_curve([0.2, 0.7], s, w)
    assert math.isnan(M.apgr(c)) and math.isnan(M.cpt(c, 0.5))
    assert M.auc(c) == pytest.approx(0.25)  # quality 0.5, 0, 0.5
    b = M.bootstrap([0.2, 0.7], s, w, resamples=50)
    assert math.isnan(b.apgr.low) and all(math.isnan(iv.high) for iv in b.cpt.values())
    assert math.isnan(M.paired_bootstrap([0.2, 0.7], [0.7, 0.2], s, w, resamples=50).interval.low)


def test_binned_curve_by_hand():
    r = np.array([0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95])
    d_sorted_desc = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]  # d of 0.95, 0.85, ..., 0.05
    d = np.array(d_sorted_desc[::-1], dtype=float)
    s, w = d.copy(), np.zeros(10)
    t = M.paper_thresholds(r, 2)  # quantiles 0, .5, 1 -> 0.05, 0.5, max -> above max
    assert t[0] == 0.05 and t[1] == pytest.approx(0.5) and t[2] > 0.95
    c = M.binned_curve(r, s, w, 2)
    assert c.strong_fraction.tolist() == [0.0, 0.5, 1.0]
    assert c.pgr.tolist() == [0.0, 0.75, 1.0]  # top half holds 3 of the 4 gains
    assert M.apgr(c) == pytest.approx(0.5 * 0.75 / 2 + 0.5 * 1.75 / 2)


def _upstream_binned(r, s, w, num_points):
    """Upstream RouteLLM evaluate.py / benchmarks.py, without pandas (no duplicate edges).

    ``pandas.qcut(x, q, retbins=True)`` (pandas 2.2, RouteLLM's era) computes its bins as
    ``np.percentile(x, np.linspace(0, 1, q + 1) * 100.0)``; checked bit for bit against
    pandas 2.2.2 + numpy 1.26.4 on 2,989 random cases while writing this test.
    """
    edges = np.percentile(r, np.linspace(0, 1, num_points + 1) * 100.0)
    xs, acc = [], []
    for i, t in enumerate(edges):
        sel = r >= t if i != len(edges) - 1 else r > t
        acc.append(np.where(sel, s, w).mean())
        xs.append(sel.mean())
    order = np.argsort(xs)
    x, y = np.asarray(xs)[order], np.asarray(acc)[order]
    S, W = s.mean(), w.mean()
    area = np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2)
    weak_auc, strong_auc = W * (x[-1] - x[0]), S * (x[-1] - x[0])
    apgr = (area - weak_auc) / (strong_auc - weak_auc)
    cpts = [np.interp(p * (S - W) + W, y, x) for p in (0.2, 0.5, 0.8)]
    return apgr, area, cpts


@pytest.mark.parametrize("seed", range(8))
def test_binned_matches_upstream_routellm(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(11, 600))
    s = (rng.random(n) < 0.8).astype(float)
    w = (rng.random(n) < 0.6).astype(float)
    if seed % 2:
        r = np.clip(0.3 * (s - w) + rng.random(n), 0, 1)  # informative router, ties at 0 and 1
    else:
        n = 10 * (n // 10) + 1
        s, w = s[:n], w[:n]
        r = rng.permutation(n) / (n - 1)  # evenly spaced, 10 | n - 1: quantiles fall exactly on scores
    up_apgr, up_auc, up_cpt = _upstream_binned(r, s, w, 10)
    c = M.binned_curve(r, s, w, 10)
    assert M.apgr(c) == pytest.approx(up_apgr, abs=1e-12)
    assert M.auc(c) == pytest.approx(up_auc, abs=1e-12)
    pgr = c.pgr
    if np.all(np.diff(pgr) > 0):  # upstream's np.interp equals the first crossing on monotone curves
        for p, v in zip((0.2, 0.5, 0.8), up_cpt, strict=True):
            assert M.cpt(c, p) == pytest.approx(v, abs=1e-12)


def test_binned_points_are_points_of_the_exact_curve():
    rng = np.random.default_rng(3)
    r = np.round(rng.random(300), 2)  # many ties
    s, w = rng.random(300), rng.random(300)
    exact = M.per_prompt_curve(r, s, w)
    binned = M.binned_curve(r, s, w, 10)
    lookup = dict(zip(exact.strong_fraction.tolist(), exact.gain.tolist(), strict=True))
    for x, g in zip(binned.strong_fraction, binned.gain, strict=True):
        assert lookup[x] == pytest.approx(g, abs=1e-12)


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="has 2 values, expected 3"):
        M.per_prompt_curve([0.1, 0.2, 0.3], [1, 0], [0, 1])
    with pytest.raises(ValueError, match="finite"):
        M.per_prompt_curve([np.nan], [1], [0])
    with pytest.raises(ValueError, match="empty"):
        M.per_prompt_curve([], [], [])
    with pytest.raises(ValueError, match="num_points"):
        M.binned_curve([0.1], [1], [0], 0)


def test_bootstrap_intervals():
    rng = np.random.default_rng(0)
    n = 400
    s = (rng.random(n) < 0.8).astype(float)
    w = (rng.random(n) < 0.6).astype(float)
    r = np.clip(0.5 * (s - w) + rng.random(n), 0, 1)
    point = M.apgr(M.per_prompt_curve(r, s, w))
    b = M.bootstrap(r, s, w, resamples=300, seed=1)
    assert b.apgr.low < point < b.apgr.high
    assert b.resamples == 300 and b.degenerate == 0
    for p, iv in b.cpt.items():
        assert 0 <= iv.low <= M.cpt(M.per_prompt_curve(r, s, w), p) <= iv.high <= 1
    again = M.bootstrap(r, s, w, resamples=300, seed=1)
    assert again == b  # deterministic


def test_bootstrap_samples_match_direct_recomputation():
    rng = np.random.default_rng(5)
    n = 30
    s, w = rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
    r = np.round(rng.random(n), 1)  # ties
    [samples] = M.bootstrap_samples([r], s, w, resamples=20, seed=9, cpt_levels=(0.5,))
    for k, counts in enumerate(next(M.bootstrap_counts(n, 20, 9))):
        idx = np.repeat(np.arange(n), counts)
        c = M.per_prompt_curve(r[idx], s[idx], w[idx])
        assert samples.apgr[k] == pytest.approx(M.apgr(c), abs=1e-12, nan_ok=True)
        assert samples.cpt[0.5][k] == pytest.approx(M.cpt(c, 0.5), abs=1e-12, nan_ok=True)


def test_paired_bootstrap():
    rng = np.random.default_rng(1)
    n = 300
    s = (rng.random(n) < 0.8).astype(float)
    w = (rng.random(n) < 0.6).astype(float)
    good = np.clip(0.5 * (s - w) + rng.random(n), 0, 1)
    bad = 1 - good
    same = M.paired_bootstrap(good, good, s, w, resamples=200)
    assert same.difference == 0 and same.interval.as_list() == [0.0, 0.0] and same.p_value == 1.0
    cmp = M.paired_bootstrap(good, bad, s, w, resamples=200)
    assert cmp.difference > 0 and cmp.interval.low > 0 and cmp.p_value < 0.01


def test_strong_fraction_interval():
    scores = np.linspace(0, 1, 1000, endpoint=False)
    iv = M.strong_fraction_interval(scores, 0.7, resamples=500)
    assert iv.low < 0.3 < iv.high and iv.high - iv.low < 0.08
    assert M.strong_fraction_interval(scores, 0.0, resamples=50).as_list() == [1.0, 1.0]


def test_best_threshold_under_budget_by_hand():
    r = [0.9, 0.8, 0.3, 0.1]  # quality along the curve: .25, .5, .5, .5, .75
    choice = M.best_threshold_under_budget(r, S4, W4, 0.6)
    assert (choice.threshold, choice.strong_fraction, choice.quality) == (0.9, 0.25, 0.5)  # fewest strong calls
    assert M.best_threshold_under_budget(r, S4, W4, 1.0).threshold == 0.1
    zero = M.best_threshold_under_budget(r, S4, W4, 0.2)
    assert zero.strong_fraction == 0.0 and zero.threshold > 0.9
    with pytest.raises(ValueError, match="no threshold"):
        M.best_threshold_under_budget([1.0, 1.0], [1, 1], [0, 0], 0.4)
