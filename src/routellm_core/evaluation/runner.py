"""Score routers on a benchmark (batched, cached) and compute every metric; on an N-model benchmark, predict
qualities (batched, cached) and compute RouterBench's cost-quality metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import RoutingError
from ..model_choice import QualityRouter, TwoModelQuality, predict_quality_checked, supports_quality
from ..progress import progress_bar
from . import metrics as M
from . import nmodel as N
from .cache import ScoreCache, cache_key_material, quality_key_material
from .data import BenchmarkData, BenchmarkDataError

if TYPE_CHECKING:
    from ..router import Router

DEFAULT_BATCH_SIZE = 256


def score_prompts(
    router: Router, prompts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE, desc: str = "scoring"
) -> np.ndarray:
    """``router.score_checked`` over ``prompts`` in batches, with a progress bar on a terminal."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    prompts = list(prompts)
    out = np.empty(len(prompts), dtype=np.float64)
    with progress_bar(len(prompts), desc, unit="prompt", disable=None) as bar:  # disable=None: only on a terminal
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            out[start : start + len(batch)] = router.score_checked(batch)
            bar.update(len(batch))
    return out


@dataclass
class ScoredRouter:
    name: str
    scores: np.ndarray
    cached: bool
    seconds: float
    describe: dict[str, Any] = field(default_factory=dict)


def score_router(
    router: Router,
    benchmark: BenchmarkData,
    *,
    cache: ScoreCache | None = None,
    overwrite: bool = False,
    config: dict[str, Any] | None = None,
    plugin: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    label: str | None = None,
) -> ScoredRouter:
    """Scores of ``router`` on ``benchmark.prompts``, from the cache when valid."""
    label = label or getattr(router, "name", "") or type(router).__name__
    start = time.perf_counter()
    material = cache_key_material(router, benchmark.digest, config=config, plugin=plugin)
    if cache is not None and not overwrite:
        cached = cache.load(material, benchmark.name, len(benchmark))
        if cached is not None:
            return ScoredRouter(label, cached, True, time.perf_counter() - start, router.describe())
    scores = score_prompts(router, benchmark.prompts, batch_size=batch_size, desc=f"{label} on {benchmark.name}")
    if cache is not None:
        cache.store(material, benchmark.name, scores)
    return ScoredRouter(label, scores, False, time.perf_counter() - start, router.describe())


@dataclass
class RouterResult:
    """Every metric of one router (or baseline) on one benchmark and routed pair."""

    name: str
    kind: str  # "router", "random-expected", "oracle"
    exact: M.CurveMetrics
    binned: M.CurveMetrics | None
    exact_curve: M.Curve
    binned_curve: M.Curve | None
    bootstrap: M.BootstrapResult | None = None
    cached: bool | None = None
    seconds: float | None = None
    describe: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        out.update({k: v for k, v in self.exact.as_dict().items()})
        if self.binned is not None:
            out.update({f"{k}_binned": v for k, v in self.binned.as_dict().items()})
        if self.bootstrap is not None:
            out["bootstrap"] = self.bootstrap.as_dict()
        if self.cached is not None:
            out["cached"] = self.cached
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.describe:
            out["describe"] = self.describe
        return out


@dataclass
class EvalReport:
    benchmark: str
    benchmark_digest: str
    n_prompts: int
    strong_model: str
    weak_model: str
    strong_quality: float
    weak_quality: float
    num_points: int
    results: list[RouterResult]
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    oracle_peak: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "benchmark_digest": self.benchmark_digest,
            "n_prompts": self.n_prompts,
            "strong_model": self.strong_model,
            "weak_model": self.weak_model,
            "strong_quality": self.strong_quality,
            "weak_quality": self.weak_quality,
            "num_points": self.num_points,
            "threshold_rule": "strong iff score >= threshold",
            "results": [r.as_dict() for r in self.results],
            "oracle_peak": self.oracle_peak,
            "comparisons": self.comparisons,
            "warnings": self.warnings,
        }


