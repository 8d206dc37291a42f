"""``routellm route "<prompt>" --router R --threshold T``."""

from __future__ import annotations

import argparse
import json

from ..threshold import route_strong, validate_threshold
from .common import Subparsers, add_router_config_argument, build_router


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser("route", help="score one prompt and print the model it goes to")
    parser.add_argument("prompt", help="the prompt to route")
    parser.add_argument("--router", required=True, help="router name (see `routellm plugins`)")
    parser.add_argument("--threshold", required=True, help="route to strong iff score >= threshold, in [0, 1]")
    parser.add_argument("--strong-model", default="strong", help="name printed for the strong model")
    parser.add_argument("--weak-model", default="weak", help="name printed for the weak model")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_router_config_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    threshold = validate_threshold(args.threshold)
    router = build_router(args.router, args.config)
    score = float(router.score_checked([args.prompt])[0])
    strong = route_strong(score, threshold)
    model = args.strong_model if strong else args.weak_model
    if args.json:
        print(json.dumps({"router": args.router, "threshold": threshold, "score": score, "strong": strong, "model": model}))
    else:
        print(f"model: {model}")
        print(f"score: {score:.6f} (threshold {threshold:g}; strong iff score >= threshold)")
    return 0
