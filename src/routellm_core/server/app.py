"""The OpenAI-compatible router server: ``create_app(settings) -> FastAPI``.

Nothing happens at import: no argument parsing, no clients, no app object.
``routellm serve`` builds the app with :func:`create_app`; uvicorn workers use
:func:`app_from_env` (settings as JSON in ``ROUTELLM_SERVE_SETTINGS``).

Endpoints: ``POST /v1/chat/completions`` (plain and streamed), ``GET /v1/models``,
``GET /v1/models/{model}``, ``GET /health``, ``GET /ready``, ``GET /metrics``, and the chat page
at ``/`` and ``/chat`` when ``static/chat.html`` exists. The pieces: auth
(:mod:`.auth`, a dependency), parsing (:mod:`.parsing`), routing (the shared
:class:`~routellm_core.routing.RoutingCore`), the chat endpoint (:mod:`.chat`),
upstream calls with fallback and error mapping (:mod:`.upstream`), streaming
(:mod:`.streaming`), metrics (:mod:`.metrics`) and usage (:mod:`.usage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..controller import Controller
from ..errors import ConfigError, RoutingError
from ..litellm_import import import_litellm
from ..model_set import ModelSet, parse_models, read_models_file
from ..plugins import get_registry
from ..routing import ModelEndpoint, ModelRoute
from ..threshold import KNOB, format_model_name, format_nmodel_name, parse_model_name
from .admission import AdmissionMiddleware, LoopLag, build_gate, plan_admission
from .auth import ApiKeyAuth
from .chat import ChatCompletions
from .clients import UpstreamClients
from .errors import APIError, first_line
from .limits import BodySizeLimitMiddleware
from .metrics import ServerMetrics, multiprocess_dir
from .parsing import validation_message
from .protocol import ADMISSION_STATE
from .settings import ServerSettings
from .upstream import Redactor, Upstream
from .usage import UsageMeter

logger = logging.getLogger("routellm.server")

STATIC_DIR = Path(__file__).parent / "static"
CHAT_PATH = "/v1/chat/completions"


# -- construction -----------------------------------------------------------------------------
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


def build_models(settings: ServerSettings) -> ModelSet | None:
    """The settings' models list (None: two-model routing), its endpoints built as :func:`build_endpoint` builds them."""
    if settings.models is None:
        return None
    data = read_models_file(settings.models) if isinstance(settings.models, str) else settings.models
    return parse_models(
        data,
        source=settings.models if isinstance(settings.models, str) else "models",
        api_base=settings.base_url,
        api_key=settings.api_key,
        expected_output_tokens=settings.expected_output_tokens,
        make_endpoint=build_endpoint,
    )


def build_controller(settings: ServerSettings) -> Controller:
    """Check router names, then model ids, then build the routers (cheapest checks first)."""
    registry = get_registry()
    for name in settings.routers:
        registry.get("routers", name)  # RoutingError naming the available routers
    models = build_models(settings)
    if models is None:
        assert settings.strong_model is not None and settings.weak_model is not None  # ServerSettings checked
        strong = build_endpoint(
            settings.strong_model, settings.strong_base_url or settings.base_url, settings.strong_api_key or settings.api_key
        )
        weak = build_endpoint(
            settings.weak_model, settings.weak_base_url or settings.base_url, settings.weak_api_key or settings.api_key
        )
        endpoints: tuple[ModelEndpoint, ...] = (strong, weak)
    else:
        endpoints = models.endpoints
    litellm = import_litellm()
    for endpoint in endpoints:
        try:
            litellm.get_llm_provider(model=endpoint.model, api_base=endpoint.api_base)
        except Exception as exc:  # litellm raises its BadRequestError for unknown providers
            raise ConfigError(
                f"litellm cannot call model {endpoint.model!r}: {first_line(exc)}; use a litellm model id such as "
                "'gpt-4o-mini', or 'openai/<name>' with --base-url for any OpenAI-compatible server"
            ) from None
    if models is not None:
        return Controller(settings.routers, config=settings.config, routing_policy=settings.routing_policy, models=models)
    return Controller(settings.routers, strong, weak, config=settings.config, routing_policy=settings.routing_policy)


