"""Calling the routed model: one call with a deadline, fallback, and error mapping.

:class:`Upstream` sends a request to the model a :class:`Decision` picked (through
:class:`~.clients.UpstreamClients`), turns every failure into an :class:`APIError`
that says what the upstream did (502, 504, 429, 400), with configured secrets
redacted, and, when fallback is on, retries once on the other model. It counts
upstream errors, fallbacks and upstream latency.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Sequence, TypeVar

import anyio

from ..routing import Decision, ModelEndpoint, RoutingCore
from .clients import Completion, RejectedByClient, UpstreamClients, UpstreamHTTPError, UpstreamProtocolError
from .errors import APIError
from .metrics import ServerMetrics
from .parsing import ChatRequest

logger = logging.getLogger("routellm.server")

_MAX_MESSAGE_CHARS = 2000


def clip(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Redactor:
    """Replaces configured secrets (4 characters or longer) with ``***``."""

    def __init__(self, secrets: Sequence[str | None]) -> None:
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def upstream_error(exc: BaseException, endpoint: ModelEndpoint, timeout: float, redact: Redactor) -> APIError:
    """The client-facing error for a failed upstream call."""
    model = endpoint.model
    status = getattr(exc, "status_code", None)
    detail = redact(clip(str(exc).strip() or type(exc).__name__))
    import httpx
    import openai  # litellm's exceptions subclass openai's

    timeouts = (asyncio.TimeoutError, TimeoutError, openai.APITimeoutError, httpx.TimeoutException)
    if isinstance(exc, timeouts) or status in (408, 504):
        return APIError(
            504,
            f"upstream model {model!r} did not answer within {timeout:g}s: {detail}",
            code="upstream_timeout",
            metric_type="upstream_timeout",
        )
    if isinstance(status, int):
        if status == 429:
            return APIError(
                429,
                f"upstream model {model!r} is rate limited: {detail}",
                code="upstream_rate_limited",
                metric_type="upstream_rate_limited",
            )
        if status in (400, 413, 422):
            return APIError(
                400,
                f"upstream model {model!r} rejected the request: {detail}",
                code="upstream_bad_request",
                metric_type="upstream_bad_request",
            )
        if status in (401, 403):
            return APIError(
                502,
                f"upstream model {model!r} rejected the server's credentials (HTTP {status}): {detail}",
                code="upstream_auth_error",
                metric_type="upstream_error",
            )
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
        return APIError(
            502, f"cannot reach upstream model {model!r}: {detail}", code="upstream_unreachable", metric_type="upstream_error"
        )
    if isinstance(exc, UpstreamProtocolError):
        return APIError(
            502,
            f"upstream model {model!r} answered in an unexpected format: {detail}",
            code="upstream_error",
            metric_type="upstream_error",
        )
    if isinstance(exc, UpstreamHTTPError):  # an error event in a stream
        return APIError(502, f"upstream model {model!r} failed: {detail}", code="upstream_error", metric_type="upstream_error")
    shown = f"HTTP {status}" if isinstance(status, int) else type(exc).__name__
    return APIError(
        502, f"upstream model {model!r} failed ({shown}): {detail}", code="upstream_error", metric_type="upstream_error"
    )


async def _anext(iterator: Any) -> tuple[bool, Any]:
    try:
        return True, await iterator.__anext__()
    except StopAsyncIteration:
        return False, None


async def aclose_quietly(stream: Any) -> None:
    try:
        await stream.aclose()
    except Exception:  # best effort: the client is gone or the stream already ended
        pass


@dataclass
class UpstreamCall:
    """The outcome of calling the upstream for one request."""

    endpoint: ModelEndpoint
    response: Completion | None = None  # non-streaming response
    source: Any = None  # the upstream stream (has aclose)
    stream: Any = None  # async iterator of its chunks
    first: Any = None  # the first chunk (already read, so failures before it can fall back)
    empty: bool = False
    started: float = 0.0
    fallback: bool = False
    notes: list[str] = field(default_factory=list)

    async def next_chunk(self, timeout: float) -> tuple[bool, Any]:
        """``(True, chunk)`` or ``(False, None)`` at the end; raises on failure or after ``timeout`` seconds."""
        return await within(_anext(self.stream), timeout)


_T = TypeVar("_T")


async def within(awaitable: Awaitable[_T], timeout: float) -> _T:
    """``await awaitable`` or raise ``TimeoutError`` after ``timeout`` s; on 3.11+ without the extra task ``wait_for`` makes."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout=timeout)


