"""The Elo fit against RouteLLM's per-request scikit-learn refit, the tier DP, and the monotonicity property."""

import itertools

import numpy as np
import pytest
from elo_helpers import routellm_reference_ratings
from hypothesis import given, settings
from hypothesis import strategies as st
from routellm_elo.elo import compute_tiers, fit_ratings, win_probability, win_tables
from routellm_elo.index import SWIndex, Weighting, build_index
from routellm_elo.router import pair_scores

from routellm_core.testing import HashEmbedder

pytest.importorskip("sklearn")


def synthetic_battles(seed, n_prompts=60, n_models=7, per_prompt=5, dim=12):
    """Prompts with embeddings, and battles whose outcomes depend on the prompt (so weighting matters)."""
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n_prompts, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    skill = np.linspace(2.0, -2.0, n_models)
    direction = rng.standard_normal(dim)
    pi, a, b, y = [], [], [], []
    for p in range(n_prompts):
        gap = 1.0 + float(emb[p] @ direction)  # strong models win more on some prompts
        for _ in range(per_prompt):
            i, j = rng.choice(n_models, 2, replace=False)
            pa = 1 / (1 + np.exp(-gap * (skill[i] - skill[j])))
            u = rng.random()
            pi.append(p), a.append(i), b.append(j)
            y.append(1.0 if u < 0.75 * pa else 0.0 if u > 1 - 0.75 * (1 - pa) else 0.5)
    return emb, np.array(pi), np.array(a), np.array(b), np.array(y)


@pytest.mark.parametrize(
    "weighting",
    [
        Weighting(sharpness=1.0, relative_to_max=True, ridge=0.0),  # RouteLLM's
        Weighting(sharpness=4.0, ridge=0.0),
        Weighting(sharpness=2.0, min_similarity=0.1, ridge=0.0),
        Weighting(sharpness=4.0, ridge=0.0, same_tier="ignore"),
    ],
)
def test_parity_with_routellm_refit(weighting):
    emb, pi, a, b, y = synthetic_battles(0)
    models = [f"m{i}" for i in range(7)]
    index = build_index(emb, pi, a, b, y, models, num_tiers=4, weighting=weighting)
    strong, weak = index.tier_of(0), index.tier_of(6)
    assert strong != weak
    queries = np.random.default_rng(1).standard_normal((5, emb.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ours = pair_scores(index, queries, strong, weak)
    sims = index.project(queries) @ index.embeddings.T
    per_prompt = index.weights_for_similarities(sims)
    ta, tb = index.model_tiers[a], index.model_tiers[b]
    assert np.sum(ta == tb) > 10  # same-tier battles are part of the test
    keep = ta != tb if weighting.same_tier == "ignore" else np.ones(len(ta), bool)
    for q in range(len(queries)):
        ref = routellm_reference_ratings(ta[keep], tb[keep], y[keep], per_prompt[q][pi][keep], index.num_tiers)
        expected = win_probability(ref[strong], ref[weak])
        assert abs(ours[q] - expected) < 1e-3, (q, ours[q], expected)
    assert np.ptp(ours) > 1e-3  # the weighting makes a difference here, so parity is not trivially about constants


def test_fit_matches_reference_ratings_and_batches():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    a, b = a[a != b], b[a != b]
    y = rng.choice([0.0, 0.5, 1.0], len(a))
    w = rng.random(len(a)) * 3
    ours = fit_ratings(win_tables(a, b, y, 5, w))
    ref = routellm_reference_ratings(a, b, y, w, 5)
    np.testing.assert_allclose(ours - ours.mean(), ref - ref.mean(), atol=1e-3)
    tables = np.stack([win_tables(a, b, y, 5, rng.random(len(a))) for _ in range(4)])
    batch = fit_ratings(tables)
    for i in range(4):
        np.testing.assert_allclose(batch[i], fit_ratings(tables[i]), atol=1e-9)
    # without a ridge the fit does not depend on the scale of the counts
    np.testing.assert_allclose(fit_ratings(tables[0] * 1e-3), fit_ratings(tables[0]), atol=1e-6)


def test_ridge_keeps_undefeated_and_absent_players_finite():
    c = np.zeros((3, 3))
    c[0, 1] = 5.0  # player 0 never loses, player 2 never plays
    r = fit_ratings(c, ridge=1e-3)
    assert np.all(np.isfinite(r)) and r[0] > r[1] and abs(r[2] - 1000) < 1e-6 + abs(r.mean() - 1000) + 1


def _brute_force_cost(x, k):
    n = len(x)
    best = np.inf
    for cuts in itertools.combinations(range(1, n), k - 1):
        bounds = (0, *cuts, n)
        best = min(best, sum(np.var(x[i:j]) for i, j in itertools.pairwise(bounds)))
    return best


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-500, 500, allow_nan=False), min_size=1, max_size=8), st.integers(1, 10))
def test_tiers_minimise_total_within_tier_variance(ratings, num_tiers):
    r = np.asarray(ratings)
    tiers = compute_tiers(r, num_tiers)
    k = min(num_tiers, len(r))
    assert sorted(set(tiers.tolist())) == list(range(k))  # k non-empty tiers
    order = np.lexsort((np.arange(len(r)), -r))
    assert np.all(np.diff(tiers[order]) >= 0)  # contiguous in descending rating: tier 0 is the best
    cost = sum(np.var(r[tiers == t]) for t in range(k))
    assert cost <= _brute_force_cost(r[order], k) + 1e-6


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.text(min_size=0, max_size=30),
    st.floats(0.0, 20.0),
    st.floats(-1.0, 0.9),
    st.sampled_from([0.0, 1e-3, 0.1]),
    st.integers(1, 5),
    st.sampled_from(["routellm", "ignore"]),
)
def test_a_strong_win_on_the_query_itself_never_lowers_its_score(
    seed, query, sharpness, min_similarity, ridge, copies, same_tier
):
    """Adding a battle won by the strong tier, on a prompt identical to the query, never lowers the query's score."""
    rng = np.random.default_rng(seed)
    embedder = HashEmbedder(8)
    n, t = 20, 4
    emb = embedder.embed([f"prompt {i} {seed}" for i in range(n)])
    tables = rng.poisson(1.0, (n, t + 1, t + 1)).astype(float) * (1 - np.eye(t + 1))  # player t: same-tier battles
    models = [f"m{i}" for i in range(t)]
    weighting = Weighting(sharpness=sharpness, min_similarity=min_similarity, ridge=ridge, same_tier=same_tier)

    def index_of(e, tb):
        return SWIndex(
            embeddings=e,
            tables=tb,
            models=models,
            model_tiers=np.arange(t),
            model_ratings=np.zeros(t),
            num_tiers=t,
            weighting=weighting,
        )

    q = embedder.embed([query])
    strong, weak = 0, 3
    before = pair_scores(index_of(emb, tables), q, strong, weak)[0]
    win = np.zeros((1, t + 1, t + 1))
    win[0, strong, weak] = copies
    after = pair_scores(index_of(np.vstack([emb, q]), np.concatenate([tables, win])), q, strong, weak)[0]
    assert after >= before - 1e-9
