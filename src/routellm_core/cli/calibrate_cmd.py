"""``routellm calibrate --router R --strong-fraction P --prompts FILE [--labelled FILE]``.

With ``--prompts``: the threshold that sends at least ``P`` of these prompts to
the strong model, and a bootstrap interval for the strong fraction that the
threshold will give on traffic like the sample. With ``--labelled`` (a file in
the ``routellm eval --benchmark file:PATH`` format: a prompt column and one
score column per model): the threshold that maximises mean quality while
sending at most ``P`` of those prompts to the strong model.

``routellm calibrate --router R --models FILE --prompts FILE --max-cost-per-1k X`` (or
``--max-cost-percent P``): with a models list, the smallest cost knob ``w`` (the
highest quality) whose expected cost on these prompts is at most ``X`` USD per
1,000 requests (or ``P`` % of the cost with every prompt on its best predicted
model), with the achieved cost and the mix of models it gives.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from ..prompts_io import read_prompts
from ..threshold import KNOB, calibrate_threshold, format_model_name, format_nmodel_name, strong_fraction
from .common import Subparsers, add_router_config_argument, build_router, fraction, non_negative_int, positive_int


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "calibrate",
        help="threshold that sends a given fraction of your prompts to the strong model, "
        "or the cost knob that keeps N-model routing within a budget",
    )
    parser.add_argument("--router", required=True, help="router name")
    parser.add_argument(
        "--strong-fraction",
        type=fraction,
        help="target fraction of strong calls, in [0, 1] (with --labelled: the strong-call budget)",
    )
    parser.add_argument(
        "--models",
        metavar="FILE",
        help="N-model routing: the models list (YAML, as for routellm serve --models) to calibrate the cost knob "
        "for, with --prompts and --max-cost-per-1k or --max-cost-percent",
    )
    parser.add_argument(
        "--max-cost-per-1k",
        type=_non_negative_float,
        metavar="USD",
        help="with --models: at most this many USD of expected cost per 1,000 requests like --prompts",
    )
    parser.add_argument(
        "--max-cost-percent",
        type=_non_negative_float,
        metavar="P",
        help="with --models: at most P %% of the expected cost with every prompt on its best predicted model (w = 0)",
    )
    parser.add_argument(
        "--expected-output-tokens",
        type=positive_int,
        metavar="N",
        help="with --models: output tokens a request is expected to produce (default: the file's, else 256)",
    )
    parser.add_argument("--prompts", metavar="FILE", help="JSONL, CSV or text file (one prompt per line)")
    parser.add_argument(
        "--labelled",
        metavar="FILE",
        help="JSONL/CSV with a prompt column and one score column per model: report the threshold "
        "that maximises quality with at most --strong-fraction strong calls",
    )
    parser.add_argument("--strong-model", metavar="M", help="strong model column of --labelled (default: best mean)")
    parser.add_argument("--weak-model", metavar="M", help="weak model column of --labelled (default: worst mean)")
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=2000,
        metavar="B",
        help="bootstrap resamples for the strong-fraction interval (default 2000; 0: off)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_router_config_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    budgets = [b for b in (args.max_cost_per_1k, args.max_cost_percent) if b is not None]
    if args.models or budgets:
        return run_budget(args)
    if args.expected_output_tokens is not None:
        raise ConfigError("--expected-output-tokens needs --models FILE")
    if args.strong_fraction is None:
        print(
            "routellm calibrate: error: give --strong-fraction P (two models), "
            "or --models FILE with --max-cost-per-1k USD or --max-cost-percent P (N models)",
            file=sys.stderr,
        )
        return 2
    if not args.prompts and not args.labelled:
        print("routellm calibrate: error: give --prompts FILE, --labelled FILE, or both", file=sys.stderr)
        return 2
    prompts = None
    if args.prompts:
        try:
            prompts = read_prompts(args.prompts)
        except ValueError as exc:
            print(f"routellm calibrate: error: {exc}", file=sys.stderr)
            return 2
    labelled = None
    if args.labelled:
        from ..evaluation.data import load_file_benchmark

        labelled = load_file_benchmark(args.labelled, strong_model=args.strong_model, weak_model=args.weak_model)
    elif args.strong_model or args.weak_model:
        raise ConfigError("--strong-model/--weak-model need --labelled FILE")
    router = build_router(args.router, args.config)
    result: dict[str, Any] = {"router": args.router}
    lines: list[str] = []
    if prompts is not None:
        scores = router.score_checked(prompts)
        threshold = calibrate_threshold(scores, args.strong_fraction)
        achieved = strong_fraction(scores, threshold)
        result.update(
            {
                "prompts": len(prompts),
                "target_strong_fraction": args.strong_fraction,
                "threshold": threshold,
                "strong_fraction_on_sample": achieved,
                "model": format_model_name(args.router, threshold),
            }
        )
        lines += [
            f"threshold: {threshold!r}",
            f"model name: {result['model']}",
            f"strong fraction on these {len(prompts)} prompts: {achieved:.4f} (target {args.strong_fraction:g})",
        ]
        if args.bootstrap:
            from ..evaluation.metrics import strong_fraction_interval

            iv = strong_fraction_interval(scores, threshold, resamples=args.bootstrap, seed=args.seed)
            result["strong_fraction_interval"] = iv.as_list()
            result["interval_level"] = iv.level
            result["bootstrap_resamples"] = args.bootstrap
            lines.append(
                f"strong fraction on traffic like this sample: {iv.low:.4f} to {iv.high:.4f} "
                f"({100 * iv.level:g}% bootstrap interval, {args.bootstrap} resamples)"
            )
    if labelled is not None:
        from ..evaluation.metrics import best_threshold_under_budget

        strong, weak, s, w = labelled.pair(args.strong_model, args.weak_model)
        lscores = router.score_checked(labelled.prompts)
        try:
            choice = best_threshold_under_budget(lscores, s, w, args.strong_fraction)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        budget = {
            "file": args.labelled,
            "prompts": len(labelled),
            "strong_model": strong,
            "weak_model": weak,
            "strong_quality": float(s.mean()),
            "weak_quality": float(w.mean()),
            **choice.as_dict(),
            "model": format_model_name(args.router, choice.threshold),
        }
        result["budget"] = budget
        lines += [
            f"best threshold within {args.strong_fraction:g} strong calls on {len(labelled)} labelled prompts "
            f"({args.labelled}): {choice.threshold!r} ({budget['model']})",
            f"  strong calls {choice.strong_fraction:.4f}, quality {choice.quality:.4f} "
            f"(weak {weak} {budget['weak_quality']:.4f}, strong {strong} {budget['strong_quality']:.4f}, PGR {choice.pgr:.4f})",
        ]
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(lines))
    return 0


def run_budget(args: argparse.Namespace) -> int:
    """The cost knob within a budget: ``--models FILE --prompts FILE --max-cost-per-1k X | --max-cost-percent P``."""
    from ..budget import calibrate_knob
    from ..model_set import load_models
    from ..routing import RoutingCore

    budgets = [b for b in (args.max_cost_per_1k, args.max_cost_percent) if b is not None]
    problems = []
    if not args.models:
        problems.append("--models FILE")
    if not args.prompts:
        problems.append("--prompts FILE")
    if len(budgets) != 1:
        problems.append("exactly one of --max-cost-per-1k USD and --max-cost-percent P")
    if problems:
        raise ConfigError(f"calibrating the cost knob to a budget needs {', '.join(problems)}")
    if args.strong_fraction is not None or args.labelled or args.strong_model or args.weak_model:
        raise ConfigError(
            "--strong-fraction, --labelled, --strong-model and --weak-model are for two-model routing, not --models"
        )
    try:
        prompts = read_prompts(args.prompts)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not prompts:
        raise ConfigError(f"no prompts in {args.prompts}")
    models = load_models(args.models, expected_output_tokens=args.expected_output_tokens)
    router = build_router(args.router, args.config)
    core = RoutingCore({args.router: router}, models=models)
    quality = core.predict(args.router, prompts)
    costs = models.prompt_costs(prompts)
    try:
        result = calibrate_knob(
            quality,
            costs,
            max_cost_per_1k=args.max_cost_per_1k,
            max_fraction_of_best=None if args.max_cost_percent is None else args.max_cost_percent / 100.0,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    model = format_nmodel_name(args.router, KNOB, result.short_knob)
    report: dict[str, Any] = {
        "router": args.router,
        "models_file": args.models,
        "prompts_file": args.prompts,
        "expected_output_tokens": models.expected_output_tokens,
        "budget": (
            {"max_cost_per_1k": args.max_cost_per_1k}
            if args.max_cost_per_1k is not None
            else {"max_cost_percent_of_best": args.max_cost_percent}
        ),
        **result.as_dict(models.names),
        "model": model,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    budget = (
        f"${args.max_cost_per_1k:g} per 1,000 requests"
        if args.max_cost_per_1k is not None
        else f"{args.max_cost_percent:g} % of the all-best cost (${result.budget_per_1k:.6g} per 1,000 requests)"
    )
    width = max(len(name) for name in models.names)
    lines = [
        f"knob: {result.knob!r} (the smallest within the budget on these {result.prompts} prompts; "
        f"{result.short_knob!r} routes them the same)",
        f"model name: {model}",
        f"budget: {budget}",
        f"expected cost per 1,000 requests: ${result.cost_per_1k:.6g} "
        f"(every prompt on its best predicted model, w = 0: ${result.best_cost_per_1k:.6g}; "
        f"on its cheapest, w = 1: ${result.cheapest_cost_per_1k:.6g})",
        f"mean predicted quality: {result.quality:.4f} (w = 0: {result.best_quality:.4f})",
        "mix:",
        *(
            f"  {name:<{width}}  {100 * share:6.2f} %  ({count} prompt{'' if count == 1 else 's'})"
            for name, share, count in zip(models.names, result.mix, result.counts, strict=True)
        ),
    ]
    print("\n".join(lines))
    return 0