class Upstream:
    """Calls the routed model with ``timeout`` per call; on 429/502/504 retries once on the other model if ``fallback``."""

    def __init__(
        self,
        core: RoutingCore,
        clients: UpstreamClients,
        metrics: ServerMetrics,
        *,
        timeout: float,
        fallback: bool,
        redact: Redactor,
    ) -> None:
        self.core = core
        self.clients = clients
        self.metrics = metrics
        self.timeout = timeout
        self.fallback = fallback
        self.redact = redact

    def error(self, exc: BaseException, endpoint: ModelEndpoint) -> APIError:
        return upstream_error(exc, endpoint, self.timeout, self.redact)

    def count_failure(self, error: APIError, model: str) -> None:
        self.metrics.upstream_errors.inc(model=model, type=error.metric_type)

    async def _call_once(self, endpoint: ModelEndpoint, request: ChatRequest) -> UpstreamCall:
        timeout = self.timeout
        stream = request.stream
        call = UpstreamCall(endpoint=endpoint, started=time.perf_counter())
        try:
            result = await within(self.clients.call(endpoint, request, timeout=timeout), timeout)
            if stream:
                call.source = result
                call.stream = result.__aiter__()
                elapsed = time.perf_counter() - call.started
                has_first, call.first = await call.next_chunk(max(0.001, timeout - elapsed))
                call.empty = not has_first
            else:
                call.response = result
        except asyncio.CancelledError:  # the client went away (or the server stops): release the upstream connection
            if call.source is not None:
                with anyio.CancelScope(shield=True):
                    await aclose_quietly(call.source)
            raise
        except RejectedByClient as exc:  # no call was made: the client's request is at fault
            raise APIError(
                400,
                f"the request cannot be sent to {endpoint.model!r}: {self.redact(clip(str(exc)))}",
                param="messages",
                code="invalid_messages",
            ) from None
        except Exception as exc:
            error = self.error(exc, endpoint)
            self.count_failure(error, endpoint.model)
            self.metrics.upstream_latency.observe(
                time.perf_counter() - call.started, model=endpoint.model, stream=str(stream).lower(), outcome=error.metric_type
            )
            if call.source is not None:
                await aclose_quietly(call.source)
            logger.warning("upstream call to %s failed: %s", endpoint.model, clip(error.message, 300))
            raise error from None
        if not stream:
            self.metrics.upstream_latency.observe(
                time.perf_counter() - call.started, model=endpoint.model, stream="false", outcome="ok"
            )
        return call

    async def call(self, decision: Decision, request: ChatRequest) -> UpstreamCall:
        """Call the decided model (and the other one on failure, with fallback); APIError when it cannot answer."""
        try:
            return await self._call_once(decision.endpoint, request)
        except APIError as first:
            if not self.fallback or first.status not in (429, 502, 504):
                raise
            other = decision.fallback_endpoint or (self.core.weak if decision.strong else self.core.strong)
            labels = dict(router=decision.router, from_model=decision.endpoint.model, to_model=other.model)
            try:
                call = await self._call_once(other, request)
            except APIError as second:
                self.metrics.fallbacks.inc(outcome="failure", **labels)
                second.message = f"routed model failed: {first.message}; fallback failed: {second.message}"
                raise second from None
            self.metrics.fallbacks.inc(outcome="success", **labels)
            call.fallback = True
            call.notes.append(first.message)
            return call

    async def aclose(self) -> None:
        await self.clients.aclose()
