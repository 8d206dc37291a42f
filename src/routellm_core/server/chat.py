"""``POST /v1/chat/completions``: parse, decide with the routing core, call upstream, answer.

Nothing CPU-heavy runs on the event loop: a big body is parsed, validated and
serialised for the upstream in a worker thread; the prompt of a long
conversation is built in one; routers score in one. The upstream deadline
starts only when the request is ready to send.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Callable, Coroutine, TypeVar

import numpy as np
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ..errors import RoutingError
from ..routing import AnyRoute, Decision, ModelEndpoint, ModelRoute, RoutingCore
from ..threshold import KNOB, format_threshold
from .admission import AdmissionGate, Slot
from .batching import BatchScorer
from .errors import APIError, first_line
from .metrics import ServerMetrics
from .parsing import PARSE_IN_THREAD_BYTES, ChatRequest, RequestLimits, parse_request
from .protocol import BODY_TIMED_OUT
from .streaming import sse_events
from .upstream import Upstream, UpstreamCall, clip
from .usage import UsageMeter

logger = logging.getLogger("routellm.server")

_T = TypeVar("_T")


class ChatCompletions:
    """The chat completion endpoint over a :class:`RoutingCore`, with batched scoring."""

    def __init__(
        self,
        core: RoutingCore,
        upstream: Upstream,
        metrics: ServerMetrics,
        usage: UsageMeter,
        score_batch_size: int = 64,
        record: Callable[[Decision, str], None] | None = None,
        limits: RequestLimits = RequestLimits(),
        admission: AdmissionGate | None = None,
    ) -> None:
        self.core = core
        #: the bound on requests handled at once (None: every request is handled at once, unbounded)
        self.admission = admission
        self.limits = limits
        #: serialise the upstream body while parsing (in the same worker thread) when a direct client may send it
        self.serialise = any(upstream.clients.direct(e) for e in core.endpoints)
        self.upstream = upstream
        self.metrics = metrics
        self.usage = usage
        self.scorers = {name: self._scorer(name, router, score_batch_size) for name, router in core.routers.items()}
        #: called with the decision and the answering model after each successful upstream call
        self.record = record

    def _scorer(self, name: str, router: Any, score_batch_size: int) -> BatchScorer:
        metrics, core = self.metrics, self.core

        def on_batch(n: int) -> None:
            metrics.batch_sizes.observe(n, router=name)

        if core.models is None:
            return BatchScorer(router, score_batch_size, on_batch=on_batch)

        def predict(prompts: list[str]) -> np.ndarray:  # every listed model's quality for each prompt, in one call
            return core.predict(name, prompts)

        return BatchScorer(router, score_batch_size, on_batch=on_batch, batch=predict, convert=_row)

    def scoring_wait(self) -> float:
        """The longest any prompt waited for its router since the last call (seconds)."""
        return max((scorer.take_max_wait() for scorer in self.scorers.values()), default=0.0)

    async def score(self, router: str, prompt: str) -> float:
        """The router's score, with concurrent requests scored in one batch."""
        value: float = await self.scorers[router].score(prompt)
        return value

    async def quality(self, router: str, prompt: str) -> np.ndarray:
        """With a models list: the predicted quality of each listed model, concurrent requests predicted in one batch."""
        value: np.ndarray = await self.scorers[router].score(prompt)
        return value

    def count(self, router: str, model: str, status: int, started: float, error_type: str | None = None) -> None:
        if error_type is not None:
            self.metrics.errors.inc(router=router, model=model, type=error_type)
        self.metrics.requests.inc(router=router, model=model, status=str(status))
        self.metrics.request_latency.observe(time.perf_counter() - started, router=router, status=str(status))

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight.inc()
        router_label = "none"
        #: the decision headers, filled in as the request goes; x-routellm-model labels the metrics
        headers: dict[str, str] = {"x-request-id": uuid.uuid4().hex}
        error_type = None
        response: Response | None = None
        slot: Slot | None = None
        try:
            check_content_type(request.headers.get("content-type"))
            try:
                body = await request.body()
            except ClientDisconnect:
                if request.scope.get(BODY_TIMED_OUT):
                    logger.info("request body not received within the body timeout; answered 408")
                    error_type = "body_timeout"
                    response = Response(status_code=408)
                else:
                    logger.info("client disconnected before sending the whole request body")
                    error_type = "client_disconnected"
                    response = Response(status_code=499)  # nobody reads it; 499 as nginx counts it
                return response
            gate = self.admission
            if gate is not None:
                gate.check()  # a full queue sheds before any parsing: overload costs as little as possible
            if len(body) > PARSE_IN_THREAD_BYTES:
                chat = await asyncio.to_thread(parse_request, body, self.limits, serialise=self.serialise, yielding=True)
            else:
                chat = parse_request(body, self.limits)
            try:  # resolved once: the route labels the metrics and goes on to the decision as it is
                route = self.core.resolve(chat.model)
            except RoutingError as exc:
                raise APIError(400, str(exc), param="model", code="invalid_model") from None
            router_label = route.router
            if gate is not None:
                slot = await gate.enter()
            try:
                decision, call = await until_disconnect(request, self._route_and_call(route, chat, headers))
            except ClientGone:
                logger.info("client disconnected while its request was being handled")
                error_type = "client_disconnected"
                response = Response(status_code=499)
                return response
            if chat.stream:
                response = HeldStreamingResponse(
                    sse_events(call, decision, self.upstream, metrics, self.usage),
                    media_type="text/event-stream",
                    headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                )
            else:
                completion = call.response
                assert completion is not None  # a non-streaming call always carries its response
                self.usage.record(call.endpoint.model, completion.payload.get("usage"))
                response = HeldResponse(completion.body, media_type="application/json", headers=headers)
            response.slot, slot = slot, None  # the response frees the slot once sent (a stream: once it ends)
        except APIError as error:
            error_type = error.metric_type
            response = error.response(headers)
        except Exception as exc:  # a bug, not an input problem: answer in OpenAI's format and count it
            logger.exception("unhandled error in chat completions")
            error_type = "internal_error"
            response = APIError(
                500, f"internal server error ({type(exc).__name__})", type="server_error", code="internal_error"
            ).response(headers)
        finally:
            if slot is not None:
                slot.release()
            metrics.in_flight.dec()
            if response is not None:
                model = headers.get("x-routellm-model", "none")
                self.count(router_label, model, response.status_code, started, error_type)
        return response

    async def _route_and_call(self, route: AnyRoute, chat: ChatRequest, headers: dict[str, str]) -> tuple[Decision, UpstreamCall]:
        """Score, decide, call the upstream (a stream: up to its first chunk); fills in the decision headers."""
        metrics = self.metrics
        name = route.router
        t0 = time.perf_counter()
        try:
            decision = await self.core.adecide_route(
                route, chat.messages, score=self.score, quality=self.quality, max_tokens=_max_tokens(chat)
            )
        except RoutingError as exc:
            raise APIError(400, str(exc), param="messages", code="invalid_messages") from None
        except Exception as exc:
            logger.exception("router %s failed", name)
            raise APIError(
                500,
                f"router {name!r} failed to score the request: {first_line(exc)}",
                type="server_error",
                code="router_error",
            ) from None
        metrics.routing_latency.observe(time.perf_counter() - t0, router=name)
        if isinstance(route, ModelRoute):
            assert decision.quality is not None
            metrics.predicted_quality.observe(decision.quality, router=name, model=decision.model)
            metrics.decisions.inc(router=name, model=decision.model, tier="none")
            policy_header = "x-routellm-knob" if route.policy == KNOB else "x-routellm-min-quality"
            headers.update(
                {
                    "x-routellm-router": name,
                    "x-routellm-policy": route.policy,
                    policy_header: format_threshold(route.value),
                    "x-routellm-routed-model": decision.model,
                    "x-routellm-fallback": "false",
                }
            )
            self._model_headers(headers, decision, decision.endpoint)
        else:
            metrics.scores.observe(decision.score, router=name)
            tier = "strong" if decision.strong else "weak"
            metrics.decisions.inc(router=name, model=decision.model, tier=tier)
            headers.update(
                {
                    "x-routellm-router": name,
                    "x-routellm-threshold": format_threshold(route.threshold),
                    "x-routellm-score": repr(decision.score),
                    "x-routellm-tier": tier,
                    "x-routellm-routed-model": decision.model,
                    "x-routellm-model": decision.model,
                    "x-routellm-fallback": "false",
                }
            )
        call = await self.upstream.call(decision, chat)
        headers["x-routellm-model"] = call.endpoint.model
        headers["x-routellm-fallback"] = "true" if call.fallback else "false"
        if decision.n_model:
            cost = self._model_headers(headers, decision, call.endpoint)
            metrics.expected_cost.inc(cost, router=name, model=call.endpoint.model)
        if self.record is not None:
            self.record(decision, call.endpoint.model)
        return decision, call

    @staticmethod
    def _model_headers(headers: dict[str, str], decision: Decision, endpoint: ModelEndpoint) -> float:
        """The answering model's headers with a models list: its name, id, predicted quality and expected cost."""
        facts = decision.facts(endpoint)
        assert facts is not None  # every endpoint a decision can answer from is listed
        model_name, quality, cost = facts
        headers.update(
            {
                "x-routellm-model": endpoint.model,
                "x-routellm-model-name": model_name,
                "x-routellm-quality": repr(quality),
                "x-routellm-expected-cost": repr(cost),
            }
        )
        return cost


