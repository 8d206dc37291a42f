"""Controller: a drop-in for the OpenAI Python client that routes each request.

``client.chat.completions.create(model="router-mf-0.116", messages=...)`` scores
the request with the named router, applies the threshold rule and calls the
strong or weak model through litellm. ``acreate`` is the async variant; both
accept ``stream=True``.

With a models list (``Controller(["mf"], models=[...])``, see
:mod:`routellm_core.model_set`) requests are routed among N models instead:
``router-mf-0.3`` routes with the cost knob 0.3 (0: the best predicted model,
1: the cheapest) and ``router-mf-q0.8`` to the cheapest model predicted at least
0.8; :attr:`Controller.model_counts` and :attr:`Controller.expected_cost` keep
the tally.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from types import SimpleNamespace
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from .config import load_config
from .errors import ConfigError, RoutingError
from .litellm_import import import_litellm
from .model_set import ModelSet, parse_models, read_models_file
from .plugins import PluginRegistry, get_registry
from .router import Router
from .routing import AnyRoute, Decision, ModelEndpoint, Route, RoutingCore

_ROUTING_KWARGS = ("router", "threshold", "routing_policy")


def as_endpoint(model: str | ModelEndpoint, api_base: str | None, api_key: str | None) -> ModelEndpoint:
    if isinstance(model, ModelEndpoint):
        return model
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"a model must be a non-empty string or a ModelEndpoint, got {model!r}")
    return ModelEndpoint(model=model, api_base=api_base, api_key=api_key)


class Controller:
    """Routes chat completions between a strong and a weak model, or among a models list.

    Args:
        routers: names of the routers to build (eagerly, so bad config fails now).
        strong_model, weak_model: litellm model ids or :class:`ModelEndpoint` (two-model routing).
        config: ``{router: kwargs}`` or a path to a YAML config file.
        api_base, api_key: defaults for the models given as strings (and for list entries without their own).
        routing_policy: ``"last_user"`` (default) or ``"conversation"``.
        models: instead of ``strong_model`` and ``weak_model``, the models to route among: a list of entries
            ``{name, model, api_base, api_key, price}``, a mapping with a ``models:`` list, a
            :class:`~routellm_core.model_set.ModelSet`, or the path of a YAML file holding the mapping
            (:func:`~routellm_core.model_set.parse_models`). Prices missing from an entry come from litellm's
            cost map; a model without one is a ConfigError.
        expected_output_tokens: output tokens a request is expected to produce, for its expected cost
            (default 256, or the list's; the request's ``max_tokens`` when smaller).

    The routers are built first; the shared :class:`~routellm_core.routing.RoutingCore` then checks
    the setup (at least one router, a known routing policy) and raises RoutingError if it is wrong.
    """

    def __init__(
        self,
        routers: Sequence[str],
        strong_model: str | ModelEndpoint | None = None,
        weak_model: str | ModelEndpoint | None = None,
        config: Mapping[str, Mapping[str, Any]] | str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        routing_policy: str = "last_user",
        registry: PluginRegistry | None = None,
        models: ModelSet | Sequence[Any] | Mapping[str, Any] | str | None = None,
        expected_output_tokens: int | None = None,
    ) -> None:
        if isinstance(routers, str):
            routers = [routers]
        config_map: Mapping[str, Mapping[str, Any]]
        if config is None or isinstance(config, Mapping):
            config_map = dict(config or {})
        else:
            config_map = load_config(config)
        model_set: ModelSet | None = None
        if models is not None:
            if strong_model is not None or weak_model is not None:
                raise ConfigError("give either strong_model and weak_model or a models list, not both")
            data = read_models_file(models) if isinstance(models, str) else models
            model_set = parse_models(
                data,
                source=models if isinstance(models, str) else "models",
                api_base=api_base,
                api_key=api_key,
                expected_output_tokens=expected_output_tokens,
            )
        elif strong_model is None or weak_model is None:
            raise ConfigError("give strong_model and weak_model, or a models list to route among (models=...)")
        self.registry = registry or get_registry()
        routers_built = {name: self.registry.create_router(name, config_map.get(name)) for name in dict.fromkeys(routers)}
        if model_set is None:
            assert strong_model is not None and weak_model is not None
            self.core = RoutingCore(
                routers_built,
                as_endpoint(strong_model, api_base, api_key),
                as_endpoint(weak_model, api_base, api_key),
                routing_policy,
            )
        else:
            self.core = RoutingCore(routers_built, routing_policy=routing_policy, models=model_set)
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._cost: dict[str, float] = defaultdict(float)
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
    def models(self) -> ModelSet | None:
        """The models list routed among (None: two-model routing)."""
        return self.core.models

    @property
    def model_counts(self) -> dict[str, dict[str, int]]:
        """How many requests each router sent to each model."""
        with self._lock:
            return {router: dict(counts) for router, counts in self._counts.items()}

    @property
    def expected_cost(self) -> dict[str, float]:
        """With a models list: the expected cost (USD) of the requests each router sent, summed."""
        with self._lock:
            return dict(self._cost)

    def resolve(self, model: Any = None, router: str | None = None, threshold: Any = None) -> AnyRoute:
        """The route of explicit arguments or of the model name (see :meth:`RoutingCore.resolve`)."""
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
        max_tokens: Any = None,
    ) -> Decision:
        """Score a request and pick the model, without calling it."""
        return self.core.decide(
            messages, model, router=router, threshold=threshold, routing_policy=routing_policy, max_tokens=max_tokens
        )

    async def adecide(
        self,
        messages: Any,
        model: Any = None,
        *,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
        max_tokens: Any = None,
    ) -> Decision:
        """:meth:`decide` with scoring in a worker thread, so the event loop never blocks."""
        return await self.core.adecide(
            messages, model, router=router, threshold=threshold, routing_policy=routing_policy, max_tokens=max_tokens
        )

    def route(self, prompt: str, router: str, threshold: float) -> str:
        """The model a prompt would be sent to (RouteLLM's ``Controller.route``)."""
        if self.core.models is not None:
            raise RoutingError("with a models list, use decide(messages, model='router-<router>-<w>') instead of route()")
        route = self.core.resolve(None, router, threshold)
        assert isinstance(route, Route)
        return self.core.decision_for(route.router, route.threshold, self.core.score(route.router, prompt)).model

    def record(self, decision: Decision, model: str | None = None) -> None:
        """Count a request for the model that answered (and, with a models list, its expected cost)."""
        with self._lock:
            self._counts[decision.router][model or decision.model] += 1
            if decision.expected_cost is not None:
                cost = decision.expected_cost
                if model is not None and model != decision.model:  # another model answered (a fallback)
                    cost = next((c for e, c in zip(decision.endpoints, decision.costs, strict=True) if e.model == model), cost)
                self._cost[decision.router] += cost

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
        decision = self.decide(
            messages, model, router=router, threshold=threshold, routing_policy=routing_policy, max_tokens=_max_tokens(kwargs)
        )
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
        decision = await self.adecide(
            messages, model, router=router, threshold=threshold, routing_policy=routing_policy, max_tokens=_max_tokens(kwargs)
        )
        self.record(decision)
        return await self.acall_model(decision.endpoint, messages=messages, **kwargs)


def _max_tokens(kwargs: Mapping[str, Any]) -> Any:
    """The request's output token cap (``max_completion_tokens`` or ``max_tokens``), for the expected cost."""
    value = kwargs.get("max_completion_tokens")
    return value if value is not None else kwargs.get("max_tokens")


def _relabel_stream(stream: Any, model: str) -> Iterator[Any]:
    for chunk in stream:
        chunk.model = model
        yield chunk


async def _arelabel_stream(stream: Any, model: str) -> AsyncIterator[Any]:
    async for chunk in stream:
        chunk.model = model
        yield chunk


__all__ = ["Controller", "Decision", "ModelEndpoint", "as_endpoint"]
