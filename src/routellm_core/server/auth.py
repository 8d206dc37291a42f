"""API-key authentication as a FastAPI dependency."""

from __future__ import annotations

import hmac
from typing import Sequence

from starlette.requests import HTTPConnection

from .errors import APIError


class ApiKeyAuth:
    """``Depends(ApiKeyAuth(keys))``: 401 unless the request carries one of ``keys``.

    The key comes from ``Authorization: Bearer <key>`` or ``x-api-key``. It is
    compared with every configured key in constant time. No keys: open.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [k.encode("utf-8") for k in keys if k]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    async def __call__(self, request: HTTPConnection) -> None:  # async: FastAPI runs it on the loop, not in a thread
        self.check(request)

    def check(self, request: HTTPConnection) -> None:
        if not self._keys:
            return
        token = None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        elif request.headers.get("x-api-key"):
            token = request.headers["x-api-key"].strip()
        if not token:
            raise APIError(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                code="missing_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = token.encode("utf-8", "surrogateescape")
        ok = False
        for key in self._keys:  # compare with every key, without stopping early
            ok |= hmac.compare_digest(given, key)
        if not ok:
            raise APIError(401, "invalid API key", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
