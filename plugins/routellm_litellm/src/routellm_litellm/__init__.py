"""routellm routers inside a LiteLLM proxy, by configuration only.

In the proxy's config.yaml::

    litellm_settings:
      callbacks: ["routellm_litellm.hook"]
    callback_settings:
      routellm: {routers: [mf], strong_model: strong, weak_model: weak}

The proxy resolves ``routellm_litellm.hook`` when it loads its config; that
builds a :class:`~routellm_litellm.proxy_hook.RoutellmHook` from
``callback_settings.routellm`` (so a bad setting stops the proxy at start).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_built: tuple[Any, Any] | None = None  # (settings it was built from, hook)


def configured_hook() -> Any:
    """The hook for the proxy's current ``callback_settings.routellm``, built once per distinct settings."""
    global _built
    import litellm

    from .proxy_hook import RoutellmHook
    from .settings import parse_settings

    raw = (getattr(litellm, "callback_settings", None) or {}).get("routellm")
    if _built is None or _built[0] != raw:
        _built = (raw, RoutellmHook(parse_settings(raw)))
    return _built[1]


def __getattr__(name: str) -> Any:
    if name == "hook":
        return configured_hook()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
