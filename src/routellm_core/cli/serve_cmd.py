"""``routellm serve``: the OpenAI-compatible router server (uvicorn)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from typing import TYPE_CHECKING, Iterator

from ..errors import ConfigError, MissingDependencyError
from ..messages import POLICIES
from ..threshold import validate_threshold
from .common import Subparsers, positive_float, positive_int

if TYPE_CHECKING:
    from uvicorn.supervisors import Multiprocess

    from ..server.settings import ServerSettings


def _threshold_pair(text: str) -> tuple[str, float]:
    router, sep, value = text.partition("=")
    if not sep or not router:
        raise argparse.ArgumentTypeError(f"expected ROUTER=THRESHOLD, got {text!r}")
    try:
        return router, validate_threshold(value)
    except Exception as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _in_flight(text: str) -> int | None:
    """``--max-in-flight``: a positive integer, ``auto`` (None: derived) or ``off`` (0: no bound)."""
    value = text.strip().lower()
    if value == "auto":
        return None
    if value == "off":
        return 0
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, 'auto' or 'off', got {text!r}")
    return number


def _queue_size(text: str) -> int | None:
    """``--max-queue``: an integer >= 0 or ``auto``."""
    if text.strip().lower() == "auto":
        return None
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0 or 'auto', got {text!r}")
    return number


def _seconds_or_auto(text: str) -> float | None:
    """``--queue-timeout``: seconds > 0 or ``auto``."""
    return None if text.strip().lower() == "auto" else positive_float(text)


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    from ..server.settings import (
        DEFAULT_BODY_TIMEOUT,
        DEFAULT_HEADER_TIMEOUT,
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_MESSAGES,
        DEFAULT_MAX_TEXT_CHARS,
        DEFAULT_THRESHOLD,
        SERVER_API_KEY_ENV,
    )

    parser = sub.add_parser(
        "serve",
        help="run the OpenAI-compatible router server",
        description="Serve POST /v1/chat/completions: the model name 'router-<router>-<threshold>' picks the router, "
        "which sends each request to the strong or the weak model (strong iff score >= threshold). With --models FILE "
        "it routes among N models instead: 'router-<router>-<w>' with the cost knob w in [0, 1] (0: the best predicted "
        "model, 1: the cheapest), 'router-<router>-q<level>' to the cheapest model predicted at least <level>.",
    )
    parser.add_argument(
        "--routers", nargs="+", required=True, metavar="ROUTER", help="routers to enable (see `routellm plugins`)"
    )
    parser.add_argument("--strong-model", help="litellm model id of the strong model (two-model routing)")
    parser.add_argument("--weak-model", help="litellm model id of the weak model (two-model routing)")
    parser.add_argument(
        "--models",
        metavar="FILE",
        help="YAML file with a 'models:' list to route among instead of --strong-model/--weak-model: each entry "
        "{name (the router's name for the model), model (litellm id), api_base, api_key, price: {input, output} "
        "USD per 1M tokens (default: litellm's cost map)}",
    )
    parser.add_argument(
        "--expected-output-tokens",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --models: output tokens a request is expected to produce, for its expected cost "
        "(default: the file's, else 256; a request's max_tokens when smaller)",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML file: router name -> keyword arguments")
    parser.add_argument("--base-url", help="OpenAI-compatible base URL (…/v1) for every model without its own")
    parser.add_argument(
        "--api-key", help="upstream API key for every model without its own (prefer the provider's environment variable)"
    )
    parser.add_argument("--strong-base-url", help="base URL of the strong model (overrides --base-url)")
    parser.add_argument("--strong-api-key", help="API key of the strong model")
    parser.add_argument("--weak-base-url", help="base URL of the weak model (overrides --base-url)")
    parser.add_argument("--weak-api-key", help="API key of the weak model")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=6060, help="port (default 6060)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument(
        "--graceful-timeout",
        type=positive_float,
        default=30.0,
        help="on SIGTERM/SIGINT: stop accepting, then give in-flight requests (streams too) this many "
        "seconds to finish before closing them (default 30)",
    )
    parser.add_argument(
        "--server-api-key",
        action="append",
        default=None,
        metavar="KEY",
        help=f"require 'Authorization: Bearer KEY' (repeatable; or set {SERVER_API_KEY_ENV}, comma-separated)",
    )
    parser.add_argument(
        "--fallback",
        action="store_true",
        help="if the routed model fails, retry once on the other model (with --models: the best predicted other one)",
    )
    parser.add_argument("--timeout", type=positive_float, default=60.0, help="seconds allowed per upstream call (default 60)")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"larger request bodies get HTTP 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--max-messages",
        type=int,
        default=DEFAULT_MAX_MESSAGES,
        help=f"requests with more messages get HTTP 413 (default {DEFAULT_MAX_MESSAGES})",
    )
    parser.add_argument(
        "--max-text-chars",
        type=int,
        default=DEFAULT_MAX_TEXT_CHARS,
        help=f"requests with more characters of message text get HTTP 413 (default {DEFAULT_MAX_TEXT_CHARS})",
    )
    parser.add_argument(
        "--header-timeout",
        type=positive_float,
        default=DEFAULT_HEADER_TIMEOUT,
        help=f"seconds a client has to send a request's headers (default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=positive_float,
        default=DEFAULT_BODY_TIMEOUT,
        help=f"seconds a client has to send a request's body after its headers (default {DEFAULT_BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--default-threshold",
        type=validate_threshold,
        default=DEFAULT_THRESHOLD,
        help=f"threshold (with --models: cost knob) listed by /v1/models for each router (default {DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--threshold",
        type=_threshold_pair,
        action="append",
        default=[],
        metavar="ROUTER=T",
        help="threshold (with --models: cost knob) listed by /v1/models for one router (repeatable)",
    )
    parser.add_argument(
        "--routing-policy",
        choices=POLICIES,
        default="last_user",
        help="what the router scores: the last user turn (default) or the whole conversation",
    )
    parser.add_argument(
        "--upstream-client",
        choices=("auto", "litellm", "openai"),
        default="auto",
        help="auto (default): pooled direct HTTP calls for 'openai/<model>' with a base URL, litellm otherwise",
    )
    parser.add_argument(
        "--score-batch-size",
        type=int,
        default=64,
        help="at most this many concurrent requests are scored in one router call (default 64)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=_in_flight,
        default=None,
        metavar="N|auto|off",
        help="admission control: chat requests each worker handles at once (scoring, upstream call, stream); "
        "more wait in a small queue, beyond it HTTP 429 with Retry-After. auto (default): derived from the "
        "cores per worker and the routers' scoring cost; off: no bound",
    )
    parser.add_argument(
        "--max-queue",
        type=_queue_size,
        default=None,
        metavar="N|auto",
        help="requests that may wait for a slot in each worker (default auto: a quarter of --max-in-flight)",
    )
    parser.add_argument(
        "--queue-timeout",
        type=_seconds_or_auto,
        default=None,
        metavar="S|auto",
        help="seconds a request may wait for a slot before it gets HTTP 429 (default auto)",
    )
    parser.add_argument(
        "--lag-target",
        type=_seconds_or_auto,
        default=None,
        metavar="S|auto",
        help="the adaptive --max-in-flight keeps each worker's event loop lag (median) below this: lower answers "
        "faster and admits fewer, higher admits more (default auto: 0.005)",
    )
    parser.add_argument(
        "--timeout-keep-alive",
        type=int,
        default=75,
        help="seconds an idle client connection is kept open (default 75, above common client pool expiries)",
    )
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    return parser


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    from ..server.settings import SERVER_API_KEY_ENV, ServerSettings

    keys = list(args.server_api_key or [])
    if not keys and os.environ.get(SERVER_API_KEY_ENV):
        keys = [k.strip() for k in os.environ[SERVER_API_KEY_ENV].split(",") if k.strip()]
    if args.models and (args.strong_model or args.weak_model):
        raise ConfigError("give --models FILE or --strong-model and --weak-model, not both")
    if not args.models and not (args.strong_model and args.weak_model):
        raise ConfigError("give --strong-model and --weak-model, or --models FILE to route among N models")
    if args.expected_output_tokens is not None and not args.models:
        raise ConfigError("--expected-output-tokens needs --models FILE")
    return ServerSettings(
        routers=list(args.routers),
        models=os.path.abspath(args.models) if args.models else None,
        expected_output_tokens=args.expected_output_tokens,
        strong_model=args.strong_model,
        weak_model=args.weak_model,
        config=os.path.abspath(args.config) if args.config else None,
        base_url=args.base_url,
        api_key=args.api_key,
        strong_base_url=args.strong_base_url,
        strong_api_key=args.strong_api_key,
        weak_base_url=args.weak_base_url,
        weak_api_key=args.weak_api_key,
        server_api_keys=keys,
        fallback=args.fallback,
        timeout=args.timeout,
        max_body_bytes=args.max_body_bytes,
        max_messages=args.max_messages,
        max_text_chars=args.max_text_chars,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        default_threshold=args.default_threshold,
        thresholds=dict(args.threshold),
        routing_policy=args.routing_policy,
        upstream_client=args.upstream_client,
        score_batch_size=args.score_batch_size,
        workers=args.workers,
        max_in_flight=args.max_in_flight,
        max_queue=args.max_queue,
        queue_timeout=args.queue_timeout,
        lag_target=args.lag_target,
    )


def run(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(exc.name or "fastapi", "routellm serve", "pip install 'routellm-core[serve]'") from None
    import uvicorn

    from ..server import SETTINGS_ENV, create_app
    from ..server.protocol import ENV_PROTOCOL, http_protocol

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    settings = settings_from_args(args)
    app = create_app(settings)  # builds the routers now: unknown routers and bad config fail before listening
    models = ", ".join(m["id"] for m in app.state.routellm.model_list()["data"])
    auth = f"{len(settings.server_api_keys)} API key(s) required" if settings.server_api_keys else "no API key required"
    plan = app.state.routellm.admission_plan
    admission = plan.describe() if plan is not None else "off (--max-in-flight off)"
    controller = app.state.routellm.controller
    if controller.models is not None:
        listed = ", ".join(
            f"{m.name}={m.model} (${m.price.input_per_million:g}/${m.price.output_per_million:g} per 1M)"
            for m in controller.models
        )
        targets = f"routing among {listed}; the number in a model name is the cost knob"
    else:
        targets = f"strong={controller.strong.model}, weak={controller.weak.model}"
    print(
        f"routellm serve: http://{args.host}:{args.port}/v1 — models {models}; {targets}; {auth}; "
        f"fallback {'on' if settings.fallback else 'off'}; timeout {settings.timeout:g}s; admission: {admission}",
        file=sys.stderr,
        flush=True,
    )
    common = dict(
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        timeout_graceful_shutdown=args.graceful_timeout,
        timeout_keep_alive=args.timeout_keep_alive,
    )
    # uvicorn re-raises the SIGTERM it handled once it has drained; a drained shutdown is a clean exit (status 0)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    if args.workers == 1:
        uvicorn.run(app, http=http_protocol(settings.header_timeout, settings.body_timeout), **common)
        return 0
    del app
    os.environ[SETTINGS_ENV] = settings.to_json()
    with multiprocess_metrics_dir():
        config = uvicorn.Config(
            "routellm_core.server.app:app_from_env", factory=True, workers=args.workers, http=ENV_PROTOCOL, **common
        )
        sock = config.bind_socket()
        try:
            _draining_supervisor()(config, sockets=[sock]).run()
        except KeyboardInterrupt:
            pass
    return 0


def _draining_supervisor() -> type[Multiprocess]:
    """uvicorn's worker supervisor, closing its copy of the listening socket before it stops the workers.

    Each worker stops accepting and drains its in-flight requests on SIGTERM; without this the supervisor
    kept the socket listening, so new connections queued in the kernel during the drain and were reset at exit.
    """
    from uvicorn.supervisors import Multiprocess

    class DrainingMultiprocess(Multiprocess):
        def terminate_all(self) -> None:
            for sock in self.sockets:
                sock.close()
            super().terminate_all()

    return DrainingMultiprocess


@contextlib.contextmanager
def multiprocess_metrics_dir() -> Iterator[str]:
    """``PROMETHEUS_MULTIPROC_DIR`` for the workers: the caller's, or a fresh temporary one removed afterwards.

    Set before the workers start (they import ``prometheus_client`` fresh), so every worker writes its values
    there and ``/metrics`` sums them.
    """
    from ..server.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        if not os.path.isdir(given):
            raise ConfigError(f"{MULTIPROC_ENV}={given!r} is not a directory")
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="routellm-metrics-") as directory:
        os.environ[MULTIPROC_ENV] = directory
        try:
            yield directory
        finally:
            del os.environ[MULTIPROC_ENV]
