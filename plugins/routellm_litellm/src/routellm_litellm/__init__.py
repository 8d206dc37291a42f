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

import copy
import logging
import sys
from typing import Any, Mapping

__version__ = "0.1.0"

_built: tuple[Any, Any] | None = None  # (settings it was built from, hook)


def configured_hook() -> Any:
    """The hook for the proxy's current ``callback_settings.routellm``, built once per distinct settings.

    A bad setting raises the core's error (its message names the field); when the proxy is starting,
    uvicorn reports it as that one line instead of the whole startup traceback.
    """
    global _built
    import litellm

    from routellm_core.plugin_api import RoutellmError

    from .proxy_hook import RoutellmHook
    from .settings import parse_settings

    raw = (getattr(litellm, "callback_settings", None) or {}).get("routellm")
    model_list = proxy_model_list()
    if _built is None or _built[0] != (raw, model_list):
        try:
            _built = ((raw, model_list), RoutellmHook(parse_settings(raw, model_list=model_list)))
        except RoutellmError as exc:
            _report_in_one_line(str(exc))
            raise
    return _built[1]


def proxy_model_list() -> Any:
    """The ``model_list`` of the config the running proxy is loading (None outside a proxy).

    The proxy reads its config file before it resolves its callbacks, so the hook can check
    ``model_groups`` against the groups and price them from their deployments when it is built.
    """
    server = sys.modules.get("litellm.proxy.proxy_server")
    config = getattr(getattr(server, "proxy_config", None), "config", None)
    if not isinstance(config, Mapping) or "model_list" not in config:
        return None
    return copy.deepcopy(config["model_list"])


class _OneLineStartupError(logging.Filter):
    """Turns uvicorn's "startup failed" traceback that ends with a routellm error into that error's one line."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "Traceback" in text and text.rstrip().endswith(self.message):
            record.msg, record.args, record.exc_info, record.exc_text = f"routellm: {self.message}", (), None, None
        return True


def _report_in_one_line(message: str) -> None:
    """Have uvicorn's error logger print a routellm error at proxy start as one line (the latest error wins)."""
    logger = logging.getLogger("uvicorn.error")
    for old in [f for f in logger.filters if isinstance(f, _OneLineStartupError)]:
        logger.removeFilter(old)
    logger.addFilter(_OneLineStartupError(message))


def __getattr__(name: str) -> Any:
    if name == "hook":
        return configured_hook()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