class RouterServer:
    """What the routes share: settings, controller, metrics, the chat endpoint and the upstream."""

    def __init__(self, settings: ServerSettings, controller: Controller, metrics: ServerMetrics | None = None) -> None:
        self.settings = settings
        self.controller = controller
        self.metrics = metrics or ServerMetrics()
        self.created = int(time.time())
        self.auth = ApiKeyAuth(settings.server_api_keys)
        models = controller.models
        self.usage = UsageMeter(self.metrics, prices={m.model: m.price for m in models} if models is not None else None)
        clients = UpstreamClients(controller, settings.upstream_client, retries=settings.upstream_retries)
        for endpoint in controller.core.endpoints:
            clients.prepare(endpoint)  # upstream_client="openai" with an endpoint it cannot serve fails now
        redact = Redactor(
            [
                settings.api_key,
                settings.strong_api_key,
                settings.weak_api_key,
                *settings.server_api_keys,
                *(e.api_key for e in controller.core.endpoints),
            ]
        )
        self.upstream = Upstream(
            controller.core, clients, self.metrics, timeout=settings.timeout, fallback=settings.fallback, redact=redact
        )
        #: admission control: the numbers (None: off), the gate, and the controller of an adaptive limit
        self.admission_plan = plan_admission(settings)
        self.admission, self.admission_limit = build_gate(self.admission_plan, self.metrics, self._scoring_wait)
        #: samples the event loop's lag while the app runs (started with the app's lifespan), for the limit too
        samplers: list[Callable[[float], None]] = [self.metrics.loop_lag.observe]
        if self.admission_limit is not None:
            samplers.append(self.admission_limit.on_lag)
        self.loop_lag = LoopLag(on_sample=samplers)
        self.chat = ChatCompletions(
            controller.core,
            self.upstream,
            self.metrics,
            self.usage,
            settings.score_batch_size,
            record=controller.record,
            limits=settings.request_limits(),
            admission=self.admission,
        )
        self.metrics.in_flight.inc(0)
        self.ready = False  # set once uvicorn has started this app (lifespan startup)

    def _scoring_wait(self) -> float:
        return self.chat.scoring_wait()

    def admission_state(self) -> dict[str, Any] | None:
        """This worker's admission control now (None: off)."""
        gate, plan = self.admission, self.admission_plan
        if gate is None or plan is None:
            return None
        return {
            "limit": gate.limit,
            "in_progress": gate.in_flight,
            "waiting": gate.queued,
            "max_queue": gate.max_queue,
            "queue_timeout": gate.queue_timeout,
            "adaptive": plan.adaptive,
            "range": [plan.minimum, plan.maximum],
        }

    def readiness(self) -> dict[str, Any]:
        """Whether this worker serves, and how many of the expected workers do."""
        workers = self.metrics.ready_workers() if self.settings.workers > 1 else int(self.ready)
        return {
            "ready": self.ready and workers >= self.settings.workers,
            "workers_ready": workers,
            "workers": self.settings.workers,
        }

    def model_fields(self) -> dict[str, Any]:
        """What ``/health`` says of the models: strong and weak, or each listed model's name and litellm id."""
        models = self.controller.models
        if models is None:
            return {"strong_model": self.controller.strong.model, "weak_model": self.controller.weak.model}
        return {"models": [{"name": m.name, "model": m.model} for m in models]}  # /health is open: no base URLs

    def model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [self._model_object(name) for name in self.controller.routers]}

    def _model_object(self, router: str, threshold: float | None = None, policy: str = KNOB) -> dict[str, Any]:
        threshold = self.settings.threshold_for(router) if threshold is None else threshold
        models = self.controller.models
        if models is not None:
            return {
                "id": format_nmodel_name(router, policy, threshold),
                "object": "model",
                "created": self.created,
                "owned_by": "routellm",
                "router": router,
                "policy": policy,
                policy: threshold,
                "models": models.describe(),
            }
        return {
            "id": format_model_name(router, threshold),
            "object": "model",
            "created": self.created,
            "owned_by": "routellm",
            "router": router,
            "threshold": threshold,
            "strong_model": self.controller.strong.model,
            "weak_model": self.controller.weak.model,
        }

    def model_info(self, model: str) -> dict[str, Any]:
        try:
            route = self.controller.resolve(model)
        except RoutingError as exc:
            raise APIError(404, str(exc), param="model", code="model_not_found") from None
        if isinstance(route, ModelRoute):
            return self._model_object(route.router, route.value, route.policy)
        return self._model_object(route.router, route.threshold)


