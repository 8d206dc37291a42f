"""``routellm calibrate --router R --strong-fraction P --prompts FILE [--labelled FILE]``.

With ``--prompts``: the threshold that sends at least ``P`` of these prompts to
the strong model, and a bootstrap interval for the strong fraction that the
threshold will give on traffic like the sample. With ``--labelled`` (a file in
the ``routellm eval --benchmark file:PATH`` format: a prompt column and one
score column per model): the threshold that maximises mean quality while
sending at most ``P`` of those prompts to the strong model.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from ..prompts_io import read_prompts
from ..threshold import calibrate_threshold, format_model_name, strong_fraction
from .common import Subparsers, add_router_config_argument, build_router, fraction, non_negative_int


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser("calibrate", help="threshold that sends a given fraction of your prompts to the strong model")
    parser.add_argument("--router", required=True, help="router name")
    parser.add_argument(
        "--strong-fraction",
        required=True,
        type=fraction,
        help="target fraction of strong calls, in [0, 1] (with --labelled: the strong-call budget)",
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
