"""Server settings: one dataclass, JSON round-trip for multi-worker uvicorn."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..threshold import validate_threshold

if TYPE_CHECKING:
    from .parsing import RequestLimits

#: environment variable carrying the settings (JSON) to uvicorn worker processes
SETTINGS_ENV = "ROUTELLM_SERVE_SETTINGS"
#: environment variable with the server's API key(s), comma-separated
SERVER_API_KEY_ENV = "ROUTELLM_SERVER_API_KEY"

DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_TEXT_CHARS = 1_000_000
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0


@dataclass
class ServerSettings:
    """Everything :func:`routellm_core.server.create_app` needs.

    Args:
        routers: routers to enable (built when the app is created, so bad names fail fast).
        strong_model, weak_model: litellm model ids (``openai/<name>`` for any OpenAI-compatible server).
        models: instead of the strong and weak models, the models to route among: a list of entries
            ``{name, model, api_base, api_key, price}``, a mapping with a ``models:`` list, or the path of a
            YAML file holding one (:mod:`routellm_core.model_set`). ``router-<router>-<w>`` then routes with
            the cost knob ``w``, ``router-<router>-q<level>`` to the cheapest model predicted at least ``level``.
        expected_output_tokens: output tokens a request is expected to produce, for its expected cost with a
            models list (None: the list's, 256 by default; the request's ``max_tokens`` when smaller).
        config: YAML config path or ``{router: kwargs}``.
        base_url, api_key: upstream endpoint and key for both models; the ``strong_*`` /
            ``weak_*`` variants override them per model. A model without a provider
            prefix that is given a base URL is called as ``openai/<model>``.
        server_api_keys: keys clients must send (``Authorization: Bearer <key>``); empty = no auth.
        fallback: when the routed model fails (502/504), retry once on the other model.
        timeout: seconds allowed for each upstream call (and between stream chunks); it starts when
            the request is ready to send, so parsing a big request never counts against it.
        max_body_bytes: larger request bodies get HTTP 413.
        max_messages, max_text_chars: requests with more messages, or more characters of message
            text, get HTTP 413 naming the limit.
        header_timeout: a client must send a request's headers within this many seconds of starting it.
        body_timeout: ... and its whole body within this many seconds after the headers (else HTTP 408).
        default_threshold / thresholds: the threshold advertised by ``GET /v1/models``
            for each router (``thresholds`` overrides per router).
        routing_policy: ``last_user`` or ``conversation`` (what the router scores).
        upstream_retries: retries inside the upstream client (0: fallback is the retry).
        upstream_client: ``auto`` (pooled direct HTTP calls in OpenAI's wire format for ``openai/<model>``
            endpoints with a base URL, litellm for the rest), ``litellm`` (always), or ``openai`` (always direct).
        score_batch_size: at most this many concurrent requests are scored in one router call.
        static_dir: directory of the chat page (default: the package's ``static/``).
        workers: worker processes serving these settings together (``GET /ready`` waits for all of them).
        max_in_flight: admission control: chat requests each worker handles at once (scoring, upstream call,
            stream); more wait in a queue, and beyond it get HTTP 429. None: derived from the machine and the
            routers (:func:`~routellm_core.server.admission.derive_admission`); 0: no bound (every request is
            handled at once).
        max_queue: requests that may wait for a slot per worker (None: derived).
        queue_timeout: seconds a request may wait for a slot before it gets HTTP 429 (None: derived).
        lag_target: the derived, adaptive limit keeps the event loop's median lag below this many seconds: lower
            answers faster and admits fewer; higher admits more (None: the default).
    """

    routers: list[str]
    strong_model: str | None = None
    weak_model: str | None = None
    config: str | dict[str, Any] | None = None
    base_url: str | None = None
    api_key: str | None = None
    strong_base_url: str | None = None
    strong_api_key: str | None = None
    weak_base_url: str | None = None
    weak_api_key: str | None = None
    server_api_keys: list[str] = field(default_factory=list)
    fallback: bool = False
    timeout: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_messages: int = DEFAULT_MAX_MESSAGES
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    default_threshold: float = DEFAULT_THRESHOLD
    thresholds: dict[str, float] = field(default_factory=dict)
    routing_policy: str = "last_user"
    upstream_retries: int = 0
    upstream_client: str = "auto"
    score_batch_size: int = 64
    static_dir: str | None = None
    workers: int = 1
    max_in_flight: int | None = None
    max_queue: int | None = None
    queue_timeout: float | None = None
    lag_target: float | None = None
    models: list[Any] | dict[str, Any] | str | None = None
    expected_output_tokens: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.routers, str):
            self.routers = [self.routers]
        self.routers = list(self.routers)
        if self.models is None:
            if not self.strong_model or not self.weak_model:
                raise ConfigError("give strong_model and weak_model, or a models list to route among (models)")
        else:
            if self.strong_model or self.weak_model:
                raise ConfigError("give either strong_model and weak_model or a models list (models), not both")
            if not isinstance(self.models, (list, dict, str)):
                raise ConfigError(
                    f"models must be a list of models, a mapping with a 'models' list or a file path, got {self.models!r}"
                )
        if self.expected_output_tokens is not None and not _is_int(self.expected_output_tokens, 1):
            raise ConfigError(f"expected_output_tokens must be a positive integer, got {self.expected_output_tokens!r}")
        if isinstance(self.server_api_keys, str):
            self.server_api_keys = [self.server_api_keys]
        self.server_api_keys = [k for k in self.server_api_keys if k]
        for name in ("timeout", "header_timeout", "body_timeout"):
            setattr(self, name, _seconds(name, getattr(self, name)))
        if not isinstance(self.max_body_bytes, int) or self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be an integer >= 1024, got {self.max_body_bytes!r}")
        for name in ("max_messages", "max_text_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.upstream_retries, int) or self.upstream_retries < 0:
            raise ConfigError(f"upstream_retries must be a non-negative integer, got {self.upstream_retries!r}")
        if not isinstance(self.score_batch_size, int) or self.score_batch_size < 1:
            raise ConfigError(f"score_batch_size must be a positive integer, got {self.score_batch_size!r}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {self.workers!r}")
        if self.max_in_flight is not None and not _is_int(self.max_in_flight, 0):
            raise ConfigError(
                f"max_in_flight must be an integer >= 1, 0 (no admission control) or None (derived), got {self.max_in_flight!r}"
            )
        if self.max_queue is not None and not _is_int(self.max_queue, 0):
            raise ConfigError(f"max_queue must be an integer >= 0 or None (derived), got {self.max_queue!r}")
        for name in ("queue_timeout", "lag_target"):
            if getattr(self, name) is not None:
                setattr(self, name, _seconds(name, getattr(self, name)))
        if self.upstream_client not in ("auto", "litellm", "openai"):
            raise ConfigError(f"upstream_client must be auto, litellm or openai, got {self.upstream_client!r}")
        self.default_threshold = validate_threshold(self.default_threshold)
        self.thresholds = {str(k): validate_threshold(v) for k, v in dict(self.thresholds).items()}

    def request_limits(self) -> RequestLimits:
        from .parsing import RequestLimits  # needs the serve extra; settings alone do not

        return RequestLimits(max_messages=self.max_messages, max_text_chars=self.max_text_chars)

    def threshold_for(self, router: str) -> float:
        return self.thresholds.get(router, self.default_threshold)

    def __repr__(self) -> str:  # never show keys
        shown = {f.name: getattr(self, f.name) for f in fields(self) if "key" not in f.name and f.name != "models"}
        shown["models"] = self.models if isinstance(self.models, str) or self.models is None else "<models list>"
        shown["server_api_keys"] = f"<{len(self.server_api_keys)} key(s)>"
        return f"ServerSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    # -- JSON round trip (for uvicorn workers) ----------------------------------------
    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ServerSettings":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"server settings are not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("server settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown server settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "ServerSettings":
        env = os.environ if environ is None else environ
        text = env.get(SETTINGS_ENV)
        if not text:
            raise ConfigError(f"set {SETTINGS_ENV} to the server settings as JSON (routellm serve does this)")
        return cls.from_json(text)


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _seconds(name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return seconds
