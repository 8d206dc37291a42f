"""Controller: a drop-in for the OpenAI Python client that routes each request.

``client.chat.completions.create(model="router-mf-0.116", messages=...)`` scores
the request with the named router, applies the threshold rule and calls the
strong or weak model through litellm. ``acreate`` is the async variant; both
accept ``stream=True``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from .config import load_config
from .errors import RoutingError
from .litellm_import import import_litellm
from .messages import POLICIES, routing_text
from .plugins import PluginRegistry, get_registry
from .router import Router
from .threshold import parse_model_name, route_strong, validate_threshold

_ROUTING_KWARGS = ("router", "threshold", "routing_policy")


@dataclass(frozen=True)
class ModelEndpoint:
    """A model litellm can call: a litellm model id plus optional endpoint settings.

    For any OpenAI-compatible server (Ollama, llama.cpp, vLLM) use
    ``model="openai/<served-name>"`` with ``api_base`` pointing at its ``/v1``.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def litellm_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(self.extra)
        kwargs["model"] = self.model
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        return kwargs

    def __repr__(self) -> str:  # never show the key
        return f"ModelEndpoint(model={self.model!r}, api_base={self.api_base!r})"


@dataclass(frozen=True)
class Decision:
    """Which model a request goes to, and why."""

    router: str
    threshold: float
    score: float
    strong: bool
    endpoint: ModelEndpoint

    @property
    def model(self) -> str:
        return self.endpoint.model


def as_endpoint(model: str | ModelEndpoint, api_base: str | None, api_key: str | None) -> ModelEndpoint:
    if isinstance(model, ModelEndpoint):
        return model
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"a model must be a non-empty string or a ModelEndpoint, got {model!r}")
    return ModelEndpoint(model=model, api_base=api_base, api_key=api_key)


