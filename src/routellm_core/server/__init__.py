"""The OpenAI-compatible router server (needs the ``serve`` extra: fastapi, uvicorn).

``create_app(ServerSettings(...))`` returns a FastAPI app; nothing runs at import,
and fastapi is imported only when the app module is used.
"""

from __future__ import annotations

from typing import Any

from .settings import SERVER_API_KEY_ENV, SETTINGS_ENV, ServerSettings

__all__ = ["create_app", "app_from_env", "build_controller", "ServerSettings", "SETTINGS_ENV", "SERVER_API_KEY_ENV"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "app_from_env", "build_controller"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