def evaluate_scores(
    benchmark: BenchmarkData,
    scored: Sequence[ScoredRouter],
    *,
    strong_model: str | None = None,
    weak_model: str | None = None,
    num_points: int = 10,
    resamples: int = 1000,
    seed: int = 0,
    cpt_levels: Sequence[float] = M.DEFAULT_CPT_LEVELS,
    compare: bool = True,
) -> EvalReport:
    """Metrics of each scored router, plus the random baseline (expected value) and the oracle."""
    strong, weak, s, w = benchmark.pair(strong_model, weak_model)
    warnings: list[str] = []
    if float(np.sum(s - w)) == 0.0:
        warnings.append(f"{strong} and {weak} have the same mean quality on {benchmark.name}: PGR, APGR and CPT are undefined")
        resamples = 0  # no intervals around an undefined value
    elif np.mean(s) < np.mean(w):
        warnings.append(f"the 'strong' model {strong} scores lower than the 'weak' model {weak} on {benchmark.name}")
    samples = (
        M.bootstrap_samples([item.scores for item in scored], s, w, resamples=resamples, seed=seed, cpt_levels=cpt_levels)
        if resamples and scored
        else [None] * len(scored)
    )
    results: list[RouterResult] = []
    for item, sample in zip(scored, samples, strict=True):
        exact_curve = M.per_prompt_curve(item.scores, s, w)
        binned_curve = M.binned_curve(item.scores, s, w, num_points)
        boot = M.summarize_bootstrap(sample) if sample is not None else None
        results.append(
            RouterResult(
                item.name,
                "router",
                M.curve_metrics(exact_curve, cpt_levels),
                M.curve_metrics(binned_curve, cpt_levels),
                exact_curve,
                binned_curve,
                boot,
                item.cached,
                item.seconds,
                item.describe,
            )
        )
    rnd = M.random_curve(s, w)
    results.append(
        RouterResult(
            "random (expected)", "random-expected", M.curve_metrics(rnd, cpt_levels), M.curve_metrics(rnd, cpt_levels), rnd, rnd
        )
    )
    orc = M.oracle_curve(s, w)
    results.append(RouterResult("oracle", "oracle", M.curve_metrics(orc, cpt_levels), None, orc, None))
    gain = s - w
    peak = {"quality": float(np.mean(np.maximum(s, w))), "strong_fraction": float(np.mean(gain > 0))}
    comparisons: list[dict[str, Any]] = []
    if compare and resamples and len(scored) > 1:
        for i in range(len(scored)):
            for j in range(i + 1, len(scored)):
                diff = results[i].exact.apgr - results[j].exact.apgr
                sample_i, sample_j = samples[i], samples[j]
                assert sample_i is not None and sample_j is not None  # resamples > 0: every router has samples
                cmp = M.compare_samples(diff, sample_i, sample_j)
                comparisons.append({"a": scored[i].name, "b": scored[j].name, **cmp.as_dict()})
    return EvalReport(
        benchmark.name,
        benchmark.digest,
        len(benchmark),
        strong,
        weak,
        float(np.mean(s)),
        float(np.mean(w)),
        num_points,
        results,
        comparisons,
        peak,
        warnings,
    )


# -- N-model benchmarks ---------------------------------------------------------------------------


def predict_prompts(
    router: QualityRouter,
    prompts: Sequence[str],
    models: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    desc: str = "predicting",
) -> np.ndarray:
    """:func:`~routellm_core.model_choice.predict_quality_checked` over ``prompts`` in batches.

    Returns ``(len(prompts), len(models))``.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    prompts = list(prompts)
    out = np.empty((len(prompts), len(models)), dtype=np.float64)
    with progress_bar(len(prompts), desc, unit="prompt", disable=None) as bar:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            out[start : start + len(batch)] = predict_quality_checked(router, batch, models)
            bar.update(len(batch))
    return out


@dataclass
class PredictedQuality:
    """A router's predicted quality on an N-model benchmark: ``quality[i, j]`` for prompt ``i`` and ``models[j]``."""

    name: str
    models: list[str]
    quality: np.ndarray
    cached: bool
    seconds: float
    describe: dict[str, Any] = field(default_factory=dict)
    note: str = ""