def _row(value: object) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _max_tokens(chat: ChatRequest) -> int | None:
    """The request's output token cap (``max_completion_tokens`` or ``max_tokens``), for the expected cost."""
    request = chat.chat
    return request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def until_disconnect(request: Request, work: Coroutine[Any, Any, _T]) -> _T:
    """``await work``, cancelled as soon as the client disconnects (then :class:`ClientGone`).

    The request's body has been read, so the next ``receive()`` returns only when the client goes away.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: this cancellation is handled here
        if uncancel is not None:
            uncancel()
        raise ClientGone() from None
    finally:
        watcher.cancel()


class _HoldsSlot:
    """Frees the request's admission slot once the response has been sent, or its sending ended."""

    slot: Slot | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)  # type: ignore[misc]
        finally:
            if self.slot is not None:
                self.slot.release()


class HeldResponse(_HoldsSlot, Response):
    """A response that frees its request's admission slot once it is sent."""


class HeldStreamingResponse(_HoldsSlot, StreamingResponse):
    """A stream that frees its request's admission slot when it ends or the client disconnects."""


def check_content_type(value: str | None) -> None:
    """JSON or no Content-Type; anything else (forms, text/plain) is a 415."""
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    raise APIError(
        415,
        f"Content-Type {clip(value, 100)!r} is not supported: send the body as JSON with 'Content-Type: application/json'",
        code="unsupported_media_type",
    )
