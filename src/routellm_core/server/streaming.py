"""Server-sent events of a streamed chat completion, relayed from the upstream stream."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import AsyncIterator

import anyio

from ..routing import Decision
from .clients import dumps_json
from .metrics import ServerMetrics
from .upstream import Upstream, UpstreamCall, aclose_quietly, clip
from .usage import UsageMeter

logger = logging.getLogger("routellm.server")


async def sse_events(
    call: UpstreamCall, decision: Decision, upstream: Upstream, metrics: ServerMetrics, usage: UsageMeter
) -> AsyncIterator[bytes]:
    """``data: <chunk>`` events, then ``data: [DONE]``.

    The first chunk was read before the response started (so failures before it
    could fall back or become a plain error). A failure after it is sent as an
    ``{"error": ...}`` event; a client that disconnects closes the upstream stream.
    """
    model = call.endpoint.model
    outcome = "ok"
    try:
        if not call.empty:
            chunk = call.first
            while True:
                chunk_usage = chunk.get("usage")
                if chunk_usage is not None:
                    usage.record(model, chunk_usage)
                yield b"data: " + dumps_json(chunk) + b"\n\n"
                try:
                    more, chunk = await call.next_chunk(upstream.timeout)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = upstream.error(exc, call.endpoint)
                    outcome = error.metric_type
                    upstream.count_failure(error, model)
                    metrics.errors.inc(router=decision.router, model=model, type=outcome + "_mid_stream")
                    logger.warning("stream from %s failed: %s", model, clip(error.message, 300))
                    yield b"data: " + dumps_json(error.body()) + b"\n\n"
                    break
                if not more:
                    break
        yield b"data: [DONE]\n\n"
    except asyncio.CancelledError:
        outcome = "client_disconnected"
        raise
    finally:
        metrics.upstream_latency.observe(time.perf_counter() - call.started, model=model, stream="true", outcome=outcome)
        if outcome != "ok":
            with anyio.CancelScope(shield=True):  # the client may be gone: still release the upstream connection
                await aclose_quietly(call.source)
