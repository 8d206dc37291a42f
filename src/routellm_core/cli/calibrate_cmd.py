"""``routellm calibrate --router R --strong-fraction P --prompts FILE``."""

from __future__ import annotations

import argparse
import json
import sys

from ..prompts_io import read_prompts
from ..threshold import calibrate_threshold, format_model_name, strong_fraction
from .common import add_router_config_argument, build_router, fraction


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("calibrate", help="threshold that sends a given fraction of your prompts to the strong model")
    parser.add_argument("--router", required=True, help="router name")
    parser.add_argument("--strong-fraction", required=True, type=fraction, help="target fraction of strong calls, in [0, 1]")
    parser.add_argument("--prompts", required=True, metavar="FILE", help="JSONL, CSV or text file (one prompt per line)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_router_config_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        prompts = read_prompts(args.prompts)
    except ValueError as exc:
        print(f"routellm calibrate: error: {exc}", file=sys.stderr)
        return 2
    router = build_router(args.router, args.config)
    scores = router.score_checked(prompts)
    threshold = calibrate_threshold(scores, args.strong_fraction)
    achieved = strong_fraction(scores, threshold)
    result = {
        "router": args.router,
        "prompts": len(prompts),
        "target_strong_fraction": args.strong_fraction,
        "threshold": threshold,
        "strong_fraction_on_sample": achieved,
        "model": format_model_name(args.router, threshold),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"threshold: {threshold!r}")
        print(f"model name: {result['model']}")
        print(f"strong fraction on these {len(prompts)} prompts: {achieved:.4f} (target {args.strong_fraction:g})")
    return 0
