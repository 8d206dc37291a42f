"""``routellm train <router> ...``: dispatch to a trainer registered by a plugin."""

from __future__ import annotations

import argparse

from ..plugins import get_registry


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("train", help="train a router (trainers come from plugins)")
    trainers = parser.add_subparsers(dest="trainer", metavar="ROUTER")
    registry = get_registry()
    for name in registry.names("trainers"):
        reg = registry.get("trainers", name)
        trainer = trainers.add_parser(name, help=reg.description or f"train the {name} router")
        add_arguments = reg.extra.get("add_arguments")
        if add_arguments is not None:
            add_arguments(trainer)
        trainer.set_defaults(_trainer=reg.factory)
    return parser


def run(args: argparse.Namespace) -> int:
    trainer = getattr(args, "_trainer", None)
    if trainer is None:
        names = get_registry().names("trainers")
        print("routellm train: choose a router to train: " + (", ".join(names) if names else "none installed (e.g. pip install routellm-mf)"))
        return 2
    return int(trainer(args) or 0)
