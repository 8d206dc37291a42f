"""``routellm train <router> ...``: dispatch to a trainer registered by a plugin."""

from __future__ import annotations

import argparse
from typing import Callable

from ..errors import PluginError
from ..plugins import LoadError, get_registry
from .common import Subparsers


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser("train", help="train a router (trainers come from plugins)")
    trainers = parser.add_subparsers(dest="trainer", metavar="ROUTER")
    registry = get_registry()
    for name in registry.names("trainers"):
        reg = registry.get("trainers", name)
        trainer = trainers.add_parser(name, help=reg.description or f"train the {name} router")
        run = reg.factory  # a trainer registers run(args) as its factory
        try:
            if reg.add_arguments is not None:
                reg.add_arguments(trainer)
        except Exception as exc:  # a broken trainer must not break the other commands
            message = f"trainer {name!r} ({reg.distribution}): add_arguments failed: {type(exc).__name__}: {exc}"
            registry.errors.append(LoadError(reg.plugin, reg.distribution, message))
            run = _failing(message)
        trainer.set_defaults(_trainer=run)
    return parser


def _failing(message: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise PluginError(message)

    return run


def run(args: argparse.Namespace) -> int:
    trainer = getattr(args, "_trainer", None)
    if trainer is None:
        names = get_registry().names("trainers")
        print(
            "routellm train: choose a router to train: "
            + (", ".join(names) if names else "none installed (e.g. pip install routellm-mf)")
        )
        return 2
    return int(trainer(args) or 0)
