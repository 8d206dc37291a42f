"""Hook specifications: the only place plugins hook into routellm-core.

All hooks are *registration* hooks, called once when plugins load. Each one
receives a ``register`` callable whose signature is one of the protocols below
(annotate your hook's ``register`` with it to have a type checker check your
calls); per-request work never goes through pluggy. ``tests/test_plugin_api.py``
checks that the signatures written in these docstrings are the ones the
registry implements.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, Protocol

import pluggy

if TYPE_CHECKING:
    import argparse

    from .config import PluginConfig
    from .embedders import Embedder
    from .evaluation.data import BenchmarkData
    from .router import Router

hookspec = pluggy.HookspecMarker("routellm")
hookimpl = pluggy.HookimplMarker("routellm")


class RegisterRouter(Protocol):
    def __call__(
        self, name: str, factory: Callable[..., Router], *, config: type[PluginConfig] | None = None, description: str = ""
    ) -> None:
        """Register the router ``name``: ``factory(config)`` builds it from its config-file settings.

        ``config``: a :class:`~routellm_core.config.PluginConfig` subclass, the one declaration of the
        router's settings. The settings are validated against it (types, constraints, unknown keys)
        before ``factory`` is called with the validated instance. Without it, ``factory(**settings)``
        receives the settings checked only against its signature.
        """


class RegisterEmbedder(Protocol):
    def __call__(
        self, name: str, factory: Callable[..., Embedder], *, config: type[PluginConfig] | None = None, description: str = ""
    ) -> None:
        """Register the text embedder ``name``; ``factory`` and ``config`` work as for routers."""


class RegisterBenchmark(Protocol):
    def __call__(self, name: str, loader: Callable[..., BenchmarkData], *, description: str = "") -> None:
        """Register the benchmark ``name``: ``loader(data_dir=None, *, download=None) -> BenchmarkData`` reads its files.

        ``download`` is optional: a loader that can fetch missing files takes it (``True``: fetch,
        ``False``: never, ``None``: as :func:`~routellm_core.evaluation.data.downloads_allowed` says,
        i.e. ``$ROUTELLM_DOWNLOAD``). A loader without it is called with ``data_dir`` only.
        """


class RegisterTrainer(Protocol):
    def __call__(
        self,
        name: str,
        *,
        add_arguments: Callable[[argparse.ArgumentParser], Any],
        run: Callable[[argparse.Namespace], int | None],
        description: str = "",
    ) -> None:
        """Register ``routellm train <name>``: ``add_arguments(parser)`` declares its options, ``run(args)`` trains
        and returns an exit status (``None`` counts as 0)."""


def lazy(target: str) -> Callable[..., Any]:
    """``"package.module:attribute"`` as a callable that imports the module only when it is called.

    Keeps a plugin's heavy imports (torch, transformers) out of plugin loading, e.g.
    ``register("mf", add_arguments=lazy("routellm_mf.train:add_arguments"), run=lazy("routellm_mf.train:run"))``.
    """
    module, _, attribute = target.partition(":")
    if not module or not attribute.isidentifier():
        raise ValueError(f"lazy() needs 'package.module:attribute', got {target!r}")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    call.__name__ = attribute
    call.__qualname__ = target
    call.__doc__ = f"``{target}``, imported when called."
    return call


@hookspec
def routellm_register_routers(register: RegisterRouter) -> None:
    """Register routers: ``register(name, factory, *, config=None, description="")``.

    ``factory(config) -> Router`` builds the router from its settings in the
    config file, validated first against ``config`` (a ``PluginConfig``
    subclass). Keep the plugin module light: register ``lazy("pkg.module:Router")``
    so heavy libraries (torch, transformers) load when the router is built.
    """


@hookspec
def routellm_register_benchmarks(register: RegisterBenchmark) -> None:
    """Register benchmarks: ``register(name, loader, *, description="")``.

    ``loader(data_dir=None, *, download=None) -> BenchmarkData`` reads the benchmark's files;
    ``download`` (``routellm eval --download``) is passed only to loaders that declare it.
    """


@hookspec
def routellm_register_embedders(register: RegisterEmbedder) -> None:
    """Register text embedders: ``register(name, factory, *, config=None, description="")``.

    ``factory(config) -> Embedder``, with settings validated against
    ``config`` as for routers.
    """


@hookspec
def routellm_register_trainers(register: RegisterTrainer) -> None:
    """Register router trainers for ``routellm train <name>``: ``register(name, *, add_arguments, run, description="")``.

    ``add_arguments(parser)`` adds the trainer's options to an
    ``argparse.ArgumentParser``; ``run(args) -> int`` trains and returns the
    exit status.
    """
