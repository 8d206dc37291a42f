"""Configuration: YAML files of router settings, and the models that validate a plugin's settings.

A config file's top-level keys are router names, values their keyword arguments.
Secrets stay out of files: a string value ``${VAR}`` (or ``${VAR:-default}``)
is replaced by the environment variable ``VAR``; a missing variable without a
default is a ConfigError naming it.

A router or embedder declares the settings it accepts as a :class:`PluginConfig`
subclass; :func:`validate_settings` checks settings against it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any, *, where: str = "config") -> Any:
    """Recursively replace ``${VAR}`` references in strings with environment values."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{where} refers to the environment variable {name}, which is not set")

        return _ENV_RE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: expand_env(v, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, where=where) for v in value]
    return value


def parse_config(text: str, *, source: str = "config") -> dict[str, dict[str, Any]]:
    """Parse YAML text into ``{router_name: kwargs}`` (``yaml.safe_load`` only)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must map router names to their settings, got {type(data).__name__}")
    config: dict[str, dict[str, Any]] = {}
    for name, kwargs in data.items():
        if not isinstance(name, str):
            raise ConfigError(f"{source}: router names must be strings, got {name!r}")
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, dict):
            raise ConfigError(f"{source}: settings of router {name!r} must be a mapping, got {type(kwargs).__name__}")
        for key in kwargs:
            if not isinstance(key, str):
                raise ConfigError(f"{source}: router {name!r} has a non-string key {key!r}")
        config[name] = expand_env(kwargs, where=f"{source}: {name}")
    return config


def load_config(path: str | os.PathLike[str] | None) -> dict[str, dict[str, Any]]:
    """Read a YAML config file; ``None`` gives an empty config."""
    if path is None:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(p)!r}: {exc.strerror or exc}") from None
    return parse_config(text, source=str(p))


class PluginConfig(BaseModel):
    """The settings a router or embedder accepts, their defaults and their checks: the one declaration of them.

    Register it with the factory (``register(name, factory, config=MyConfig)``): the registry validates a
    config file's settings against it and calls ``factory(validated)`` with the instance, so neither the
    factory nor the router lists the fields again.

    Validation is strict (a YAML ``7`` is an int, ``"7"`` is not; an int is accepted for a float),
    NaN and infinities are rejected, and so are unknown keys (set ``model_config["extra"] = "allow"``
    in a subclass to pass further keys through to the factory). Constraints go in ``Field(...)``,
    checks across fields in a ``model_validator``; raise ``ValueError`` with a message for the user.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


C = TypeVar("C", bound=PluginConfig)


def validate_config(model: type[C], settings: Mapping[str, Any] | None, *, what: str) -> C:
    """Validate ``settings`` against ``model``: the validated instance, or a ConfigError naming every problem.

    ``what`` names the thing configured in messages, e.g. ``router 'mf'``.
    """
    try:
        return model.model_validate(dict(settings or {}))
    except ValidationError as exc:
        problems = "; ".join(_describe_error(model, err) for err in exc.errors(include_url=False))
        accepted = ", ".join(model.model_fields) or "none"
        if model.model_config.get("extra") == "allow":
            accepted += ", and others (passed on as they are)"
        raise ConfigError(f"invalid config for {what}: {problems}; accepted keys: {accepted}") from None


def config_items(config: PluginConfig) -> dict[str, Any]:
    """Every setting of a validated model by name: its fields (defaults filled in), then any extra keys."""
    items = {name: getattr(config, name) for name in type(config).model_fields}
    items.update(config.model_extra or {})
    return items


def validate_settings(model: type[PluginConfig], settings: Mapping[str, Any] | None, *, what: str) -> dict[str, Any]:
    """:func:`validate_config`, as every setting by name (see :func:`config_items`)."""
    return config_items(validate_config(model, settings, what=what))


def _describe_error(model: type[PluginConfig], err: Any) -> str:
    loc = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key {loc!r}"
    if err["type"] == "missing":
        return f"missing key {loc!r}"
    message = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # a model validator: the message says which keys
        return message
    field = model.model_fields.get(str(err["loc"][0]))
    if field is not None and ("SecretStr" in repr(field.annotation) or "SecretBytes" in repr(field.annotation)):
        return f"{loc}: {message}"  # never echo a secret
    shown = repr(err.get("input"))
    return f"{loc}: {message} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
