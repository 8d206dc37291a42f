"""Controller: a drop-in for the OpenAI Python client that routes each request.

``client.chat.completions.create(model="router-mf-0.116", messages=...)`` scores
the request with the named router, applies the threshold rule and calls the
strong or weak model through litellm. ``acreate`` is the async variant; both
accept ``stream=True``.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from .config import load_config
from .litellm_import import import_litellm
from .plugins import PluginRegistry, get_registry
from .router import Router
from .routing import Decision, ModelEndpoint, Route, RoutingCore

_ROUTING_KWARGS = ("router", "threshold", "routing_policy")


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

    The routers are built first; the shared :class:`~routellm_core.routing.RoutingCore` then checks
    the setup (at least one router, a known routing policy) and raises RoutingError if it is wrong.
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
        config_map: Mapping[str, Mapping[str, Any]]
        if config is None or isinstance(config, Mapping):
            config_map = dict(config or {})
        else:
            config_map = load_config(config)
        self.registry = registry or get_registry()
        routers_built = {name: self.registry.create_router(name, config_map.get(name)) for name in dict.fromkeys(routers)}
        self.core = RoutingCore(
            routers_built,
            as_endpoint(strong_model, api_base, api_key),
            as_endpoint(weak_model, api_base, api_key),
            routing_policy,
        )
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._lock = threading.Lock()
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.completion, acreate=self.acompletion))

    # -- routing (all of it in the shared RoutingCore) ----------------------------------
    @property
    def routers(self) -> dict[str, Router]:
        return self.core.routers

    @property
    def strong(self) -> ModelEndpoint:
        return self.core.strong

    @property
    def weak(self) -> ModelEndpoint:
        return self.core.weak

    @property
    def routing_policy(self) -> str:
        return self.core.routing_policy

    @property
    def model_counts(self) -> dict[str, dict[str, int]]:
        """How many requests each router sent to each model."""
        with self._lock:
            return {router: dict(counts) for router, counts in self._counts.items()}

    def resolve(self, model: Any = None, router: str | None = None, threshold: Any = None) -> Route:
        """The route (router name, threshold) of explicit arguments or of the model name."""
        return self.core.resolve(model, router, threshold)

    def decision_for(self, router_name: str, threshold: float, score: float) -> Decision:
        """Apply the threshold rule to a score the router already gave."""
        return self.core.decision_for(router_name, threshold, score)

    def decide(
        self,
        messages: Any,
        model: Any = None,
        *,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
    ) -> Decision:
        """Score a request and pick the model, without calling it."""
        return self.core.decide(messages, model, router=router, threshold=threshold, routing_policy=routing_policy)

    async def adecide(
        self,
        messages: Any,
        model: Any = None,
        *,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
    ) -> Decision:
        """:meth:`decide` with scoring in a worker thread, so the event loop never blocks."""
        return await self.core.adecide(messages, model, router=router, threshold=threshold, routing_policy=routing_policy)

    def route(self, prompt: str, router: str, threshold: float) -> str:
        """The model a prompt would be sent to (RouteLLM's ``Controller.route``)."""
        route = self.core.resolve(None, router, threshold)
        return self.core.decision_for(route.router, route.threshold, self.core.score(route.router, prompt)).model

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

    def completion(
        self,
        *,
        messages: Any,
        model: Any = None,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Route and call: same arguments as ``openai.chat.completions.create``."""
        decision = self.decide(messages, model, router=router, threshold=threshold, routing_policy=routing_policy)
        self.record(decision)
        return self.call_model(decision.endpoint, messages=messages, **kwargs)

    async def acompletion(
        self,
        *,
        messages: Any,
        model: Any = None,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
        **kwargs: Any,
    ) -> Any:
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


__all__ = ["Controller", "Decision", "ModelEndpoint", "as_endpoint"]
