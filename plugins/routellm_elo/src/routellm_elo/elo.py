"""Bradley–Terry / Elo maximum likelihood on win-count tables, batched; tiers by dynamic programming.

A win-count table ``C`` (``T × T``) holds in ``C[j, k]`` the (weighted) number of wins of player
``j`` over player ``k``; a tie counts as half a win each way. The Bradley–Terry model says
``P(j beats k) = 1 / (1 + 10 ** ((R_k - R_j) / 400))`` for Elo ratings ``R``. Its log-likelihood
``sum C[j, k] · log P(j beats k)`` is concave in the ratings; :func:`fit_ratings` maximises it (plus an
optional ridge term) by Newton's method for a whole batch of tables at once, so fitting one table per
prompt for hundreds of prompts is a handful of batched ``T × T`` solves.

This is the likelihood that RouteLLM's ``compute_elo_mle_with_tie`` maximises with scikit-learn's
``LogisticRegression`` (each battle twice, a tie once as a win and once as a loss): it depends on the
battles only through the table ``C``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SCALE = 400.0
BASE = 10.0
INIT_RATING = 1000.0
_NAT = SCALE / math.log(BASE)  # Elo points per natural-log-odds unit


def win_tables(a: np.ndarray, b: np.ndarray, label: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """The ``n × n`` win-count table of comparisons ``a[i]`` vs ``b[i]`` where ``a`` wins with probability ``label[i]``.

    ``weights`` (one per comparison) scale each comparison's contribution.
    """
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    y = np.asarray(label, np.float64)
    w = np.ones(len(a)) if weights is None else np.asarray(weights, np.float64)
    table = np.zeros(n * n)
    np.add.at(table, a * n + b, w * y)
    np.add.at(table, b * n + a, w * (1.0 - y))
    return table.reshape(n, n)


def fit_ratings(tables: np.ndarray, ridge: float = 0.0, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Elo ratings (mean ``INIT_RATING``) maximising the Bradley–Terry likelihood of each win table.

    ``tables``: ``(T, T)`` or ``(Q, T, T)``. ``ridge``: L2 penalty ``ridge/2 · |θ|²`` on the ratings in
    natural-log-odds units (``θ = (R - 1000) · ln 10 / 400``); it keeps the ratings finite when a player
    never loses or has no games. Without it, a table whose comparison graph is disconnected or has a
    player that never loses has no finite maximum. Returns ``(T,)`` or ``(Q, T)``.
    """
    c = np.asarray(tables, np.float64)
    single = c.ndim == 2
    if single:
        c = c[None]
    if c.ndim != 3 or c.shape[1] != c.shape[2]:
        raise ValueError(f"win tables must have shape (T, T) or (Q, T, T), got {np.shape(tables)}")
    q, t, _ = c.shape
    c = c * (1.0 - np.eye(t))  # a player against itself carries no information
    games = c + c.transpose(0, 2, 1)
    wins = c.sum(axis=2)
    theta = np.zeros((q, t))
    active = np.ones(q, bool)
    ones = np.ones((t, t))
    eye = np.eye(t)
    idle = games.sum(axis=2) == 0  # players without games keep their rating (0 with any ridge)
    for _ in range(max_iter):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        th = theta[idx]
        p = 1.0 / (1.0 + np.exp(th[:, None, :] - th[:, :, None]))  # p[j, k] = P(j beats k)
        g = wins[idx] - (games[idx] * p).sum(axis=2) - ridge * th
        v = games[idx] * p * (1.0 - p)
        h = -v + ridge * eye
        h[:, np.arange(t), np.arange(t)] += v.sum(axis=2) + idle[idx]
        # the likelihood is invariant to adding a constant to every rating: ones·onesᵀ fixes that
        # direction (the gradient has no component along it, so the ratings stay centred)
        step = np.linalg.solve(h + ones / t, g[..., None])[..., 0]
        step = np.clip(step, -5.0, 5.0)  # damping far from the optimum (never active near it)
        theta[idx] = th + step
        active[idx] = np.abs(step).max(axis=1) > tol
    ratings = INIT_RATING + _NAT * theta
    return ratings[0] if single else ratings


def win_probability(r_strong: npt.ArrayLike, r_weak: npt.ArrayLike) -> np.ndarray:
    """``P(strong beats weak) = 1 / (1 + 10 ** ((R_weak - R_strong) / 400))``, elementwise (a numpy scalar for
    scalar ratings)."""
    return 1.0 / (1.0 + np.power(BASE, (np.asarray(r_weak, np.float64) - np.asarray(r_strong, np.float64)) / SCALE))


def compute_tiers(ratings: np.ndarray, num_tiers: int) -> np.ndarray:
    """Tier of each player: players sorted by descending rating, cut into ``min(num_tiers, n)`` contiguous,
    non-empty tiers that minimise the sum of within-tier variances (population variance, as RouteLLM's
    ``compute_tiers``). Tier 0 holds the highest ratings. Ties in rating are ordered by index."""
    r = np.asarray(ratings, np.float64)
    n = len(r)
    if num_tiers < 1:
        raise ValueError(f"num_tiers must be >= 1, got {num_tiers}")
    if n == 0:
        return np.zeros(0, np.int64)
    k = min(num_tiers, n)
    order = np.lexsort((np.arange(n), -r))
    x = r[order]
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def var(i: int, j: int) -> float:  # population variance of x[i:j]
        m = j - i
        mean = (s1[j] - s1[i]) / m
        return float(max((s2[j] - s2[i]) / m - mean * mean, 0.0))

    inf = float("inf")
    cost = np.full((k + 1, n + 1), inf)
    cut = np.zeros((k + 1, n + 1), np.int64)
    cost[0, 0] = 0.0
    for tiers in range(1, k + 1):
        for j in range(tiers, n + 1):
            best, arg = inf, tiers - 1
            for i in range(tiers - 1, j):
                c = cost[tiers - 1, i] + var(i, j)
                if c < best - 1e-12:
                    best, arg = c, i
            cost[tiers, j], cut[tiers, j] = best, arg
    tier_sorted = np.zeros(n, np.int64)
    j = n
    for tiers in range(k, 0, -1):
        i = cut[tiers, j]
        tier_sorted[i:j] = tiers - 1
        j = i
    out = np.zeros(n, np.int64)
    out[order] = tier_sorted
    return out
