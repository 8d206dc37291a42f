"""Request body size limit as pure ASGI middleware (checked before the body is read)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from .errors import APIError


class RequestTooLarge(APIError):
    """Raised while reading a chunked body that goes over the limit (answered as 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body is larger than the server's limit of {max_bytes} bytes", code="request_too_large")


class BodySizeLimitMiddleware:
    """Answer HTTP 413 when a request body is over ``max_bytes``.

    A ``Content-Length`` over the limit is refused before reading anything;
    chunked bodies are counted while they are read.
    """

    def __init__(self, app: Any, max_bytes: int, on_reject: Callable[[int], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject

    def _error(self) -> APIError:
        return RequestTooLarge(self.max_bytes)

    async def _reject(self, scope, receive, send, error: APIError) -> None:
        if self.on_reject is not None:
            self.on_reject(error.status)
        response = error.response({"Connection": "close"})
        await response(scope, receive, send)

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                length = value
                break
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if size < 0:
                await self._reject(scope, receive, send, APIError(400, "invalid Content-Length header", code="invalid_request"))
                return
            if size > self.max_bytes:
                await self._reject(scope, receive, send, self._error())
                return

        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._error()
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestTooLarge as exc:
            if started:
                raise
            await self._reject(scope, receive, send, exc)
