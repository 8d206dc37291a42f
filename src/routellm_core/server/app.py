"""The OpenAI-compatible router server: ``create_app(settings) -> FastAPI``.

Nothing happens at import: no argument parsing, no clients, no app object.
``routellm serve`` builds the app with :func:`create_app`; uvicorn workers use
:func:`app_from_env` (settings as JSON in ``ROUTELLM_SERVE_SETTINGS``).

Endpoints: ``POST /v1/chat/completions`` (plain and streamed), ``GET /v1/models``,
``GET /v1/models/{model}``, ``GET /health``, ``GET /metrics``, and the chat page
at ``/`` and ``/chat`` when ``static/chat.html`` exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..controller import Controller, Decision, ModelEndpoint
from ..errors import ConfigError, RoutingError
from ..litellm_import import import_litellm
from ..messages import routing_text
from ..plugins import get_registry
from ..threshold import format_model_name, format_threshold, parse_model_name
from .batching import BatchScorer
from .errors import APIError
from .limits import BodySizeLimitMiddleware
from .metrics import ServerMetrics
from .schemas import ChatCompletionRequest
from .settings import ServerSettings
from .upstream import UpstreamCaller

logger = logging.getLogger("routellm.server")

STATIC_DIR = Path(__file__).parent / "static"
MAX_JSON_DEPTH = 64
_MAX_MESSAGE_CHARS = 2000


# -- helpers -------------------------------------------------------------------------------
def build_endpoint(model: str, base_url: str | None, api_key: str | None) -> ModelEndpoint:
    """A litellm endpoint; a bare model name with a base URL is called as ``openai/<model>``."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model names must be non-empty strings, got {model!r}")
    model = model.strip()
    if not model.isascii() or not model.isprintable():
        raise ConfigError(f"model names must be printable ASCII (they are sent in response headers), got {model!r}")
    if base_url and "/" not in model:
        model = f"openai/{model}"
    if base_url and model.startswith("openai/") and not api_key and not os.environ.get("OPENAI_API_KEY"):
        api_key = "no-key"  # local OpenAI-compatible servers (llama.cpp, vLLM) need none, but the client insists on one
    return ModelEndpoint(model=model, api_base=base_url or None, api_key=api_key or None)