class Controller:
    """Routes chat completions between a strong and a weak model.

    Args:
        routers: names of the routers to build (eagerly, so bad config fails now).
        strong_model, weak_model: litellm model ids or :class:`ModelEndpoint`.
        config: ``{router: kwargs}`` or a path to a YAML config file.
        api_base, api_key: defaults for both models given as strings.
        routing_policy: ``"last_user"`` (default) or ``"conversation"``.
    """

    def __init__(
        self,
        routers: Sequence[str],
        strong_model: str | ModelEndpoint,
        weak_model: str | ModelEndpoint,
        config: Mapping[str, Mapping[str, Any]] | str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        routing_policy: str = "last_user",
        registry: PluginRegistry | None = None,
    ) -> None:
        if isinstance(routers, str):
            routers = [routers]
        if not routers:
            raise RoutingError("give at least one router")
        if routing_policy not in POLICIES:
            raise RoutingError(f"unknown routing policy {routing_policy!r}; valid: {', '.join(POLICIES)}")
        if config is None or isinstance(config, Mapping):
            config_map = dict(config or {})
        else:
            config_map = load_config(config)
        self.registry = registry or get_registry()
        self.routers: dict[str, Router] = {
            name: self.registry.create_router(name, config_map.get(name)) for name in dict.fromkeys(routers)
        }
        self.strong = as_endpoint(strong_model, api_base, api_key)
        self.weak = as_endpoint(weak_model, api_base, api_key)
        self.routing_policy = routing_policy
        self._counts: dict[str, Counter] = defaultdict(Counter)
        self._lock = threading.Lock()
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.completion, acreate=self.acompletion))

    # -- routing -------------------------------------------------------------------
    @property
    def model_counts(self) -> dict[str, dict[str, int]]:
        """How many requests each router sent to each model."""
        with self._lock:
            return {router: dict(counts) for router, counts in self._counts.items()}

    def resolve(self, model: Any = None, router: str | None = None, threshold: Any = None) -> tuple[str, float]:
        """Router name and threshold from explicit arguments or from the model name."""
        if router is not None or threshold is not None:
            if router is None or threshold is None:
                raise RoutingError("give both 'router' and 'threshold', or a model name like 'router-mf-0.116'")
            name, value = router, validate_threshold(threshold)
            if model is not None and model != "":
                parsed = parse_model_name(model)
                if parsed != (name, value):
                    raise RoutingError(f"model {model!r} contradicts router={router!r}, threshold={threshold!r}")
        else:
            if model is None:
                raise RoutingError("no model given: use a model name like 'router-mf-0.116'")
            name, value = parse_model_name(model)
        if name not in self.routers:
            available = ", ".join(sorted(self.routers))
            raise RoutingError(f"router {name!r} is not enabled here; enabled routers: {available}")
        return name, value

    def decision_for(self, router_name: str, threshold: float, score: float) -> Decision:
        """Apply the threshold rule to a score the router already gave."""
        strong = route_strong(score, threshold)
        return Decision(router_name, threshold, score, strong, self.strong if strong else self.weak)

    def _decide(self, router_name: str, threshold: float, prompt: str) -> Decision:
        score = float(self.routers[router_name].score_checked([prompt])[0])
        return self.decision_for(router_name, threshold, score)

    def decide(self, messages: Any, model: Any = None, *, router: str | None = None, threshold: Any = None,
               routing_policy: str | None = None) -> Decision:
        """Score a request and pick the model, without calling it."""
        name, value = self.resolve(model, router, threshold)
        prompt = routing_text(messages, routing_policy or self.routing_policy)
        return self._decide(name, value, prompt)

    async def adecide(self, messages: Any, model: Any = None, *, router: str | None = None, threshold: Any = None,
                      routing_policy: str | None = None) -> Decision:
        """:meth:`decide` with scoring in a worker thread, so the event loop never blocks."""
        name, value = self.resolve(model, router, threshold)
        prompt = routing_text(messages, routing_policy or self.routing_policy)
        return await asyncio.to_thread(self._decide, name, value, prompt)

    def route(self, prompt: str, router: str, threshold: float) -> str:
        """The model a prompt would be sent to (RouteLLM's ``Controller.route``)."""
        name, value = self.resolve(None, router, threshold)
        return self._decide(name, value, prompt).model

    def record(self, decision: Decision, model: str | None = None) -> None:
        with self._lock:
            self._counts[decision.router][model or decision.model] += 1

    # -- calling models ------------------------------------------------------------------
    @staticmethod
    def _call_kwargs(endpoint: ModelEndpoint, kwargs: dict[str, Any]) -> dict[str, Any]:
        call = {k: v for k, v in kwargs.items() if k not in _ROUTING_KWARGS and k != "model"}
        call.update(endpoint.litellm_kwargs())
        return call

    def call_model(self, endpoint: ModelEndpoint, **kwargs: Any) -> Any:
        """Call one model through litellm; the response's ``model`` is the endpoint's model."""
        litellm = import_litellm()
        response = litellm.completion(**self._call_kwargs(endpoint, kwargs))
        if kwargs.get("stream"):
            return _relabel_stream(response, endpoint.model)
        response.model = endpoint.model
        return response

    async def acall_model(self, endpoint: ModelEndpoint, **kwargs: Any) -> Any:
        litellm = import_litellm()
        response = await litellm.acompletion(**self._call_kwargs(endpoint, kwargs))
        if kwargs.get("stream"):
            return _arelabel_stream(response, endpoint.model)
        response.model = endpoint.model
        return response

    def completion(self, *, messages: Any, model: Any = None, router: str | None = None, threshold: Any = None,
                   routing_policy: str | None = None, **kwargs: Any) -> Any:
        """Route and call: same arguments as ``openai.chat.completions.create``."""
        decision = self.decide(messages, model, router=router, threshold=threshold, routing_policy=routing_policy)
        self.record(decision)
        return self.call_model(decision.endpoint, messages=messages, **kwargs)

    async def acompletion(self, *, messages: Any, model: Any = None, router: str | None = None, threshold: Any = None,
                          routing_policy: str | None = None, **kwargs: Any) -> Any:
        """Async :meth:`completion`."""
        decision = await self.adecide(messages, model, router=router, threshold=threshold, routing_policy=routing_policy)
        self.record(decision)
        return await self.acall_model(decision.endpoint, messages=messages, **kwargs)


def _relabel_stream(stream: Any, model: str) -> Iterator[Any]:
    for chunk in stream:
        chunk.model = model
        yield chunk


async def _arelabel_stream(stream: Any, model: str) -> AsyncIterator[Any]:
    async for chunk in stream:
        chunk.model = model
        yield chunk
