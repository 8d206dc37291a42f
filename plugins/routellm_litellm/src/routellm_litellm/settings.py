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

N-model routing: ``model_groups`` (instead of ``strong_model`` and ``weak_model``) lists the model
groups a routed request may go to, each with the router's name for it and its price (see
:mod:`routellm_litellm.groups`); ``router-<router>-<w>`` then routes with the cost knob ``w`` and
``router-<router>-q<level>`` to the cheapest group predicted at least ``level``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from routellm_core.plugin_api import (
    KNOB,
    MODEL_PREFIX,
    QUALITY_FLOOR,
    ConfigError,
    RoutingError,
    check_policy,
    expand_env,
    format_nmodel_name,
    load_config,
    parse_model_name,
    parse_nmodel_name,
    validate_knob,
    validate_quality_level,
    validate_threshold,
)

from .groups import DEFAULT_EXPECTED_OUTPUT_TOKENS, ModelGroup, parse_groups

SECTION = "callback_settings.routellm"
_KEYS = (
    "routers",
    "strong_model",
    "weak_model",
    "model_groups",
    "expected_output_tokens",
    "config",
    "routing_policy",
    "models",
)


@dataclass(frozen=True)
class RouterSettings:
    """What the hook needs: routers to build, the model groups (two, or a list of N), named routed models."""

    routers: tuple[str, ...]
    strong_model: str | None
    weak_model: str | None
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    routing_policy: str = "last_user"
    #: two models: model name -> (router, threshold), for names other than ``router-<router>-<threshold>``
    models: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    #: N-model routing: the model groups routed among (empty: two-model routing)
    groups: tuple[ModelGroup, ...] = ()
    #: N-model routing: output tokens a request is expected to produce, for its expected cost
    expected_output_tokens: int = DEFAULT_EXPECTED_OUTPUT_TOKENS
    #: N-model routing: model name -> the ``router-<router>-<w>`` or ``router-<router>-q<level>`` name it stands for
    routes: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_model(self) -> bool:
        """True when requests are routed among ``model_groups`` with the cost knob."""
        return bool(self.groups)

    @property
    def named_models(self) -> frozenset[str]:
        """The model names of the user's own that the hook routes."""
        return frozenset(self.routes) | frozenset(self.models)


def parse_settings(raw: Any, *, source: str = SECTION, model_list: Any = None) -> RouterSettings:
    """Validate the mapping under ``callback_settings.routellm``; raise ConfigError naming the field.

    ``model_list`` is the proxy's (when known): ``model_groups`` must name its groups, and prices missing
    from the settings come from its deployments or litellm's cost map.
    """
    if raw is None:
        raise ConfigError(
            f"{source} is missing: the routellm hook needs at least routers, and strong_model and weak_model or model_groups"
        )
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
    if "model_groups" in raw:
        return _n_model_settings(raw, routers, source, model_list)
    if "expected_output_tokens" in raw:
        raise ConfigError(f"{source}.expected_output_tokens: only used with model_groups (N-model routing)")

    groups = {}
    for key in ("strong_model", "weak_model"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{source}.{key} must be the model_name of a model group in model_list, got {value!r} "
                "(or list model_groups instead of strong_model and weak_model, to route among N groups)"
            )
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


def _n_model_settings(raw: Mapping[str, Any], routers: list[str], source: str, model_list: Any) -> RouterSettings:
    both = [k for k in ("strong_model", "weak_model") if k in raw]
    if both:
        raise ConfigError(
            f"{source}: give model_groups (N-model routing) or strong_model and weak_model (two groups), not both; "
            f"remove {' and '.join(both)}"
        )
    try:
        policy = check_policy(raw.get("routing_policy", "last_user"))
    except RoutingError as exc:
        raise ConfigError(f"{source}.routing_policy: {exc}") from None
    groups = parse_groups(raw.get("model_groups"), model_list, f"{source}.model_groups")
    tokens = raw.get("expected_output_tokens", DEFAULT_EXPECTED_OUTPUT_TOKENS)
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
        raise ConfigError(f"{source}.expected_output_tokens must be a positive integer, got {tokens!r}")
    return RouterSettings(
        routers=tuple(dict.fromkeys(routers)),
        strong_model=None,
        weak_model=None,
        config=_router_config(raw.get("config"), f"{source}.config"),
        routing_policy=policy,
        groups=groups,
        expected_output_tokens=tokens,
        routes=_named_routes(raw.get("models"), routers, {g.group for g in groups}, f"{source}.models"),
    )


def _named_routes(value: Any, routers: list[str], groups: set[str], where: str) -> dict[str, str]:
    """N-model named models: name -> ``router-<router>-<w>`` or ``router-<router>-q<level>``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where} must map model names to 'router-<router>-<w>', 'router-<router>-q<level>', "
            "{router, knob} or {router, min_quality}"
        )
    routes: dict[str, str] = {}
    for name, target in value.items():
        _check_name(name, groups, where, "a model group in model_groups")
        try:
            if isinstance(target, str):
                router, policy, number = parse_nmodel_name(target)
            elif isinstance(target, Mapping) and set(target) == {"router", "knob"}:
                router, policy, number = str(target["router"]), KNOB, validate_knob(target["knob"])
            elif isinstance(target, Mapping) and set(target) == {"router", "min_quality"}:
                router, policy, number = str(target["router"]), QUALITY_FLOOR, validate_quality_level(target["min_quality"])
            else:
                raise ConfigError(
                    f"{where}.{name} must be 'router-<router>-<w>', 'router-<router>-q<level>', {{router: ..., knob: ...}} "
                    f"or {{router: ..., min_quality: ...}}, got {target!r}"
                )
        except RoutingError as exc:
            raise ConfigError(f"{where}.{name}: {exc}") from None
        if router not in routers:
            raise ConfigError(f"{where}.{name}: router {router!r} is not in routers ({', '.join(routers)})")
        routes[name] = format_nmodel_name(router, policy, number)
    return routes


def _check_name(name: Any, groups: set[str], where: str, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: model names must be non-empty strings, got {name!r}")
    if name.startswith(MODEL_PREFIX):
        raise ConfigError(f"{where}.{name}: names starting with {MODEL_PREFIX!r} are routed by their own number already")
    if name in groups:
        raise ConfigError(f"{where}.{name}: is also {what}")


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