class _FixedScores:
    """Scores already computed for ``prompts``, served in their order (what TwoModelQuality reads)."""

    def __init__(self, prompts: Sequence[str], scores: np.ndarray) -> None:
        self.prompts, self.scores = list(prompts), scores

    def score_checked(self, prompts: Sequence[str]) -> np.ndarray:
        if list(prompts) != self.prompts:
            raise ValueError("these scores are of the benchmark's prompts, in order")
        return self.scores


class CannotPredict(RoutingError):
    """A router cannot predict quality for the benchmark's models (the message says why); it is reported as skipped."""


def predict_router_quality(
    router: Router,
    benchmark: BenchmarkData,
    *,
    cache: ScoreCache | None = None,
    overwrite: bool = False,
    config: dict[str, Any] | None = None,
    plugin: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    label: str | None = None,
    strong_model: str | None = None,
    weak_model: str | None = None,
) -> PredictedQuality:
    """The router's predicted quality for the benchmark's models, from the cache when valid.

    An N-model router (:func:`~routellm_core.model_choice.supports_quality`) predicts for every model of the
    benchmark; :class:`CannotPredict` when it does not know one. A two-model router is the N = 2 case on the
    benchmark's strong and weak model (or the given pair): its cached scores become
    :class:`~routellm_core.model_choice.TwoModelQuality`'s qualities (1 for strong, ``1 - score`` for weak).
    """
    label = label or getattr(router, "name", "") or type(router).__name__
    start = time.perf_counter()
    if not supports_quality(router):
        strong, weak, _, _ = benchmark.pair(strong_model, weak_model)
        scored = score_router(
            router, benchmark, cache=cache, overwrite=overwrite, config=config, plugin=plugin, batch_size=batch_size, label=label
        )
        # the router's (cached) scores of the benchmark's prompts, read through TwoModelQuality
        two = TwoModelQuality(_FixedScores(benchmark.prompts, scored.scores), strong, weak)
        quality = two.predict_quality(benchmark.prompts, [strong, weak])
        return PredictedQuality(
            label,
            [strong, weak],
            quality,
            scored.cached,
            time.perf_counter() - start,
            scored.describe,
            f"two-model router, as N = 2 on {strong} (strong) and {weak} (weak)",
        )
    assert isinstance(router, QualityRouter)
    models = list(benchmark.models)
    try:
        for model in models:
            router.resolve_quality_model(model)
    except RoutingError as exc:
        raise CannotPredict(str(exc)) from None
    material = quality_key_material(router, benchmark.digest, models, config=config, plugin=plugin)
    if cache is not None and not overwrite:
        cached = cache.load(material, benchmark.name, len(benchmark), columns=len(models))
        if cached is not None:
            return PredictedQuality(label, models, cached, True, time.perf_counter() - start, router.describe())
    quality = predict_prompts(router, benchmark.prompts, models, batch_size=batch_size, desc=f"{label} on {benchmark.name}")
    if cache is not None:
        cache.store(material, benchmark.name, quality)
    return PredictedQuality(label, models, quality, False, time.perf_counter() - start, router.describe())


