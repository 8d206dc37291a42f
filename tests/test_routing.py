"""The routing core: one policy check, one resolution per request, and the Controller relying on both."""

from __future__ import annotations

import asyncio

import pytest

from routellm_core.controller import Controller
from routellm_core.errors import RoutingError
from routellm_core.messages import POLICIES, check_policy, routing_text
from routellm_core.plugins import get_registry
from routellm_core.routing import ModelEndpoint, Route, RoutingCore

USER = [{"role": "user", "content": "hello there"}]
STRONG, WEAK = ModelEndpoint("openai/s"), ModelEndpoint("openai/w")


def core(policy: str = "last_user") -> RoutingCore:
    return RoutingCore({"random": get_registry().create_router("random")}, STRONG, WEAK, policy)


def test_check_policy_passes_the_policies_and_names_them_otherwise():
    assert [check_policy(p) for p in POLICIES] == list(POLICIES)
    with pytest.raises(RoutingError, match=r"^unknown routing policy 'everything'; valid: last_user, conversation$"):
        check_policy("everything")


def test_every_policy_check_is_the_same_one():
    message = r"^unknown routing policy 'first_user'; valid: last_user, conversation$"
    with pytest.raises(RoutingError, match=message):
        core("first_user")
    with pytest.raises(RoutingError, match=message):
        core().prompt(USER, "first_user")
    with pytest.raises(RoutingError, match=message):
        Controller(["random"], "openai/s", "openai/w", routing_policy="first_user")
    with pytest.raises(RoutingError, match="^give at least one router$"):
        Controller([], "openai/s", "openai/w")
    with pytest.raises(RoutingError, match="^give at least one router$"):
        Controller([], "openai/s", "openai/w", routing_policy="first_user")  # the router list first, as before
    with pytest.raises(RoutingError, match="non-empty list"):
        routing_text([], "first_user")  # the messages before the policy, as before


def test_resolve_gives_a_route_and_the_route_decides_without_resolving_again(monkeypatch):
    routing = core()
    route = routing.resolve("router-random-0.25")
    assert route == Route("random", 0.25) == ("random", 0.25) and route.router == "random"
    expected = routing.decide(USER, "router-random-0.25")

    def no_second_resolve(*args, **kwargs):
        raise AssertionError("resolved again")

    monkeypatch.setattr(routing, "resolve", no_second_resolve)
    assert routing.decide_route(route, USER) == expected
    assert asyncio.run(routing.adecide_route(route, USER)) == expected

    async def fixed(router: str, prompt: str) -> float:
        assert (router, prompt) == ("random", "hello there")
        return 0.25

    decision = asyncio.run(routing.adecide_route(route, USER, score=fixed))
    assert (decision.score, decision.strong, decision.model) == (0.25, True, "openai/s")
    conversation = asyncio.run(routing.adecide_route(route, USER, routing_policy="conversation", score=None))
    assert conversation.router == "random"
