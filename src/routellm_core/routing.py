"""The routing core shared by the Controller and the server: routers, resolve, decide.

A :class:`RoutingCore` holds the built routers, the endpoints and the routing
policy, and checks them (at least one router, a known policy) when it is made.
It turns a model name (or router + threshold) into a route
(:meth:`RoutingCore.resolve`), a chat request into the prompt the router scores,
and the router's output into a :class:`Decision`. A caller that has resolved the
model name already (the server, which labels its metrics and answers a bad name
with its own error) passes the route on (:meth:`RoutingCore.adecide_route`)
instead of resolving it again. How the router's output is computed is the
caller's: the Controller runs it in a worker thread, the server batches
concurrent requests (``score=`` / ``quality=`` of :meth:`RoutingCore.adecide`).

Two modes, fixed when the core is made:

- **two models** (``strong`` and ``weak``): ``router-<router>-<threshold>``
  resolves to a :class:`Route`; the prompt goes to the strong model iff
  score >= threshold.
- **a models list** (``models``, a :class:`~routellm_core.model_set.ModelSet`):
  ``router-<router>-<w>`` resolves to a :class:`ModelRoute` with the cost knob
  ``w`` (the number is the knob then, not a threshold) and
  ``router-<router>-q<level>`` to one with a quality floor. Each router predicts
  a quality per model (a :class:`~routellm_core.model_choice.QualityRouter`, or
  a two-model router through
  :class:`~routellm_core.model_choice.TwoModelQuality` when exactly two models
  are listed, the dearer as strong), each model's expected cost comes from its
  price, and :func:`~routellm_core.model_choice.choose` (knob) or
  :func:`~routellm_core.model_choice.cheapest_at_least` (floor) picks the model.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .errors import ConfigError, RoutingError
from .messages import check_policy, routing_text
from .model_choice import (
    QualityRouter,
    TwoModelQuality,
    cheapest_at_least,
    choose,
    predict_quality_checked,
    supports_quality,
)
from .model_set import ModelEndpoint, ModelSet, request_input_tokens
from .router import Router
from .threshold import KNOB, QUALITY_FLOOR, parse_model_name, parse_nmodel_name, route_strong, validate_threshold

#: an async scorer: ``await score(router_name, prompt) -> float``
AsyncScore = Callable[[str, str], Awaitable[float]]
#: an async quality predictor: ``await quality(router_name, prompt) -> array (N,)`` in the models list's order
AsyncQuality = Callable[[str, str], Awaitable[np.ndarray]]

#: message lists longer than this are turned into the prompt in a worker thread
PROMPT_IN_THREAD_MESSAGES = 1000


class Route(NamedTuple):
    """A resolved model name: an enabled router and a valid threshold (from :meth:`RoutingCore.resolve`)."""

    router: str
    threshold: float


class ModelRoute(NamedTuple):
    """A resolved N-model name: an enabled router, the policy (``knob`` or ``quality_floor``) and its value in [0, 1]."""

    router: str
    policy: str
    value: float


@dataclass(frozen=True)
class Decision:
    """Which model a request goes to, and why.

    Two-model routing: ``threshold`` and ``score`` are the router's; ``strong`` says which endpoint. With a
    models list: ``threshold`` is the knob or quality level of the model name (``policy`` says which),
    ``score`` and ``quality`` the chosen model's predicted quality, ``strong`` whether it is the dearest
    model, ``model_name`` its name in the list, ``expected_cost`` its expected cost (USD) for this request;
    ``names``, ``qualities`` and ``costs`` hold every model's, and ``fallback_endpoint`` is where a failed
    call is retried (the best predicted of the others).
    """

    router: str
    threshold: float
    score: float
    strong: bool
    endpoint: ModelEndpoint
    policy: str = "threshold"
    model_name: str | None = None
    quality: float | None = None
    expected_cost: float | None = None
    fallback_endpoint: ModelEndpoint | None = None
    names: tuple[str, ...] = ()
    endpoints: tuple[ModelEndpoint, ...] = ()
    qualities: tuple[float, ...] = ()
    costs: tuple[float, ...] = ()

    @property
    def model(self) -> str:
        return self.endpoint.model

    @property
    def n_model(self) -> bool:
        """True for a decision among a models list."""
        return self.policy != "threshold"

    def facts(self, endpoint: ModelEndpoint) -> tuple[str, float, float] | None:
        """``(name, predicted quality, expected cost)`` of a listed model (e.g. the one that answered); None if unknown."""
        for i, candidate in enumerate(self.endpoints):
            if candidate == endpoint:
                return self.names[i], self.qualities[i], self.costs[i]
        return None


AnyRoute = Route | ModelRoute


class RoutingCore:
    """Resolve model names, build the prompt, decide.

    Args:
        routers: built routers by name.
        strong, weak: the two endpoints (two-model routing), or None with ``models``.
        routing_policy: ``"last_user"`` or ``"conversation"`` (what the router scores).
        models: a models list to route among with the cost knob (instead of ``strong`` and ``weak``).

    Raises:
        RoutingError: no routers, or an unknown routing policy (checked in that order).
        ConfigError: neither or both of (strong, weak) and ``models``; a router that cannot predict for the
            listed models (a two-model router with other than two models, or a model a QualityRouter does not know).
    """

    def __init__(
        self,
        routers: Mapping[str, Router],
        strong: ModelEndpoint | None = None,
        weak: ModelEndpoint | None = None,
        routing_policy: str = "last_user",
        models: ModelSet | None = None,
    ) -> None:
        if not routers:
            raise RoutingError("give at least one router")
        self.routing_policy = check_policy(routing_policy)
        self.routers = dict(routers)
        self.models = models
        #: each router's quality predictor over the models list (empty for two-model routing)
        self.quality_routers: dict[str, QualityRouter] = {}
        if models is None:
            if strong is None or weak is None:
                raise ConfigError("give a strong and a weak model, or a models list to route among")
            self.strong, self.weak = strong, weak
            return
        if strong is not None or weak is not None:
            raise ConfigError("give either a strong and a weak model or a models list, not both")
        by_price = models.by_price()
        #: with a models list: the dearest and the cheapest model (for displays; routing uses the whole list)
        self.strong, self.weak = by_price[0].endpoint, by_price[-1].endpoint
        for name, router in self.routers.items():
            self.quality_routers[name] = self._quality_router(name, router, models)

    @staticmethod
    def _quality_router(name: str, router: Router, models: ModelSet) -> QualityRouter:
        if supports_quality(router):
            assert isinstance(router, QualityRouter)
            for model in models.names:
                try:
                    router.resolve_quality_model(model)
                except RoutingError as exc:
                    raise ConfigError(f"router {name!r} cannot route to the configured model {model!r}: {exc}") from None
            return router
        if len(models) == 2:
            strong, weak = models.by_price()
            return TwoModelQuality(router, strong.name, weak.name)
        raise ConfigError(
            f"router {name!r} scores two models (strong vs weak) and does not predict a quality per model, so it "
            f"cannot route among the {len(models)} configured models; configure exactly 2 models for it, or use a "
            "router that predicts quality per model (a QualityRouter, e.g. mf or sw_ranking)"
        )

    @property
    def endpoints(self) -> tuple[ModelEndpoint, ...]:
        """Every endpoint a request may go to: the models list's, or (strong, weak)."""
        return self.models.endpoints if self.models is not None else (self.strong, self.weak)

    def resolve(self, model: Any = None, router: str | None = None, threshold: Any = None) -> AnyRoute:
        """The route of explicit arguments or of the model name: a :class:`Route`, or with a models list a :class:`ModelRoute`.

        Raises RoutingError when they are missing, contradict each other, or name a router that is not enabled.
        """
        if self.models is not None:
            return self._resolve_nmodel(model, router, threshold)
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
        self._check_enabled(name)
        return Route(name, value)

    def _resolve_nmodel(self, model: Any, router: str | None, threshold: Any) -> ModelRoute:
        if threshold is not None:
            raise RoutingError(
                "with a models list there is no threshold: the number in the model name is the cost knob; "
                "use a model name like 'router-mf-0.3' (knob) or 'router-mf-q0.8' (quality floor)"
            )
        if model is None or model == "":
            raise RoutingError("no model given: use a model name like 'router-mf-0.3' (cost knob) or 'router-mf-q0.8'")
        name, policy, value = parse_nmodel_name(model)
        if router is not None and router != name:
            raise RoutingError(f"model {model!r} contradicts router={router!r}")
        self._check_enabled(name)
        return ModelRoute(name, policy, value)

    def _check_enabled(self, name: str) -> None:
        if name not in self.routers:
            available = ", ".join(sorted(self.routers))
            raise RoutingError(f"router {name!r} is not enabled here; enabled routers: {available}")

    def prompt(self, messages: Any, routing_policy: str | None = None) -> str:
        """The text the router scores (RoutingError when there is none)."""
        return routing_text(messages, routing_policy or self.routing_policy)

    def score(self, router: str, prompt: str) -> float:
        """Score one prompt with a router, synchronously."""
        return float(self.routers[router].score_checked([prompt])[0])

    def predict(self, router: str, prompts: Sequence[str]) -> np.ndarray:
        """``(len(prompts), N)``: the router's predicted quality of each listed model for each prompt (checked)."""
        if self.models is None:
            raise RoutingError("predicted quality per model needs a models list")
        return predict_quality_checked(self.quality_routers[router], prompts, self.models.names)

    def decision_for(self, router: str, threshold: float, score: float) -> Decision:
        """Apply the threshold rule to a score the router already gave."""
        strong = route_strong(score, threshold)
        return Decision(router, threshold, score, strong, self.strong if strong else self.weak)

    def request_costs(self, messages: Any, max_tokens: Any = None) -> np.ndarray:
        """Each listed model's expected cost (USD) for this request: its input text and the expected output tokens."""
        assert self.models is not None
        return self.models.costs(request_input_tokens(messages), self.models.output_tokens(max_tokens))

    def model_decision(
        self, route: ModelRoute, quality: Sequence[float] | np.ndarray, costs: Sequence[float] | np.ndarray
    ) -> Decision:
        """Pick a listed model from its predicted qualities and expected costs with the route's policy."""
        models = self.models
        assert models is not None
        q = np.asarray(quality, dtype=np.float64).reshape(-1)
        c = np.asarray(costs, dtype=np.float64).reshape(-1)
        if route.policy == KNOB:
            chosen = choose(q, c, route.value)
        elif route.policy == QUALITY_FLOOR:
            chosen = cheapest_at_least(q, c, route.value)
        else:
            raise RoutingError(f"unknown N-model policy {route.policy!r}; valid: {KNOB}, {QUALITY_FLOOR}")
        others = [j for j in range(len(models)) if j != chosen]
        fallback = max(others, key=lambda j: (q[j], -c[j], -j))
        spec = models.models[chosen]
        return Decision(
            route.router,
            route.value,
            float(q[chosen]),
            spec.endpoint == self.strong,
            spec.endpoint,
            policy=route.policy,
            model_name=spec.name,
            quality=float(q[chosen]),
            expected_cost=float(c[chosen]),
            fallback_endpoint=models.models[fallback].endpoint,
            names=models.names,
            endpoints=models.endpoints,
            qualities=tuple(float(v) for v in q),
            costs=tuple(float(v) for v in c),
        )

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
        """Resolve the model name, score the request and pick the model (synchronously)."""
        route = self.resolve(model, router, threshold)
        return self.decide_route(route, messages, routing_policy=routing_policy, max_tokens=max_tokens)

    def decide_route(
        self, route: AnyRoute, messages: Any, *, routing_policy: str | None = None, max_tokens: Any = None
    ) -> Decision:
        """:meth:`decide` for a route :meth:`resolve` gave: it is not resolved or checked again.

        ``max_tokens`` (the request's) caps the expected output tokens of a models list's costs.
        """
        prompt = self.prompt(messages, routing_policy)
        if isinstance(route, ModelRoute):
            quality = self.predict(route.router, [prompt])[0]
            return self.model_decision(route, quality, self.request_costs(messages, max_tokens))
        return self.decision_for(route.router, route.threshold, self.score(route.router, prompt))

    async def adecide(
        self,
        messages: Any,
        model: Any = None,
        *,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
        score: AsyncScore | None = None,
        quality: AsyncQuality | None = None,
        max_tokens: Any = None,
    ) -> Decision:
        """:meth:`decide` without blocking the event loop.

        ``score`` computes the score, ``quality`` the predicted qualities with a models list (default: the
        router in a worker thread); long message lists are turned into the prompt in a worker thread too.
        """
        route = self.resolve(model, router, threshold)
        return await self.adecide_route(
            route, messages, routing_policy=routing_policy, score=score, quality=quality, max_tokens=max_tokens
        )

    async def adecide_route(
        self,
        route: AnyRoute,
        messages: Any,
        *,
        routing_policy: str | None = None,
        score: AsyncScore | None = None,
        quality: AsyncQuality | None = None,
        max_tokens: Any = None,
    ) -> Decision:
        """:meth:`adecide` for a route :meth:`resolve` gave: it is not resolved or checked again."""
        long = isinstance(messages, (list, tuple)) and len(messages) > PROMPT_IN_THREAD_MESSAGES
        if isinstance(route, ModelRoute):
            if long:
                prompt, costs = await asyncio.to_thread(self._prompt_and_costs, messages, routing_policy, max_tokens)
            else:
                prompt, costs = self._prompt_and_costs(messages, routing_policy, max_tokens)
            if quality is None:
                row = await asyncio.to_thread(lambda: self.predict(route.router, [prompt])[0])
            else:
                row = await quality(route.router, prompt)
            return self.model_decision(route, row, costs)
        if long:
            prompt = await asyncio.to_thread(self.prompt, messages, routing_policy)
        else:
            prompt = self.prompt(messages, routing_policy)
        if score is None:
            value_score = await asyncio.to_thread(self.score, route.router, prompt)
        else:
            value_score = await score(route.router, prompt)
        return self.decision_for(route.router, route.threshold, value_score)

    def _prompt_and_costs(self, messages: Any, routing_policy: str | None, max_tokens: Any) -> tuple[str, np.ndarray]:
        return self.prompt(messages, routing_policy), self.request_costs(messages, max_tokens)


__all__ = [
    "AnyRoute",
    "AsyncQuality",
    "AsyncScore",
    "Decision",
    "ModelEndpoint",
    "ModelRoute",
    "Route",
    "RoutingCore",
]
