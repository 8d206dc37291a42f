"""Hook specifications: the only place plugins hook into routellm-core.

All hooks are *registration* hooks, called once when plugins load. Each one
receives a ``register`` callable; per-request work never goes through pluggy.
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("routellm")
hookimpl = pluggy.HookimplMarker("routellm")


@hookspec
def routellm_register_routers(register: Callable[..., None]) -> None:
    """Register routers: ``register(name, factory, description="", validate=None)``.

    ``factory(**kwargs) -> Router`` builds the router from its config keyword
    arguments and should import heavy libraries (torch, transformers) inside.
    """


@hookspec
def routellm_register_benchmarks(register: Callable[..., None]) -> None:
    """Register benchmarks: ``register(name, loader, description="")``."""


@hookspec
def routellm_register_embedders(register: Callable[..., None]) -> None:
    """Register text embedders: ``register(name, factory, description="")``."""


@hookspec
def routellm_register_trainers(register: Callable[..., None]) -> None:
    """Register router trainers for ``routellm train <name>``.

    ``register(name, add_arguments, run, description="")``: ``add_arguments``
    receives an ``argparse.ArgumentParser``; ``run(args) -> int`` trains.
    """
