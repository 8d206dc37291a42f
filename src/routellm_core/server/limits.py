"""Request body size limit as pure ASGI middleware.

A body over ``max_bytes`` gets HTTP 413. A client still sending its body when
the server answers and closes the connection would get a TCP reset instead of
the answer (async clients such as ``httpx.AsyncClient`` and ``openai.AsyncOpenAI``
always did), so the rest of the body is read and discarded first, up to
``drain_bytes``; a client that announced more than that, or that sent
``Expect: 100-continue`` (it waits for permission before sending), is answered
at once. The server's body timeout bounds the time spent draining.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.types import Message, Receive, Scope, Send

from .errors import APIError


class RequestTooLarge(APIError):
    """A body over the limit (answered as 413, and the connection closed)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"request body is larger than the server's limit of {max_bytes} bytes",
            code="request_too_large",
            headers={"Connection": "close"},
        )


async def drain(receive: Receive, limit: int) -> bool:
    """Read and discard the rest of a request body, at most ``limit`` bytes; True if it all came."""
    seen = 0
    while seen <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return False  # disconnected (or timed out)
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


class BodySizeLimitMiddleware:
    """Answer HTTP 413 when a request body is over ``max_bytes``.

    A ``Content-Length`` over the limit is refused before the app runs; chunked
    bodies are counted while they are read (the app then answers the 413).
    """

    def __init__(
        self, app: Any, max_bytes: int, on_reject: Callable[[int], None] | None = None, drain_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject
        self.drain_bytes = drain_bytes if drain_bytes is not None else max(4 * max_bytes, 16 * 1024 * 1024)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, error: APIError, *, declared: int | None) -> None:
        expects_continue = any(n == b"expect" and v.strip().lower() == b"100-continue" for n, v in scope.get("headers", ()))
        if not expects_continue and (declared is None or declared <= self.drain_bytes):
            await drain(receive, self.drain_bytes)
        if self.on_reject is not None:
            self.on_reject(error.status)
        response = error.response({"Connection": "close"})
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
                await self._reject(
                    scope, receive, send, APIError(400, "invalid Content-Length header", code="invalid_request"), declared=0
                )
                return
            if size > self.max_bytes:
                await self._reject(scope, receive, send, RequestTooLarge(self.max_bytes), declared=size)
                return

        received = 0
        drain_bytes = self.drain_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await drain(receive, max(0, drain_bytes - received))
                    raise RequestTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
