"""Exception types shared by the whole framework."""

from __future__ import annotations


class RoutellmError(Exception):
    """Base class of every error raised on purpose by routellm-core."""


class RoutingError(RoutellmError):
    """A request cannot be routed: bad model name, unknown router, bad threshold.

    The server maps it to HTTP 400 with an OpenAI-style error body.
    """


class ConfigError(RoutellmError):
    """A configuration file or a router's keyword arguments are invalid."""


class DataError(RoutellmError, ValueError):
    """An input data file or record is malformed or missing; the message names the file, line and field."""


class PluginError(RoutellmError):
    """A plugin could not be loaded or registered something invalid."""


class MissingDependencyError(RoutellmError, ImportError):
    """An optional dependency needed by a router or command is not installed."""

    def __init__(self, package: str, needed_for: str, install_hint: str | None = None):
        self.package = package
        self.needed_for = needed_for
        hint = install_hint or f"pip install {package}"
        super().__init__(f"{needed_for} needs the package {package!r}, which is not installed; install it with: {hint}")
