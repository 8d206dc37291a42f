"""``routellm eval --routers R [R ...] --benchmark NAME``: APGR, CPT, AUC, AIQ with intervals, plots, cache.

On an N-model benchmark (one with per-prompt costs: ``routerbench-zs``, ``llmrouter-dcrouter``, a
``file:PATH.json``), RouterBench's cost-quality metrics instead, with ``summary.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import load_config
from ..errors import ConfigError, MissingDependencyError
from .common import Subparsers, non_negative_int, positive_int

if TYPE_CHECKING:
    from ..evaluation import BenchmarkData, ScoreCache
    from ..plugins import PluginRegistry


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "eval",
        help="evaluate routers on a benchmark (APGR, CPT, AUC, AIQ, bootstrap intervals, plot)",
        description="Evaluate routers on a benchmark: a registered one (mt-bench, mmlu, gsm8k, plugins) or "
        "file:PATH, a JSONL/CSV file with a prompt column and one score column per model. Router scores are "
        "cached per router config + checkpoint + benchmark data. On an N-model benchmark (routerbench-zs, "
        "llmrouter-dcrouter, or file:PATH.json, a JSON list of {question, scores, costs}) it reports RouterBench's "
        "metrics: AIQ, quality at the best single model's cost, the cost to reach its quality, the zero router and "
        "the oracle, and writes OUTPUT/summary.json.",
    )
    parser.add_argument("--routers", nargs="+", required=True, metavar="R", help="router names")
    parser.add_argument("--benchmark", required=True, metavar="NAME", help="benchmark name, or file:PATH")
    parser.add_argument(
        "--strong-model", metavar="M", help="strong model (a model of the benchmark; N-model: the pair of two-model routers)"
    )
    parser.add_argument("--weak-model", metavar="M", help="weak model (a model of the benchmark)")
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help="YAML/JSON {model: {input: USD per 1M tokens, output: USD per 1M tokens}}: the costs of the rows of a "
        "file:PATH.json N-model benchmark that give none",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="directory with the benchmark files (default: $ROUTELLM_DATA_DIR, then the user cache)"
    )
    parser.add_argument(
        "--download",
        action="store_true",
        default=None,  # left out: $ROUTELLM_DOWNLOAD decides
        help="if the files are not found, fetch RouteLLM's published files (checksum-verified; default: $ROUTELLM_DOWNLOAD)",
    )
    parser.add_argument(
        "--output", metavar="DIR", default="routellm-eval", help="where to write JSON, CSV and PNG (default: ./routellm-eval)"
    )
    parser.add_argument(
        "--overwrite-cache",
        nargs="*",
        metavar="R",
        default=None,
        help="rescore these routers instead of using cached scores (no names: all)",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    parser.add_argument(
        "--num-points",
        type=positive_int,
        default=10,
        metavar="N",
        help="bins of the paper-style curve and APGR (default 10, as in the RouteLLM paper)",
    )
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="B",
        help="bootstrap resamples for confidence intervals (default 1000; 0 turns them off)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="prompts per router.score call (default 256)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    parser.add_argument("--config", metavar="FILE", help="YAML file: router name -> keyword arguments")
    return parser


def _plugin_tag(registry: PluginRegistry, name: str) -> str:
    reg = registry.get("routers", name)
    version = next((p.version for p in registry.plugins if p.name == reg.plugin), "?")
    return f"{reg.distribution}=={version}:{reg.plugin}"


def _load_benchmark(args: argparse.Namespace) -> BenchmarkData:
    from ..evaluation.data import FILE_PREFIX, NMODEL_SUFFIX, load_nmodel_file, load_prices_file
    from ..lookups import load_benchmark

    name: str = args.benchmark
    nmodel_file = name.startswith(FILE_PREFIX) and Path(name[len(FILE_PREFIX) :]).suffix.lower() == NMODEL_SUFFIX
    if args.prices and not nmodel_file:
        raise ConfigError(f"--prices gives the costs of an N-model file:PATH{NMODEL_SUFFIX} benchmark; {name!r} is not one")
    if nmodel_file:
        prices = load_prices_file(args.prices) if args.prices else None
        return load_nmodel_file(
            name[len(FILE_PREFIX) :], prices=prices, strong_model=args.strong_model, weak_model=args.weak_model
        )
    return load_benchmark(name, args.data_dir, download=args.download, strong_model=args.strong_model, weak_model=args.weak_model)


def _run_nmodel(
    args: argparse.Namespace,
    benchmark: BenchmarkData,
    routers: list[Any],
    registry: PluginRegistry,
    config: dict[str, dict[str, Any]],
    cache: ScoreCache | None,
    overwrite: set[str],
) -> int:
    """RouterBench's metrics on an N-model benchmark; routers that cannot predict for its models are skipped."""
    from ..evaluation.report import format_nmodel_table, write_nmodel_outputs
    from ..evaluation.runner import CannotPredict, evaluate_nmodel, predict_router_quality

    start = time.perf_counter()
    predicted = []
    skipped: dict[str, str] = {}
    for name, router in zip(args.routers, routers, strict=True):
        try:
            predicted.append(
                predict_router_quality(
                    router,
                    benchmark,
                    cache=cache,
                    overwrite=name in overwrite,
                    config=config.get(name),
                    plugin=_plugin_tag(registry, name),
                    batch_size=args.batch_size,
                    label=name,
                    strong_model=args.strong_model,
                    weak_model=args.weak_model,
                )
            )
        except CannotPredict as exc:
            skipped[name] = str(exc)
            print(f"routellm eval: skipped {name}: {exc}", file=sys.stderr)
    report = evaluate_nmodel(benchmark, predicted, skipped=skipped, resamples=args.bootstrap, seed=args.seed)
    print(format_nmodel_table(report))
    try:
        paths = write_nmodel_outputs(report, args.output, plot=not args.no_plot)
    except MissingDependencyError as exc:  # the numbers are written; only the picture is missing
        print(f"routellm eval: warning: plot skipped: {exc}", file=sys.stderr)
        paths = write_nmodel_outputs(report, args.output, plot=False)
    hits = sum(1 for p in predicted if p.cached)
    print(
        f"predictions: {hits} of {len(predicted)} router(s) from the cache"
        + (f" ({cache.root})" if cache is not None else " (cache off)")
        + f"; total {time.perf_counter() - start:.2f} s",
        file=sys.stderr,
    )
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def run(args: argparse.Namespace) -> int:
    from ..evaluation import ScoreCache, evaluate_scores, score_router
    from ..evaluation.report import format_table, write_outputs
    from ..plugins import get_registry

    if len(set(args.routers)) != len(args.routers):
        raise ConfigError(f"--routers lists a router twice: {' '.join(args.routers)}")
    unknown = [r for r in (args.overwrite_cache or []) if r not in args.routers]
    if unknown:
        raise ConfigError(f"--overwrite-cache names routers not in --routers: {', '.join(unknown)}")
    config = load_config(args.config)
    registry = get_registry()
    routers = [registry.create_router(name, config.get(name)) for name in args.routers]

    benchmark = _load_benchmark(args)
    strong, weak, _, _ = benchmark.pair(args.strong_model, args.weak_model)

    cache = None if args.no_cache else ScoreCache()
    overwrite = set(args.routers) if args.overwrite_cache == [] else set(args.overwrite_cache or [])
    if benchmark.has_costs:
        return _run_nmodel(args, benchmark, routers, registry, config, cache, overwrite)
    start = time.perf_counter()
    scored = []
    for name, router in zip(args.routers, routers, strict=True):
        scored.append(
            score_router(
                router,
                benchmark,
                cache=cache,
                overwrite=name in overwrite,
                config=config.get(name),
                plugin=_plugin_tag(registry, name),
                batch_size=args.batch_size,
                label=name,
            )
        )
    report = evaluate_scores(
        benchmark,
        scored,
        strong_model=strong,
        weak_model=weak,
        num_points=args.num_points,
        resamples=args.bootstrap,
        seed=args.seed,
    )
    print(format_table(report))
    try:
        paths = write_outputs(report, args.output, plot=not args.no_plot)
    except MissingDependencyError as exc:  # the numbers are written; only the picture is missing
        print(f"routellm eval: warning: plot skipped: {exc}", file=sys.stderr)
        paths = write_outputs(report, args.output, plot=False)
    hits = sum(1 for s in scored if s.cached)
    print(
        f"scores: {hits} of {len(scored)} router(s) from the cache"
        + (f" ({cache.root})" if cache is not None else " (cache off)")
        + f"; total {time.perf_counter() - start:.2f} s",
        file=sys.stderr,
    )
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
