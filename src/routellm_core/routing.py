"""The routing core shared by the Controller and the server: routers, resolve, decide.

A :class:`RoutingCore` holds the built routers, the strong and weak endpoints and
the routing policy, and checks them (at least one router, a known policy) when it
is made. It turns a model name (or router + threshold) into a :class:`Route`
(:meth:`RoutingCore.resolve`), a chat request into the prompt the router scores,
and a score into a :class:`Decision` with the one threshold rule. A caller that
has resolved the model name already (the server, which labels its metrics and
answers a bad name with its own error) passes the :class:`Route` on
(:meth:`RoutingCore.adecide_route`) instead of resolving it again. How the score
is computed is the caller's: the Controller scores in a worker thread, the
server batches concurrent requests (``score=`` of :meth:`RoutingCore.adecide`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, NamedTuple

from .errors import RoutingError
from .messages import check_policy, routing_text
from .model_set import ModelEndpoint
from .router import Router
from .threshold import parse_model_name, route_strong, validate_threshold

#: an async scorer: ``await score(router_name, prompt) -> float``
AsyncScore = Callable[[str, str], Awaitable[float]]

#: message lists longer than this are turned into the prompt in a worker thread
PROMPT_IN_THREAD_MESSAGES = 1000


class Route(NamedTuple):
    """A resolved model name: an enabled router and a valid threshold (from :meth:`RoutingCore.resolve`)."""

    router: str
    threshold: float


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


class RoutingCore:
    """Resolve model names, build the prompt, apply the threshold rule.

    Args:
        routers: built routers by name.
        strong, weak: the two endpoints.
        routing_policy: ``"last_user"`` or ``"conversation"`` (what the router scores).

    Raises:
        RoutingError: no routers, or an unknown routing policy (checked in that order).
    """

    def __init__(
        self, routers: Mapping[str, Router], strong: ModelEndpoint, weak: ModelEndpoint, routing_policy: str = "last_user"
    ) -> None:
        if not routers:
            raise RoutingError("give at least one router")
        self.routing_policy = check_policy(routing_policy)
        self.routers = dict(routers)
        self.strong = strong
        self.weak = weak

    def resolve(self, model: Any = None, router: str | None = None, threshold: Any = None) -> Route:
        """The :class:`Route` (router name, threshold) of explicit arguments or of the model name.

        Raises RoutingError when they are missing, contradict each other, or name a router that is not enabled.
        """
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
        return Route(name, value)

    def prompt(self, messages: Any, routing_policy: str | None = None) -> str:
        """The text the router scores (RoutingError when there is none)."""
        return routing_text(messages, routing_policy or self.routing_policy)

    def score(self, router: str, prompt: str) -> float:
        """Score one prompt with a router, synchronously."""
        return float(self.routers[router].score_checked([prompt])[0])

    def decision_for(self, router: str, threshold: float, score: float) -> Decision:
        """Apply the threshold rule to a score the router already gave."""
        strong = route_strong(score, threshold)
        return Decision(router, threshold, score, strong, self.strong if strong else self.weak)

    def decide(
        self,
        messages: Any,
        model: Any = None,
        *,
        router: str | None = None,
        threshold: Any = None,
        routing_policy: str | None = None,
    ) -> Decision:
        """Resolve the model name, score the request and pick the model (synchronously)."""
        return self.decide_route(self.resolve(model, router, threshold), messages, routing_policy=routing_policy)

    def decide_route(self, route: Route, messages: Any, *, routing_policy: str | None = None) -> Decision:
        """:meth:`decide` for a route :meth:`resolve` gave: it is not resolved or checked again."""
        prompt = self.prompt(messages, routing_policy)
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
    ) -> Decision:
        """:meth:`decide` without blocking the event loop.

        ``score`` computes the score (default: the router in a worker thread);
        long message lists are turned into the prompt in a worker thread too.
        """
        route = self.resolve(model, router, threshold)
        return await self.adecide_route(route, messages, routing_policy=routing_policy, score=score)

    async def adecide_route(
        self, route: Route, messages: Any, *, routing_policy: str | None = None, score: AsyncScore | None = None
    ) -> Decision:
        """:meth:`adecide` for a route :meth:`resolve` gave: it is not resolved or checked again."""
        if isinstance(messages, (list, tuple)) and len(messages) > PROMPT_IN_THREAD_MESSAGES:
            prompt = await asyncio.to_thread(self.prompt, messages, routing_policy)
        else:
            prompt = self.prompt(messages, routing_policy)
        if score is None:
            value_score = await asyncio.to_thread(self.score, route.router, prompt)
        else:
            value_score = await score(route.router, prompt)
        return self.decision_for(route.router, route.threshold, value_score)


__all__ = ["AsyncScore", "Decision", "ModelEndpoint", "Route", "RoutingCore"]
