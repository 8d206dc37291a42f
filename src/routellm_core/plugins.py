"""Plugin loading: built-in plugins plus entry points in the ``routellm`` group.

Loading is isolated per plugin: one that fails to import or to register is
recorded (name, distribution, error) and the others still load. Two plugins
claiming one name is recorded as an error naming both distributions; the first
registration wins. ``ROUTELLM_PLUGINS`` (comma-separated entry-point or
distribution names) restricts which external plugins load; set it to an empty
string to load none.

Routers and embedders are built through the registry (:meth:`PluginRegistry.create_router`,
:meth:`PluginRegistry.create_embedder`), which validates their settings before
their factory is called: a factory registered with a settings model receives the
validated model instance.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import importlib_metadata
import pluggy

from . import hookspecs
from .config import PluginConfig, config_items, validate_config
from .errors import ConfigError, MissingDependencyError, PluginError, RoutingError

if TYPE_CHECKING:
    import argparse

    from .embedders import Embedder
    from .evaluation.data import BenchmarkData
    from .router import Router

ENTRY_POINT_GROUP = "routellm"
ALLOW_LIST_ENV = "ROUTELLM_PLUGINS"
CORE_DISTRIBUTION = "routellm-core"

#: modules of the plugins that ship with the core; they register like external ones
DEFAULT_PLUGINS: tuple[str, ...] = (
    "routellm_core.default_plugins.random_router",
    "routellm_core.default_plugins.litellm_embedder",
    "routellm_core.default_plugins.benchmarks",
    "routellm_core.default_plugins.length_router",
)

KINDS = ("routers", "benchmarks", "embedders", "trainers")
_HOOK_FOR_KIND = {
    "routers": "routellm_register_routers",
    "benchmarks": "routellm_register_benchmarks",
    "embedders": "routellm_register_embedders",
    "trainers": "routellm_register_trainers",
}


@dataclass
class Registration:
    """One thing (router, benchmark, embedder, trainer) a plugin registered."""

    kind: str
    name: str
    #: what builds or runs it: a router's or embedder's factory, a benchmark's loader, a trainer's ``run``
    factory: Callable[..., Any]
    plugin: str
    distribution: str
    description: str = ""
    #: the settings model of a router or embedder (None: settings are checked against the factory's signature)
    config: type[PluginConfig] | None = None
    #: a trainer's ``add_arguments(parser)``
    add_arguments: Callable[[argparse.ArgumentParser], Any] | None = None


@dataclass
class PluginInfo:
    """A loaded plugin as shown by ``routellm plugins``."""

    name: str
    distribution: str
    version: str
    hooks: list[str]
    registered: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class LoadError:
    """A plugin (or one of its registrations) that failed."""

    plugin: str
    distribution: str
    error: str


class PluginRegistry:
    """Everything the installed plugins registered, plus what failed."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("routellm")
        self.pm.add_hookspecs(hookspecs)
        self.items: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self.plugins: list[PluginInfo] = []
        self.errors: list[LoadError] = []
        self._sources: dict[str, tuple[str, str]] = {}

    # -- loading -------------------------------------------------------------
    def load(self, *, entry_points: bool = True) -> "PluginRegistry":
        for module_name in DEFAULT_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            self._register_module(
                short, CORE_DISTRIBUTION, _core_version(), functools.partial(importlib.import_module, module_name)
            )
        if entry_points:
            allowed = _allow_list()
            for ep in _entry_points():
                dist = ep.dist.name if ep.dist is not None else "unknown"
                version = ep.dist.version if ep.dist is not None else "?"
                if allowed is not None and ep.name not in allowed and dist not in allowed:
                    continue
                self._register_module(ep.name, dist, version, ep.load)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.errors.append(LoadError("?", "?", f"unknown hook: {exc}"))
        self._collect()
        return self

    def _register_module(self, name: str, dist: str, version: str, load: Callable[[], Any]) -> None:
        try:
            module = load()
        except ModuleNotFoundError as exc:
            missing = exc.name or str(exc)
            self.errors.append(
                LoadError(
                    name, dist, f"needs the module {missing!r}, which is not installed (pip install {missing.split('.')[0]})"
                )
            )
            return
        except Exception as exc:  # a broken plugin must not stop the others
            self.errors.append(LoadError(name, dist, f"{type(exc).__name__}: {exc}"))
            return
        if self.pm.is_registered(module) or self.pm.has_plugin(name):
            self.errors.append(LoadError(name, dist, f"a plugin named {name!r} is already loaded"))
            return
        try:
            self.pm.register(module, name=name)
        except Exception as exc:
            self.errors.append(LoadError(name, dist, f"{type(exc).__name__}: {exc}"))
            return
        self._sources[name] = (dist, version)

    def _collect(self) -> None:
        infos: dict[str, PluginInfo] = {}
        for plugin_name, (dist, version) in self._sources.items():
            plugin = self.pm.get_plugin(plugin_name)
            hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
            infos[plugin_name] = PluginInfo(plugin_name, dist, version, hooks)
        for kind in KINDS:
            caller = getattr(self.pm.hook, _HOOK_FOR_KIND[kind])
            for impl in caller.get_hookimpls():  # registration order: built-ins first
                plugin_name = impl.plugin_name
                dist, _ = self._sources.get(plugin_name, ("unknown", "?"))
                register = self.registrars(plugin_name, dist, infos.get(plugin_name))[kind]
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self.errors.append(
                        LoadError(plugin_name, dist, f"{impl.function.__name__} failed: {type(exc).__name__}: {exc}")
                    )
        self.plugins = list(infos.values())

    def registrars(self, plugin: str, dist: str, info: PluginInfo | None = None) -> dict[str, Callable[..., None]]:
        """The ``register`` callables handed to a plugin's hooks, by kind (signatures: see :mod:`.hookspecs`)."""

        def add(reg: Registration) -> None:
            existing = self.items[reg.kind].get(reg.name)
            if existing is not None:
                self.errors.append(
                    LoadError(
                        plugin,
                        dist,
                        f"{reg.kind[:-1]} name {reg.name!r} is claimed by both {existing.distribution} "
                        f"(plugin {existing.plugin!r}) and {dist} (plugin {plugin!r}); keeping {existing.distribution}",
                    )
                )
                return
            self.items[reg.kind][reg.name] = reg
            if info is not None:
                info.registered.setdefault(reg.kind, []).append(reg.name)

        def register_router(
            name: str, factory: Callable[..., Router], *, config: type[PluginConfig] | None = None, description: str = ""
        ) -> None:
            _check_registration("routers", name, description, {"factory": factory}, config)
            add(Registration("routers", name, factory, plugin, dist, description, config=config))

        def register_embedder(
            name: str, factory: Callable[..., Embedder], *, config: type[PluginConfig] | None = None, description: str = ""
        ) -> None:
            _check_registration("embedders", name, description, {"factory": factory}, config)
            add(Registration("embedders", name, factory, plugin, dist, description, config=config))

        def register_benchmark(name: str, loader: Callable[..., BenchmarkData], *, description: str = "") -> None:
            _check_registration("benchmarks", name, description, {"loader": loader})
            add(Registration("benchmarks", name, loader, plugin, dist, description))

        def register_trainer(
            name: str,
            *,
            add_arguments: Callable[[argparse.ArgumentParser], Any],
            run: Callable[[argparse.Namespace], int | None],
            description: str = "",
        ) -> None:
            _check_registration("trainers", name, description, {"add_arguments": add_arguments, "run": run})
            add(Registration("trainers", name, run, plugin, dist, description, add_arguments=add_arguments))

        return {
            "routers": register_router,
            "embedders": register_embedder,
            "benchmarks": register_benchmark,
            "trainers": register_trainer,
        }

    # -- lookup ----------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self.items[kind])

    def get(self, kind: str, name: str) -> Registration:
        try:
            return self.items[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            hint = ""
            failed = [e for e in self.errors if name in (e.plugin, e.distribution) or name in e.error]
            if failed:
                hint = f"; plugin {failed[0].plugin!r} ({failed[0].distribution}) failed to load: {failed[0].error}"
            raise RoutingError(f"unknown {kind[:-1]} {name!r}; available: {known}{hint}") from None

    def validated_settings(self, kind: str, name: str, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate a router's or embedder's settings: every setting by name (defaults filled in), or a ConfigError.

        Nothing of the plugin beyond its registration is imported or built.
        """
        validated = self.validated_config(kind, name, settings)
        return config_items(validated) if isinstance(validated, PluginConfig) else validated

    def validated_config(self, kind: str, name: str, settings: Mapping[str, Any] | None = None) -> PluginConfig | dict[str, Any]:
        """What the factory receives: the validated settings model, or (registered without one) the settings
        checked against the factory's signature. A ConfigError names what is wrong."""
        reg = self.get(kind, name)
        what = f"{kind[:-1]} {name!r}"
        if reg.config is not None:
            return validate_config(reg.config, settings, what=what)
        kwargs = dict(settings or {})
        _check_signature(reg.factory, kwargs, what)
        return kwargs

    def create_router(self, name: str, settings: Mapping[str, Any] | None = None) -> Router:
        """Validate ``settings`` (the router's section of the config), then build the router."""
        from .router import Router

        router: Router = self._build("routers", name, settings, Router)
        router.name = name
        return router

    def create_embedder(self, name: str, settings: Mapping[str, Any] | None = None) -> Embedder:
        """Validate ``settings``, then build the embedder."""
        from .embedders import Embedder

        embedder: Embedder = self._build("embedders", name, settings, Embedder)
        return embedder

    def _build(self, kind: str, name: str, settings: Mapping[str, Any] | None, base: type) -> Any:
        validated = self.validated_config(kind, name, settings)
        reg = self.get(kind, name)
        what = f"{kind[:-1]} {name!r}"
        try:
            built = reg.factory(validated) if isinstance(validated, PluginConfig) else reg.factory(**validated)
        except MissingDependencyError:
            raise
        except ModuleNotFoundError as exc:
            missing = (exc.name or str(exc)).split(".")[0]
            raise MissingDependencyError(missing, f"{what} ({reg.distribution})") from None
        except (ValueError, TypeError, FileNotFoundError) as exc:
            raise ConfigError(f"cannot build {what}: {exc}") from exc
        if not isinstance(built, base):
            raise PluginError(f"{what} from {reg.distribution}: factory returned {type(built).__name__}, not a {base.__name__}")
        return built


def _check_registration(
    kind: str, name: object, description: object, callables: dict[str, object], config: object = None
) -> None:
    what = kind[:-1]
    if not isinstance(name, str) or not name:
        raise PluginError(f"{what} names must be non-empty strings, got {name!r}")
    for label, value in callables.items():
        if not callable(value):
            raise PluginError(f"{what} {name!r}: {label} must be callable, got {type(value).__name__}")
    if config is not None and not (isinstance(config, type) and issubclass(config, PluginConfig)):
        raise PluginError(f"{what} {name!r}: config must be a PluginConfig subclass, got {config!r}")
    if not isinstance(description, str):
        raise PluginError(f"{what} {name!r}: description must be a string, got {type(description).__name__}")


def _check_signature(factory: Callable[..., Any], kwargs: dict[str, Any], what: str) -> None:
    """For factories registered without a settings model: the settings must bind to the factory's signature."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        accepted = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
        raise ConfigError(f"invalid config for {what}: {exc}; accepted keys: {', '.join(accepted) or 'none'}") from None


def _allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> list[importlib_metadata.EntryPoint]:
    return sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _core_version() -> str:
    from . import __version__

    return __version__


_registry: PluginRegistry | None = None
_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = PluginRegistry().load()
        return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (next :func:`get_registry` loads again)."""
    global _registry
    with _lock:
        _registry = None
