"""``routellm plugins``: what is installed, what it registers, what failed."""

from __future__ import annotations

import argparse
import json

from ..plugins import KINDS, get_registry
from .common import Subparsers


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    parser = sub.add_parser("plugins", help="list installed plugins, what they register and load errors")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON instead of a table (with each router's and embedder's settings as JSON schema)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    registry = get_registry()
    if args.json:
        data = {
            "plugins": [
                {
                    "name": p.name,
                    "distribution": p.distribution,
                    "version": p.version,
                    "hooks": p.hooks,
                    "registered": p.registered,
                }
                for p in registry.plugins
            ],
            "registrations": [
                {
                    "kind": kind,
                    "name": name,
                    "plugin": reg.plugin,
                    "distribution": reg.distribution,
                    "description": reg.description,
                    "settings_schema": reg.config.model_json_schema() if reg.config is not None else None,
                }
                for kind in KINDS
                for name in registry.names(kind)
                for reg in [registry.get(kind, name)]
            ],
            "errors": [{"plugin": e.plugin, "distribution": e.distribution, "error": e.error} for e in registry.errors],
        }
        print(json.dumps(data, indent=2))
        return 0
    for p in registry.plugins:
        print(f"{p.name}  ({p.distribution} {p.version})")
        print(f"  hooks: {', '.join(p.hooks) or '-'}")
        for kind in KINDS:
            if p.registered.get(kind):
                print(f"  {kind}: {', '.join(p.registered[kind])}")
    if registry.errors:
        print("\nload errors:")
        for e in registry.errors:
            print(f"  {e.plugin} ({e.distribution}): {e.error}")
    return 0