# -- the app -------------------------------------------------------------------------------
def create_app(settings: ServerSettings, *, controller: Controller | None = None) -> FastAPI:
    """Build the server. Routers are built now, so unknown routers or bad config fail here."""
    litellm = import_litellm()
    litellm.suppress_debug_info = True  # type: ignore[attr-defined]  # a litellm module setting, unknown to ModuleType
    controller = controller or build_controller(settings)
    server = RouterServer(settings, controller)
    metrics = server.metrics

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Objects made while starting (modules, litellm's tables, routers: ~400,000) live as long as the process.
        # Keeping them out of the garbage collector's full passes turns a ~0.4 s pause of every request,
        # taken whenever a big request's allocations trigger such a pass, into milliseconds.
        gc.collect()
        gc.freeze()
        server.ready = True
        metrics.workers_ready.inc()
        server.loop_lag.start()
        # the lifespan state reaches uvicorn's connections: on shutdown they tell the gate to drain (see .protocol)
        yield {ADMISSION_STATE: server.admission} if server.admission is not None else {}
        server.ready = False  # uvicorn has stopped accepting and drained its in-flight requests by now
        server.loop_lag.stop()
        metrics.workers_ready.dec()
        await server.upstream.aclose()
        if multiprocess_dir() is not None:
            from prometheus_client import multiprocess

            # this worker's live gauges stop counting (prometheus_client leaves the function untyped)
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app = FastAPI(
        title="routellm",
        version=__version__,
        description="OpenAI-compatible LLM router server",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.routellm = server

    def count_rejected(status: int) -> None:
        metrics.errors.inc(router="none", model="none", type="request_too_large" if status == 413 else "invalid_request")
        metrics.requests.inc(router="none", model="none", status=str(status))

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, on_reject=count_rejected)
    if server.admission is not None:  # outermost: refusals under overload skip everything else

        def count_shed(error: APIError, started: float) -> None:
            server.chat.count("none", "none", error.status, started, error.metric_type)

        app.add_middleware(AdmissionMiddleware, gate=server.admission, path=CHAT_PATH, on_shed=count_shed)

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
        return APIError(
            500, f"internal server error ({type(exc).__name__})", type="server_error", code="internal_error"
        ).response()

    auth = Depends(server.auth)

    async def chat_completions(request: Request) -> Response:
        """The API key check (refusals counted like every other answer), then the chat endpoint.

        A plain Starlette route: no FastAPI dependency solving, and no thread hop for a sync dependency, per request.
        """
        if server.auth.enabled:
            try:
                server.auth.check(request)
            except APIError as error:
                server.chat.count("none", "none", error.status, time.perf_counter(), error.metric_type)
                raise
        return await server.chat(request)

    app.add_route(CHAT_PATH, chat_completions, methods=["POST"], include_in_schema=False)

    get = ["GET", "HEAD"]  # load balancers probe with HEAD

    @app.api_route("/v1/models", dependencies=[auth], methods=get)
    async def list_models() -> JSONResponse:
        return JSONResponse(server.model_list())

    @app.api_route("/v1/models/{model:path}", dependencies=[auth], methods=get)
    async def get_model(model: str) -> JSONResponse:
        return JSONResponse(server.model_info(model))

    @app.api_route("/health", methods=get)
    async def health() -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "routers": list(controller.routers),
                **server.model_fields(),
                "fallback": settings.fallback,
                "admission": server.admission_state(),
                **server.readiness(),
            }
        )

    @app.api_route("/ready", methods=get)
    async def ready() -> JSONResponse:
        """Readiness probe: 200 once this worker serves and (``--workers N``) all N workers have built their routers."""
        state = server.readiness()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    @app.api_route("/metrics", dependencies=[auth], methods=get)
    async def metrics_page() -> Response:
        return Response(await asyncio.to_thread(metrics.render), media_type=ServerMetrics.CONTENT_TYPE)

    static_dir = Path(settings.static_dir) if settings.static_dir else STATIC_DIR
    chat_page = static_dir / "chat.html"

    async def page() -> Response:
        if chat_page.is_file():
            return FileResponse(chat_page, media_type="text/html")
        return JSONResponse(
            {
                "name": "routellm",
                "version": __version__,
                "endpoints": ["/v1/chat/completions", "/v1/models", "/health", "/ready", "/metrics"],
                "models": [m["id"] for m in server.model_list()["data"]],
            }
        )

    app.add_api_route("/", page, include_in_schema=False, methods=get)
    app.add_api_route("/chat", page, include_in_schema=False, methods=get)
    if static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=static_dir), name="static")
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory for ``--workers N``: settings come from ``ROUTELLM_SERVE_SETTINGS``."""
    return create_app(ServerSettings.from_env())


__all__ = [
    "create_app",
    "app_from_env",
    "build_controller",
    "build_endpoint",
    "RouterServer",
    "ServerSettings",
    "parse_model_name",
]
