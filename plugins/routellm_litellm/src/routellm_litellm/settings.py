"""The ``callback_settings.routellm`` block of a LiteLLM proxy config, validated.

```yaml
callback_settings:
  routellm:
    routers: [mf]              # routers to build when the proxy starts
    strong_model: strong       # model_name of a model group in model_list
    weak_model: weak
    config: routellm.yaml      # optional: {router: kwargs} inline, or a path to a routellm config file
    routing_policy: last_user  # optional: or "conversation"
    models:                    # optional: model names of your own for a router at a threshold
      smart: router-mf-0.116
      thrifty: {router: mf, threshold: 0.3}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from routellm_core.plugin_api import (
    MODEL_PREFIX,
    ConfigError,
    RoutingError,
    check_policy,
    expand_env,
    load_config,
    parse_model_name,
    validate_threshold,
)

SECTION = "callback_settings.routellm"
_KEYS = ("routers", "strong_model", "weak_model", "config", "routing_policy", "models")


@dataclass(frozen=True)
class RouterSettings:
    """What the hook needs: routers to build, the two model groups, named routed models."""

    routers: tuple[str, ...]
    strong_model: str
    weak_model: str
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    routing_policy: str = "last_user"
    #: model name -> (router, threshold), for names other than ``router-<router>-<threshold>``
    models: Mapping[str, tuple[str, float]] = field(default_factory=dict)


def parse_settings(raw: Any, *, source: str = SECTION) -> RouterSettings:
    """Validate the mapping under ``callback_settings.routellm``; raise ConfigError naming the field."""
    if raw is None:
        raise ConfigError(f"{source} is missing: the routellm hook needs at least routers, strong_model and weak_model")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source} must be a mapping, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(_KEYS)}")
    raw = expand_env(dict(raw), where=source)

    routers = raw.get("routers")
    if isinstance(routers, str):
        routers = [routers]
    if not isinstance(routers, list) or not routers or not all(isinstance(r, str) and r for r in routers):
        raise ConfigError(f"{source}.routers must be a router name or a non-empty list of them, got {routers!r}")

    groups = {}
    for key in ("strong_model", "weak_model"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}.{key} must be the model_name of a model group in model_list, got {value!r}")
        groups[key] = value
    if groups["strong_model"] == groups["weak_model"]:
        raise ConfigError(f"{source}: strong_model and weak_model are both {groups['strong_model']!r}")

    try:
        policy = check_policy(raw.get("routing_policy", "last_user"))
    except RoutingError as exc:
        raise ConfigError(f"{source}.routing_policy: {exc}") from None

    return RouterSettings(
        routers=tuple(dict.fromkeys(routers)),
        strong_model=groups["strong_model"],
        weak_model=groups["weak_model"],
        config=_router_config(raw.get("config"), f"{source}.config"),
        routing_policy=policy,
        models=_named_models(raw.get("models"), routers, groups, f"{source}.models"),
    )


def _router_config(value: Any, where: str) -> Mapping[str, Mapping[str, Any]]:
    if value is None:
        return {}
    if isinstance(value, (str, Path)):
        path = Path(value).expanduser()
        if not path.is_file():
            cwd = f" (a relative path is read from the proxy's working directory, {Path.cwd()})"
            where_from = "" if path.is_absolute() else cwd
            raise ConfigError(
                f"{where}: routellm config file {str(value)!r} not found{where_from}; create it (router name -> settings, "
                "e.g. 'mf: {checkpoint: ...}') or remove the config key to use each router's defaults"
            )
        try:
            return load_config(path)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must map router names to their settings, or be a path to a routellm config file")
    config: dict[str, Mapping[str, Any]] = {}
    for name, kwargs in value.items():
        if kwargs is None:
            kwargs = {}
        if not isinstance(name, str) or not isinstance(kwargs, Mapping):
            raise ConfigError(f"{where}.{name}: the settings of a router must be a mapping, got {type(kwargs).__name__}")
        config[name] = dict(kwargs)
    return config


def _named_models(value: Any, routers: list[str], groups: dict[str, str], where: str) -> dict[str, tuple[str, float]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must map model names to 'router-<router>-<threshold>' or {{router, threshold}}")
    models: dict[str, tuple[str, float]] = {}
    for name, target in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: model names must be non-empty strings, got {name!r}")
        if name.startswith(MODEL_PREFIX):
            raise ConfigError(f"{where}.{name}: names starting with {MODEL_PREFIX!r} are routed by their own threshold already")
        if name in groups.values():
            raise ConfigError(f"{where}.{name}: is also the strong or weak model group")
        try:
            if isinstance(target, str):
                router, threshold = parse_model_name(target)
            elif isinstance(target, Mapping) and set(target) == {"router", "threshold"}:
                router, threshold = target["router"], validate_threshold(target["threshold"])
            else:
                raise ConfigError(f"{where}.{name} must be 'router-<router>-<threshold>' or {{router: ..., threshold: ...}}")
        except RoutingError as exc:
            raise ConfigError(f"{where}.{name}: {exc}") from None
        if router not in routers:
            raise ConfigError(f"{where}.{name}: router {router!r} is not in routers ({', '.join(routers)})")
        models[name] = (router, threshold)
    return models
