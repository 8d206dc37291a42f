"""YAML configuration: top-level keys are router names, values their keyword arguments.

Secrets stay out of files: a string value ``${VAR}`` (or ``${VAR:-default}``)
is replaced by the environment variable ``VAR``; a missing variable without a
default is a ConfigError naming it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any, *, where: str = "config") -> Any:
    """Recursively replace ``${VAR}`` references in strings with environment values."""
    if isinstance(value, str):
        def substitute(match: re.Match) -> str:
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