def build_controller(settings: ServerSettings) -> Controller:
    """Check router names, then model ids, then build the routers (cheapest checks first)."""
    registry = get_registry()
    for name in settings.routers:
        registry.get("routers", name)  # RoutingError naming the available routers
    strong = build_endpoint(settings.strong_model, settings.strong_base_url or settings.base_url,
                            settings.strong_api_key or settings.api_key)
    weak = build_endpoint(settings.weak_model, settings.weak_base_url or settings.base_url,
                          settings.weak_api_key or settings.api_key)
    litellm = import_litellm()
    for endpoint in (strong, weak):
        try:
            litellm.get_llm_provider(model=endpoint.model, api_base=endpoint.api_base)
        except Exception as exc:  # litellm raises its BadRequestError for unknown providers
            raise ConfigError(
                f"litellm cannot call model {endpoint.model!r}: {_first_line(exc)}; use a litellm model id such as "
                "'gpt-4o-mini', or 'openai/<name>' with --base-url for any OpenAI-compatible server"
            ) from None
    return Controller(settings.routers, strong, weak, config=settings.config, routing_policy=settings.routing_policy)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise APIError(400, "the request body is empty; send a JSON object with 'model' and 'messages'", code="invalid_json")
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise APIError(400, "the request body is nested too deeply", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise APIError(400, f"the request body is not valid JSON: {str(exc)[:200]}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, f"the request body must be a JSON object, got {type(data).__name__}", code="invalid_json")
    if _depth(data) > MAX_JSON_DEPTH:
        raise APIError(400, f"the request body is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    return data


def _depth(value: Any) -> int:
    """Nesting depth of containers (iterative: deep input cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def parse_request(body: bytes) -> ChatCompletionRequest:
    """Parse and validate a chat completion body; APIError(400) says what is wrong."""
    payload = parse_json_body(body)
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        message, param = validation_message(exc.errors(include_url=False, include_input=False))
        raise APIError(400, message, param=param, code="invalid_request") from None


#: bodies above this size are parsed in a worker thread, so a big body never stalls the event loop
PARSE_IN_THREAD_BYTES = 64 * 1024


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    parts, param = [], None
    for error in errors[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        if param is None and loc:
            param = loc
        parts.append(f"{loc or 'body'}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more, param


def _clip(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _anext(iterator: Any) -> tuple[bool, Any]:
    try:
        return True, await iterator.__anext__()
    except StopAsyncIteration:
        return False, None


async def _aclose(stream: Any) -> None:
    try:
        await stream.aclose()
    except Exception:  # best effort: the client is gone or the stream already ended
        pass


@dataclass
class _Call:
    """The outcome of calling the upstream for one request."""

    endpoint: ModelEndpoint
    response: Any = None  # non-streaming response
    source: Any = None  # the upstream stream (has aclose)
    stream: Any = None  # async iterator of its chunks
    first: Any = None  # the first chunk (already read, so failures before it can fall back)
    empty: bool = False
    started: float = 0.0
    fallback: bool = False
    notes: list[str] = field(default_factory=list)


class RouterServer:
    """The request handling behind the routes, with its settings, controller and metrics."""

    def __init__(self, settings: ServerSettings, controller: Controller, metrics: ServerMetrics | None = None) -> None:
        self.settings = settings
        self.controller = controller
        self.metrics = metrics or ServerMetrics()
        self.created = int(time.time())
        self._keys = [k.encode("utf-8") for k in settings.server_api_keys]
        self._secrets = [s for s in (settings.api_key, settings.strong_api_key, settings.weak_api_key,
                                     *settings.server_api_keys) if s and len(s) >= 4]
        self._unmapped_cost: set[str] = set()
        self.scorers = {name: BatchScorer(router, settings.score_batch_size,
                                          on_batch=lambda n, name=name: self.metrics.batch_sizes.observe(n, router=name))
                        for name, router in controller.routers.items()}
        self.caller = UpstreamCaller(controller, settings.upstream_client, retries=settings.upstream_retries)
        for endpoint in (controller.strong, controller.weak):
            self.caller.direct(endpoint)  # upstream_client="openai" with an endpoint it cannot serve fails now
        self.metrics.in_flight.inc(0)

    # -- routing ---------------------------------------------------------------------
    async def decide(self, messages: list[dict], router: str, threshold: float) -> Decision:
        """The controller's decision (same text, same rule), with concurrent requests scored in one batch."""
        prompt = routing_text(messages, self.controller.routing_policy)
        score = await self.scorers[router].score(prompt)
        return self.controller.decision_for(router, threshold, score)

    # -- auth ------------------------------------------------------------------------
    def check_auth(self, request: Request) -> None:
        if not self._keys:
            return
        token = None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        elif request.headers.get("x-api-key"):
            token = request.headers["x-api-key"].strip()
        if not token:
            raise APIError(401, "missing API key: send 'Authorization: Bearer <key>'", code="missing_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        given = token.encode("utf-8", "surrogateescape")
        ok = False
        for key in self._keys:  # compare with every key, in constant time, without stopping early
            ok |= hmac.compare_digest(given, key)
        if not ok:
            raise APIError(401, "invalid API key", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- upstream ---------------------------------------------------------------------
    def upstream_error(self, exc: BaseException, endpoint: ModelEndpoint) -> APIError:
        timeout = self.settings.timeout
        model = endpoint.model
        status = getattr(exc, "status_code", None)
        detail = self.redact(_clip(str(exc).strip() or type(exc).__name__))
        import openai  # litellm's exceptions subclass openai's

        if isinstance(exc, (asyncio.TimeoutError, TimeoutError, openai.APITimeoutError)) or status in (408, 504):
            return APIError(504, f"upstream model {model!r} did not answer within {timeout:g}s: {detail}",
                            code="upstream_timeout", metric_type="upstream_timeout")
        if isinstance(exc, openai.APIStatusError) or isinstance(status, int):
            if status == 429:
                return APIError(429, f"upstream model {model!r} is rate limited: {detail}", code="upstream_rate_limited",
                                metric_type="upstream_rate_limited")
            if status in (400, 413, 422):
                return APIError(400, f"upstream model {model!r} rejected the request: {detail}", code="upstream_bad_request",
                                metric_type="upstream_bad_request")
            if status in (401, 403):
                return APIError(502, f"upstream model {model!r} rejected the server's credentials (HTTP {status}): {detail}",
                                code="upstream_auth_error", metric_type="upstream_error")
        if isinstance(exc, openai.APIConnectionError):
            return APIError(502, f"cannot reach upstream model {model!r}: {detail}", code="upstream_unreachable",
                            metric_type="upstream_error")
        shown = f"HTTP {status}" if isinstance(status, int) else type(exc).__name__
        return APIError(502, f"upstream model {model!r} failed ({shown}): {detail}", code="upstream_error",
                        metric_type="upstream_error")

    async def _call_once(self, endpoint: ModelEndpoint, messages: list[dict], params: dict, stream: bool) -> _Call:
        timeout = self.settings.timeout
        call = _Call(endpoint=endpoint, started=time.perf_counter())
        try:
            result = await asyncio.wait_for(
                self.caller.call(endpoint, messages=messages, stream=stream, timeout=timeout, **params), timeout=timeout)
            if stream:
                call.source = result
                call.stream = result.__aiter__()
                elapsed = time.perf_counter() - call.started
                has_first, call.first = await asyncio.wait_for(_anext(call.stream), timeout=max(0.001, timeout - elapsed))
                call.empty = not has_first
            else:
                call.response = result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = self.upstream_error(exc, endpoint)
            self.metrics.upstream_errors.inc(model=endpoint.model, type=error.metric_type)
            self.metrics.upstream_latency.observe(time.perf_counter() - call.started, model=endpoint.model,
                                                  stream=str(stream).lower(), outcome=error.metric_type)
            if call.source is not None:
                await _aclose(call.source)
            logger.warning("upstream call to %s failed: %s", endpoint.model, _clip(error.message, 300))
            raise error from None
        if not stream:
            self.metrics.upstream_latency.observe(time.perf_counter() - call.started, model=endpoint.model,
                                                  stream="false", outcome="ok")
        return call

    async def call_upstream(self, decision: Decision, messages: list[dict], params: dict, stream: bool) -> _Call:
        try:
            return await self._call_once(decision.endpoint, messages, params, stream)
        except APIError as first:
            if not self.settings.fallback or first.status not in (429, 502, 504):
                raise
            other = self.controller.weak if decision.strong else self.controller.strong
            labels = dict(router=decision.router, from_model=decision.endpoint.model, to_model=other.model)
            try:
                call = await self._call_once(other, messages, params, stream)
            except APIError as second:
                self.metrics.fallbacks.inc(outcome="failure", **labels)
                second.message = f"routed model failed: {first.message}; fallback failed: {second.message}"
                raise second from None
            self.metrics.fallbacks.inc(outcome="success", **labels)
            call.fallback = True
            call.notes.append(first.message)
            return call

    def record_usage(self, model: str, usage: Any) -> None:
        if usage is None:
            return
        prompt = int(getattr(usage, "prompt_tokens", None) or 0)
        completion = int(getattr(usage, "completion_tokens", None) or 0)
        if prompt:
            self.metrics.tokens.inc(prompt, model=model, kind="prompt")
        if completion:
            self.metrics.tokens.inc(completion, model=model, kind="completion")
        cost = 0.0
        if (prompt or completion) and model not in self._unmapped_cost:
            try:
                prompt_cost, completion_cost = import_litellm().cost_per_token(
                    model=model, prompt_tokens=prompt, completion_tokens=completion)
                cost = float(prompt_cost) + float(completion_cost)
            except Exception:  # not in litellm's cost map (local models): count 0
                self._unmapped_cost.add(model)
        self.metrics.cost.inc(cost, model=model)

    # -- chat completions ---------------------------------------------------------------
    async def chat_completions(self, request: Request) -> Response:
        started = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight.inc()
        router_label, model_label = "none", "none"
        headers: dict[str, str] = {"x-request-id": uuid.uuid4().hex}
        try:
            self.check_auth(request)
            body = await request.body()
            chat = await asyncio.to_thread(parse_request, body) if len(body) > PARSE_IN_THREAD_BYTES else parse_request(body)
            messages = chat.message_dicts()
            t0 = time.perf_counter()
            try:
                name, threshold = self.controller.resolve(chat.model)
            except RoutingError as exc:
                raise APIError(400, str(exc), param="model", code="invalid_model") from None
            router_label = name
            try:
                decision = await self.decide(messages, name, threshold)
            except RoutingError as exc:
                raise APIError(400, str(exc), param="messages", code="invalid_messages") from None
            except Exception as exc:
                logger.exception("router %s failed", name)
                raise APIError(500, f"router {name!r} failed to score the request: {_first_line(exc)}", type="server_error",
                               code="router_error") from None
            metrics.routing_latency.observe(time.perf_counter() - t0, router=name)
            metrics.scores.observe(decision.score, router=name)
            tier = "strong" if decision.strong else "weak"
            metrics.decisions.inc(router=name, model=decision.model, tier=tier)
            model_label = decision.model
            headers.update({
                "x-routellm-router": name,
                "x-routellm-threshold": format_threshold(threshold),
                "x-routellm-score": repr(decision.score),
                "x-routellm-tier": tier,
                "x-routellm-routed-model": decision.model,
                "x-routellm-model": decision.model,
                "x-routellm-fallback": "false",
            })
            params = chat.upstream_params()
            if not chat.stream:
                params.pop("stream_options", None)
            call = await self.call_upstream(decision, messages, params, chat.stream)
            model_label = call.endpoint.model
            headers["x-routellm-model"] = call.endpoint.model
            headers["x-routellm-fallback"] = "true" if call.fallback else "false"
            self.controller.record(decision, call.endpoint.model)
            if chat.stream:
                response: Response = StreamingResponse(self._sse(call, decision), media_type="text/event-stream",
                                                       headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            else:
                self.record_usage(call.endpoint.model, getattr(call.response, "usage", None))
                response = Response(call.response.model_dump_json(), media_type="application/json", headers=headers)
        except APIError as error:
            metrics.errors.inc(router=router_label, model=model_label, type=error.metric_type)
            response = error.response(headers)
        except Exception as exc:  # a bug, not an input problem: answer in OpenAI's format and count it
            logger.exception("unhandled error in chat completions")
            error = APIError(500, f"internal server error ({type(exc).__name__})", type="server_error", code="internal_error")
            metrics.errors.inc(router=router_label, model=model_label, type="internal_error")
            response = error.response(headers)
        finally:
            metrics.in_flight.dec()
        status = str(response.status_code)
        metrics.requests.inc(router=router_label, model=model_label, status=status)
        metrics.request_latency.observe(time.perf_counter() - started, router=router_label, status=status)
        return response

    async def _sse(self, call: _Call, decision: Decision) -> AsyncIterator[str]:
        model = call.endpoint.model
        timeout = self.settings.timeout
        outcome = "ok"
        try:
            if not call.empty:
                chunk = call.first
                while True:
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        self.record_usage(model, usage)
                    yield f"data: {chunk.model_dump_json(exclude_none=True)}\n\n"
                    try:
                        more, chunk = await asyncio.wait_for(_anext(call.stream), timeout=timeout)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        error = self.upstream_error(exc, call.endpoint)
                        outcome = error.metric_type
                        self.metrics.upstream_errors.inc(model=model, type=outcome)
                        self.metrics.errors.inc(router=decision.router, model=model, type=outcome + "_mid_stream")
                        logger.warning("stream from %s failed: %s", model, _clip(error.message, 300))
                        yield f"data: {json.dumps(error.body())}\n\n"
                        break
                    if not more:
                        break
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            outcome = "client_disconnected"
            raise
        finally:
            self.metrics.upstream_latency.observe(time.perf_counter() - call.started, model=model, stream="true",
                                                  outcome=outcome)
            if outcome != "ok":
                with anyio.CancelScope(shield=True):  # the client may be gone: still release the upstream connection
                    await _aclose(call.source)

    # -- models ---------------------------------------------------------------------------
    def model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [self._model_object(name) for name in self.controller.routers]}

    def _model_object(self, router: str, threshold: float | None = None) -> dict[str, Any]:
        threshold = self.settings.threshold_for(router) if threshold is None else threshold
        return {"id": format_model_name(router, threshold), "object": "model", "created": self.created,
                "owned_by": "routellm", "router": router, "threshold": threshold,
                "strong_model": self.controller.strong.model, "weak_model": self.controller.weak.model}

    def model_info(self, model: str) -> dict[str, Any]:
        try:
            name, threshold = self.controller.resolve(model)
        except RoutingError as exc:
            raise APIError(404, str(exc), param="model", code="model_not_found") from None
        return self._model_object(name, threshold)


# -- the app -------------------------------------------------------------------------------
def create_app(settings: ServerSettings, *, controller: Controller | None = None) -> FastAPI:
    """Build the server. Routers are built now, so unknown routers or bad config fail here."""
    litellm = import_litellm()
    litellm.suppress_debug_info = True
    controller = controller or build_controller(settings)
    server = RouterServer(settings, controller)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await server.caller.aclose()

    app = FastAPI(title="routellm", version=__version__, description="OpenAI-compatible LLM router server",
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.routellm = server

    def count_rejected(status: int) -> None:
        server.metrics.errors.inc(router="none", model="none", type="request_too_large" if status == 413 else "invalid_request")
        server.metrics.requests.inc(router="none", model="none", status=str(status))

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, on_reject=count_rejected)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(list(exc.errors()))
        return APIError(400, message, param=param, code="invalid_request").response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        return APIError(exc.status_code, message, headers=dict(exc.headers or {})).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # last resort; real causes get fixed
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return APIError(500, f"internal server error ({type(exc).__name__})", type="server_error", code="internal_error").response()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await server.chat_completions(request)

    @app.get("/v1/models")
    async def list_models(request: Request) -> JSONResponse:
        server.check_auth(request)
        return JSONResponse(server.model_list())

    @app.get("/v1/models/{model:path}")
    async def get_model(model: str, request: Request) -> JSONResponse:
        server.check_auth(request)
        return JSONResponse(server.model_info(model))

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__, "routers": list(controller.routers),
                             "strong_model": controller.strong.model, "weak_model": controller.weak.model,
                             "fallback": settings.fallback})

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        server.check_auth(request)
        return Response(server.metrics.render(), media_type=ServerMetrics.CONTENT_TYPE)

    static_dir = Path(settings.static_dir) if settings.static_dir else STATIC_DIR
    chat_page = static_dir / "chat.html"

    async def page() -> Response:
        if chat_page.is_file():
            return FileResponse(chat_page, media_type="text/html")
        return JSONResponse({"name": "routellm", "version": __version__,
                             "endpoints": ["/v1/chat/completions", "/v1/models", "/health", "/metrics"],
                             "models": [m["id"] for m in server.model_list()["data"]]})

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/chat", page, methods=["GET"], include_in_schema=False)
    if static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=static_dir), name="static")
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory for ``--workers N``: settings come from ``ROUTELLM_SERVE_SETTINGS``."""
    return create_app(ServerSettings.from_env())


__all__ = ["create_app", "app_from_env", "build_controller", "build_endpoint", "RouterServer", "ServerSettings",
           "parse_model_name"]
