"""Helpers shared by the routellm-elo tests."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from routellm_core.testing import shared_data_dir


def data_dir() -> Path | None:
    return shared_data_dir(Path(__file__).resolve().parents[3])


def _minilm_installed() -> bool:
    try:
        from routellm_minilm.encoder import l3_onnx_file, model_dir

        l3_onnx_file(), model_dir()
    except Exception:
        return False
    return importlib.util.find_spec("onnxruntime") is not None


needs_minilm = pytest.mark.skipif(not _minilm_installed(), reason="routellm-minilm (minilm-l3 embedder) is not installed")


def routellm_reference_ratings(tier_a, tier_b, label, weights, n_tiers, solver="newton-cg"):
    """RouteLLM's ``compute_elo_mle_with_tie`` with ``sample_weight``: each battle twice, a tie once as a win and
    once as a loss, scikit-learn's LogisticRegression without penalty or intercept. Elo ratings per tier.

    RouteLLM uses the default lbfgs solver, which stops early when the weights are small (sharp weighting);
    Newton's method finds the same maximum to full precision."""
    from sklearn.linear_model import LogisticRegression

    tier_a, tier_b = np.asarray(tier_a), np.asarray(tier_b)
    label = np.asarray(label, float)
    n = len(tier_a)
    rows = np.arange(2 * n)
    x = np.zeros((2 * n, n_tiers))
    x[rows, np.r_[tier_a, tier_a]] = +math.log(10)
    x[rows, np.r_[tier_b, tier_b]] = -math.log(10)  # a == b: overwrites the +ln 10, as in RouteLLM
    y = np.zeros(2 * n)
    y[:n][label == 1.0] = 1.0
    y[n:][label == 1.0] = 1.0
    y[:n][label == 0.5] = 1.0  # one tie => one A win + one B win
    lr = LogisticRegression(fit_intercept=False, C=np.inf, solver=solver, tol=1e-10, max_iter=100_000)
    lr.fit(x, y, sample_weight=np.r_[weights, weights])
    return 400 * lr.coef_[0] + 1000