@dataclass
class NModelReport:
    """Every router and baseline on an N-model benchmark (see :mod:`routellm_core.evaluation.nmodel`)."""

    benchmark: str
    benchmark_digest: str
    models: list[str]
    evaluation: N.NModelEvaluation
    skipped: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def results(self) -> list[N.CostQualityResult]:
        """Routers, then the zero router and the oracle."""
        ev = self.evaluation
        return [*ev.routers, ev.zero_router, ev.oracle]

    def summary(self) -> dict[str, Any]:
        """``{"routers": {name: {"aiq": x, ...}}, "baselines": {"zero_router": {"aiq": x}, "oracle": {...},
        "best_single": {"model": m, "quality": q, "cost": c}}}`` (costs in USD per prompt; skipped routers have
        ``"aiq": None`` and ``"skipped"``: why)."""
        ev = self.evaluation
        routers: dict[str, Any] = {}
        for res in ev.routers:
            m = res.metrics
            entry: dict[str, Any] = {
                "aiq": m.aiq,
                "curve_aiq": m.curve_aiq,
                "quality_at_best_single_cost": m.quality_at_best_single_cost,
                "curve_quality_at_best_single_cost": m.curve_quality_at_best_single_cost,
                "cost_to_best_single_quality": m.cost_to_best_single_quality,
                "cost_fraction_to_best_single_quality": m.cost_fraction_to_best_single_quality,
                "knob_cost_fraction_to_best_single_quality": m.knob_cost_fraction_to_best_single_quality,
                "knob_for_best_single_quality": m.knob_for_best_single_quality,
                "max_quality": m.max_quality,
                "models": list(res.models),
            }
            if res.intervals is not None:
                entry["aiq_ci"] = res.intervals.aiq.as_list()
                entry["curve_aiq_ci"] = res.intervals.curve_aiq.as_list()
                if res.intervals.aiq_minus_zero_router is not None:
                    entry["aiq_minus_zero_router_ci"] = res.intervals.aiq_minus_zero_router.as_list()
                    entry["p_value_vs_zero_router"] = res.intervals.p_value_vs_zero_router
                if res.intervals.curve_aiq_minus_zero_router is not None:
                    entry["curve_aiq_minus_zero_router_ci"] = res.intervals.curve_aiq_minus_zero_router.as_list()
                    entry["curve_p_value_vs_zero_router"] = res.intervals.curve_p_value_vs_zero_router
            routers[res.name] = entry
        for name, why in self.skipped.items():
            routers[name] = {"aiq": None, "skipped": why}
        om = ev.oracle.metrics
        best = ev.reference.best
        return {
            "routers": routers,
            "baselines": {
                "zero_router": {"aiq": ev.zero_router.metrics.aiq},
                "oracle": {
                    "aiq": om.aiq,
                    "max_quality": om.max_quality,
                    "cost_at_max_quality": om.cost_at_max_quality,
                    "cost_fraction_to_best_single_quality": om.cost_fraction_to_best_single_quality,
                },
                "best_single": {"model": best.model, "quality": best.quality, "cost": best.cost},
            },
        }

    def as_dict(self) -> dict[str, Any]:
        ev = self.evaluation
        return {
            "benchmark": self.benchmark,
            "benchmark_digest": self.benchmark_digest,
            "n_prompts": ev.n_prompts,
            "models": list(self.models),
            "cost_unit": "USD per prompt (mean over the prompts)",
            "bootstrap_resamples": ev.resamples,
            **ev.reference.as_dict(),
            "results": [r.as_dict() for r in self.results],
            "skipped": dict(self.skipped),
            "info": self.info,
        }


def evaluate_nmodel(
    benchmark: BenchmarkData,
    predicted: Sequence[PredictedQuality],
    *,
    skipped: dict[str, str] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> NModelReport:
    """RouterBench's metrics of each router's predictions on an N-model benchmark (one with costs), with baselines."""
    if benchmark.costs is None:
        raise BenchmarkDataError(f"benchmark {benchmark.name!r} has no per-prompt costs: it is not an N-model benchmark")
    evaluation = N.evaluate_cost_quality(
        benchmark.models,
        benchmark.scores,
        benchmark.costs,
        {p.name: (p.models, p.quality) for p in predicted},
        resamples=resamples,
        seed=seed,
    )
    for res, item in zip(evaluation.routers, predicted, strict=True):
        res.cached, res.seconds, res.note = item.cached, item.seconds, item.note
    info = {k: v for k, v in benchmark.info.items() if isinstance(v, (str, int, float, bool, list)) or v is None}
    return NModelReport(benchmark.name, benchmark.digest, list(benchmark.models), evaluation, dict(skipped or {}), info)
