"""Plugin loading: built-in plugins plus entry points in the ``routellm`` group.

Loading is isolated per plugin: one that fails to import or to register is
recorded (name, distribution, error) and the others still load. Two plugins
claiming one name is recorded as an error naming both distributions; the first
registration wins. ``ROUTELLM_PLUGINS`` (comma-separated entry-point or
distribution names) restricts which external plugins load; set it to an empty
string to load none.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import importlib_metadata
import pluggy

from . import hookspecs
from .errors import ConfigError, MissingDependencyError, PluginError, RoutingError

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
    factory: Callable[..., Any]
    plugin: str
    distribution: str
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


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
            self._register_module(short, CORE_DISTRIBUTION, _core_version(), lambda m=module_name: importlib.import_module(m))
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
                LoadError(name, dist, f"needs the module {missing!r}, which is not installed (pip install {missing.split('.')[0]})")
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
                register = self._make_register(kind, plugin_name, dist, infos.get(plugin_name))
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self.errors.append(LoadError(plugin_name, dist, f"{impl.function.__name__} failed: {type(exc).__name__}: {exc}"))
        self.plugins = list(infos.values())

    def _make_register(self, kind: str, plugin: str, dist: str, info: PluginInfo | None) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], description: str = "", **extra: Any) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"{kind[:-1]} names must be non-empty strings, got {name!r}")
            if not callable(factory):
                raise PluginError(f"{kind[:-1]} {name!r}: factory must be callable")
            existing = self.items[kind].get(name)
            if existing is not None:
                self.errors.append(
                    LoadError(
                        plugin,
                        dist,
                        f"{kind[:-1]} name {name!r} is claimed by both {existing.distribution} "
                        f"(plugin {existing.plugin!r}) and {dist} (plugin {plugin!r}); keeping {existing.distribution}",
                    )
                )
                return
            self.items[kind][name] = Registration(kind, name, factory, plugin, dist, description, dict(extra))
            if info is not None:
                info.registered.setdefault(kind, []).append(name)

        return register

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

    def create_router(self, name: str, config: dict[str, Any] | None = None):
        """Validate ``config`` against the router's factory, then build the router."""
        from .router import Router

        reg = self.get("routers", name)
        kwargs = dict(config or {})
        _check_kwargs(reg, kwargs)
        validate = reg.extra.get("validate")
        if validate is not None:
            try:
                validate(kwargs)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"invalid config for router {name!r}: {exc}") from None
        try:
            router = reg.factory(**kwargs)
        except MissingDependencyError:
            raise
        except ModuleNotFoundError as exc:
            missing = (exc.name or str(exc)).split(".")[0]
            raise MissingDependencyError(missing, f"router {name!r} ({reg.distribution})") from None
        except (ValueError, TypeError, FileNotFoundError) as exc:
            raise ConfigError(f"cannot build router {name!r}: {exc}") from exc
        if not isinstance(router, Router):
            raise PluginError(f"router {name!r} from {reg.distribution}: factory returned {type(router).__name__}, not a Router")
        router.name = name
        return router


def _check_kwargs(reg: Registration, kwargs: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(reg.factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        accepted = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
        raise ConfigError(
            f"invalid config for {reg.kind[:-1]} {reg.name!r}: {exc}; accepted keys: {', '.join(accepted) or 'none'}"
        ) from None


def _allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points():
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
