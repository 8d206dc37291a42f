"""routellm-core: serve, train and evaluate LLM routers as plugins."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .errors import ConfigError, MissingDependencyError, PluginError, RoutellmError, RoutingError
from .router import Router, RoutingDecision
from .threshold import calibrate_threshold, format_model_name, parse_model_name, route_strong

__all__ = [
    "__version__",
    "Router",
    "RoutingDecision",
    "RoutingError",
    "ConfigError",
    "PluginError",
    "MissingDependencyError",
    "RoutellmError",
    "calibrate_threshold",
    "format_model_name",
    "parse_model_name",
    "route_strong",
    "Controller",
]


def __getattr__(name: str) -> Any:
    if name == "Controller":  # keeps `import routellm_core` free of litellm
        from .controller import Controller

        return Controller
    raise AttributeError(name)
