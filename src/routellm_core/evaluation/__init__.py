"""Evaluation harness: benchmarks, metrics (APGR, CPT, AUC, AIQ, bootstrap), score cache, reports.

Metric definitions are in :mod:`routellm_core.evaluation.metrics`; RouterBench's cost-quality
metrics of N-model routers (AIQ, the zero router, the oracle) in :mod:`routellm_core.evaluation.nmodel`. Importing this
package is light (numpy only); matplotlib and tqdm load when used. It does not
reach the plugin registry: load a registered benchmark by name with
:func:`routellm_core.lookups.load_benchmark`.
"""

from __future__ import annotations

from .cache import ScoreCache
from .data import (
    BenchmarkData,
    BenchmarkDataError,
    compute_digest,
    downloads_allowed,
    load_file_benchmark,
    user_cache_dir,
)
from .metrics import (
    Curve,
    aiq,
    apgr,
    auc,
    binned_curve,
    bootstrap,
    cpt,
    oracle_curve,
    paired_bootstrap,
    per_prompt_curve,
    random_curve,
    strong_fraction_interval,
)
from .runner import EvalReport, evaluate_scores, score_prompts, score_router

__all__ = [
    "BenchmarkData",
    "BenchmarkDataError",
    "Curve",
    "EvalReport",
    "ScoreCache",
    "aiq",
    "apgr",
    "auc",
    "binned_curve",
    "bootstrap",
    "compute_digest",
    "cpt",
    "downloads_allowed",
    "evaluate_scores",
    "load_file_benchmark",
    "oracle_curve",
    "paired_bootstrap",
    "per_prompt_curve",
    "random_curve",
    "score_prompts",
    "score_router",
    "strong_fraction_interval",
    "user_cache_dir",
]
