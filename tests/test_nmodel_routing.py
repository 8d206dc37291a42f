"""N-model routing in the routing core and the Controller (sync, async, streamed) against a real upstream on loopback.

``ToyQuality`` is a small QualityRouter registered for these tests (and the server's): it predicts, from
words in the prompt, the quality of three models, ``big`` (dear), ``mid`` and ``small`` (cheap).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Iterator, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core import Router
from routellm_core.controller import Controller
from routellm_core.errors import ConfigError, RoutingError
from routellm_core.model_choice import QualityRouter
from routellm_core.model_set import parse_models
from routellm_core.plugins import PluginRegistry, Registration, get_registry
from routellm_core.routing import ModelRoute, RoutingCore
from routellm_core.testing import EchoUpstream
from routellm_core.threshold import KNOB, QUALITY_FLOOR, format_nmodel_name, parse_nmodel_name

#: the toy router's predictions by the word the prompt holds
QUALITY = {
    "hard": (0.95, 0.5, 0.1),
    "medium": (0.95, 0.9, 0.3),
    "easy": (0.95, 0.93, 0.92),
}
NAMES = ("big", "mid", "small")
#: USD per 1M input / output tokens
PRICES = {"big": (10.0, 30.0), "mid": (1.0, 3.0), "small": (0.1, 0.3)}


class ToyQuality(Router, QualityRouter):
    """Predicts quality per model from the words 'hard', 'medium', 'easy' (else all 0.5); scores 'hard' high."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    @property
    def quality_models(self) -> tuple[str, ...]:
        return NAMES

    def resolve_quality_model(self, model: str) -> str:
        return "big" if model == "gpt-big" else super().resolve_quality_model(model)  # an alias

    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        self.batches.append(len(prompts))
        rows = []
        for prompt in prompts:
            word = next((w for w in QUALITY if w in prompt), None)
            row = dict(zip(NAMES, QUALITY[word] if word else (0.5, 0.5, 0.5), strict=True))
            rows.append([row[m] for m in models])
        return np.asarray(rows, dtype=np.float64).reshape(len(prompts), len(models))

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        return np.asarray([0.9 if "hard" in p else 0.1 for p in prompts], dtype=np.float64)


class TwoOnly(Router):
    """A two-model router: scores 'hard' prompts high."""

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        return np.asarray([0.9 if "hard" in p else 0.1 for p in prompts], dtype=np.float64)


def register(registry: PluginRegistry) -> None:
    registry.items["routers"]["toyq"] = Registration("routers", "toyq", ToyQuality, "test", "test")
    registry.items["routers"]["twoonly"] = Registration("routers", "twoonly", TwoOnly, "test", "test")


@contextlib.contextmanager
def registered() -> Iterator[PluginRegistry]:
    """The toy routers in the process-wide registry (the server builds its routers there), removed afterwards."""
    registry = get_registry()
    register(registry)
    try:
        yield registry
    finally:
        registry.items["routers"].pop("toyq", None)
        registry.items["routers"].pop("twoonly", None)


def model_entries(base_url: str | None = None, names: Sequence[str] = NAMES) -> list[dict[str, object]]:
    return [
        {
            "name": name,
            "model": f"openai/{name}-llm",
            **({"api_base": base_url} if base_url else {}),
            "price": {"input": PRICES[name][0], "output": PRICES[name][1]},
        }
        for name in names
    ]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[EchoUpstream]:
    with EchoUpstream() as up:
        yield up


@pytest.fixture(scope="module")
def registry() -> PluginRegistry:
    registry = PluginRegistry()
    registry.load(entry_points=False)
    register(registry)
    return registry


@pytest.fixture
def controller(upstream, registry) -> Controller:
    return Controller(["toyq"], models=model_entries(), api_base=upstream.base_url, api_key="sk-test", registry=registry)


# -- model names ---------------------------------------------------------------------------------


def test_nmodel_names_parse_and_format():
    assert parse_nmodel_name("router-mf-0.3") == ("mf", KNOB, 0.3)
    assert parse_nmodel_name("router-mf-q0.8") == ("mf", QUALITY_FLOOR, 0.8)
    assert parse_nmodel_name("router-sw_ranking-1") == ("sw_ranking", KNOB, 1.0)
    assert format_nmodel_name("mf", QUALITY_FLOOR, 0.8) == "router-mf-q0.8"
    assert format_nmodel_name("mf", KNOB, 0.25) == "router-mf-0.25"
    for value in (0.0, 0.1, 1 / 3, 1.0):
        for policy in (KNOB, QUALITY_FLOOR):
            assert parse_nmodel_name(format_nmodel_name("toyq", policy, value)) == ("toyq", policy, value)


@pytest.mark.parametrize(
    "name, words",
    [
        ("router-mf-1.5", "cost knob 1.5 in 'router-mf-1.5' is outside [0, 1]"),
        ("router-mf-q2", "quality level 2 in 'router-mf-q2' is outside [0, 1]"),
        ("router-mf-abc", "invalid cost knob 'abc'"),
        ("router-mf-qx", "invalid quality level 'x'"),
        ("router-mf-", "cost knob w in [0, 1]"),
        ("gpt-4o", "invalid model name 'gpt-4o'"),
        (None, "model must be a string"),
    ],
)
def test_bad_nmodel_names_are_one_line_errors(name, words):
    with pytest.raises(RoutingError) as info:
        parse_nmodel_name(name)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert "router-<router>-q<level>" in str(info.value)


# -- the routing core ----------------------------------------------------------------------------


def core(registry: PluginRegistry, names: Sequence[str] = NAMES, router: str = "toyq") -> RoutingCore:
    return RoutingCore(
        {router: registry.create_router(router)}, models=parse_models(model_entries(names=names), expected_output_tokens=100)
    )


def test_knob_sweeps_from_best_to_cheapest(registry):
    routing = core(registry)
    assert routing.resolve("router-toyq-0.2") == ModelRoute("toyq", KNOB, 0.2)
    chosen = {w: routing.decide(user("a medium question"), f"router-toyq-{w}").model_name for w in (0, 0.1, 0.5, 0.9, 1)}
    assert chosen[0] == "big" and chosen[1] == "small"
    costs = [routing.decide(user("a medium question"), f"router-toyq-{w}").expected_cost for w in np.linspace(0, 1, 21)]
    assert all(a >= b for a, b in zip(costs, costs[1:], strict=False))  # the chosen model's cost never rises with w
    decision = routing.decide(user("an easy one"), "router-toyq-0.5")
    assert decision.model_name == "small" and decision.quality == 0.92 and decision.n_model
    assert decision.expected_cost == pytest.approx(routing.models.costs(4, 100)[2])  # 16 characters: "user", 1, the text
    assert decision.fallback_endpoint.model == "openai/big-llm"  # the best predicted of the others


def test_quality_floor_picks_the_cheapest_good_enough(registry):
    routing = core(registry)
    assert routing.decide(user("medium"), "router-toyq-q0.85").model_name == "mid"
    assert routing.decide(user("medium"), "router-toyq-q0.2").model_name == "small"
    assert routing.decide(user("hard"), "router-toyq-q0.99").model_name == "big"  # none reaches it: the best


def test_max_tokens_caps_the_expected_output(registry):
    routing = core(registry)
    full = routing.decide(user("hard"), "router-toyq-0")
    capped = routing.decide(user("hard"), "router-toyq-0", max_tokens=10)
    assert capped.expected_cost < full.expected_cost


def test_resolve_errors(registry):
    routing = core(registry)
    with pytest.raises(RoutingError, match="router 'mf' is not enabled here; enabled routers: toyq"):
        routing.resolve("router-mf-0.3")
    with pytest.raises(RoutingError, match="no threshold"):
        routing.resolve("router-toyq-0.3", router="toyq", threshold=0.3)
    with pytest.raises(RoutingError, match="contradicts"):
        routing.resolve("router-toyq-0.3", router="other")
    with pytest.raises(RoutingError, match="outside"):
        routing.resolve("router-toyq-7")


def test_two_model_router_works_with_exactly_two_models(registry):
    routing = core(registry, names=("big", "small"), router="twoonly")
    assert routing.decide(user("hard"), "router-twoonly-0").model_name == "big"  # w = 0: always the strong one
    assert routing.decide(user("hard"), "router-twoonly-1").model_name == "small"
    assert routing.decide(user("easy"), "router-twoonly-0.4").model_name == "small"
    assert routing.decide(user("hard"), "router-twoonly-0.4").model_name == "big"  # strong iff score > lambda * (1 - 0.01)


def test_two_model_router_with_three_models_fails_at_start_naming_it(registry):
    with pytest.raises(ConfigError) as info:
        core(registry, router="twoonly")
    message = str(info.value)
    assert "router 'twoonly'" in message and "3 configured models" in message and "QualityRouter" in message
    assert "\n" not in message


def test_a_model_the_router_does_not_know_fails_at_start(registry):
    entries = model_entries() + [{"name": "other", "price": {"input": 1, "output": 1}}]
    with pytest.raises(ConfigError, match="router 'toyq' cannot route to the configured model 'other'"):
        RoutingCore({"toyq": registry.create_router("toyq")}, models=parse_models(entries))


def test_listed_names_may_be_the_routers_aliases(registry):
    entries = model_entries()
    entries[0]["name"] = "gpt-big"
    routing = RoutingCore({"toyq": registry.create_router("toyq")}, models=parse_models(entries))
    decision = routing.decide(user("hard"), "router-toyq-0")
    assert decision.model_name == "gpt-big" and decision.quality == 0.95


def test_two_model_core_is_unchanged(registry):
    from routellm_core.routing import ModelEndpoint, Route

    routing = RoutingCore({"toyq": registry.create_router("toyq")}, ModelEndpoint("s"), ModelEndpoint("w"))
    assert routing.resolve("router-toyq-0.5") == Route("toyq", 0.5)
    decision = routing.decide(user("hard"), "router-toyq-0.5")
    assert decision.strong and decision.model == "s" and not decision.n_model and decision.expected_cost is None
    with pytest.raises(ConfigError, match="not both"):
        RoutingCore({"toyq": registry.create_router("toyq")}, ModelEndpoint("s"), None, models=parse_models(model_entries()))
    with pytest.raises(ConfigError, match="or a models list"):
        RoutingCore({"toyq": registry.create_router("toyq")})


def test_async_decisions_equal_sync_ones(registry):
    routing = core(registry)
    route = routing.resolve("router-toyq-0.3")
    for text in ("hard", "medium", "easy", "plain"):
        assert asyncio.run(routing.adecide_route(route, user(text))) == routing.decide_route(route, user(text))


# -- the Controller --------------------------------------------------------------------------------


def test_controller_sync_routes_among_the_models(controller):
    hard = controller.chat.completions.create(model="router-toyq-0.3", messages=user("a hard proof"))
    easy = controller.chat.completions.create(model="router-toyq-0.3", messages=user("an easy sum"))
    assert hard.model == "openai/big-llm" and hard.choices[0].message.content == "[big-llm] a hard proof"
    assert easy.model == "openai/small-llm" and easy.choices[0].message.content == "[small-llm] an easy sum"
    floor = controller.completion(model="router-toyq-q0.85", messages=user("medium"))
    assert floor.model == "openai/mid-llm"
    assert controller.model_counts == {"toyq": {"openai/big-llm": 1, "openai/small-llm": 1, "openai/mid-llm": 1}}
    assert controller.expected_cost["toyq"] > 0
    assert controller.models is not None and controller.models.names == NAMES


def test_controller_async_and_streamed(controller):
    async def run():
        plain = await controller.chat.completions.acreate(model="router-toyq-0", messages=user("easy"))
        stream = await controller.acompletion(model="router-toyq-1", messages=user("hard"), stream=True)
        chunks = [chunk async for chunk in stream]
        return plain, chunks

    plain, chunks = asyncio.run(run())
    assert plain.model == "openai/big-llm"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "[small-llm] hard"
    assert {c.model for c in chunks} == {"openai/small-llm"}
    sync_chunks = list(controller.completion(model="router-toyq-q0.9", messages=user("medium"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in sync_chunks) == "[mid-llm] medium"


def test_controller_errors(upstream, registry, controller):
    with pytest.raises(RoutingError, match="outside"):
        controller.completion(model="router-toyq-1.5", messages=user("x"))
    with pytest.raises(RoutingError, match="not enabled"):
        controller.completion(model="router-mf-0.5", messages=user("x"))
    with pytest.raises(ConfigError, match="not both"):
        Controller(["toyq"], "openai/a", "openai/b", models=model_entries(), registry=registry)
    with pytest.raises(ConfigError, match="models list"):
        Controller(["toyq"], registry=registry)
    with pytest.raises(ConfigError, match="has no price"):
        Controller(["toyq"], models=[{"name": "big", "model": "openai/unknown-x"}, {"name": "small"}], registry=registry)


def test_controller_models_file(tmp_path, upstream, registry):
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        + "".join(
            f"  - {{name: {n}, model: openai/{n}-llm, price: {{input: {PRICES[n][0]}, output: {PRICES[n][1]}}}}}\n" for n in NAMES
        )
        + "expected_output_tokens: 64\n"
    )
    controller = Controller(["toyq"], models=str(path), api_base=upstream.base_url, api_key="k", registry=registry)
    assert controller.models.expected_output_tokens == 64
    assert controller.completion(model="router-toyq-0", messages=user("hard")).model == "openai/big-llm"
    assert controller.completion(model="router-toyq-0", messages=user("hi")).model == "openai/small-llm"  # equals: cheapest


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=3, max_size=3),
    st.lists(st.tuples(st.floats(0, 50), st.floats(0, 100)), min_size=3, max_size=3),
    st.integers(1, 5000),
    st.lists(st.floats(0, 1), min_size=2, max_size=8),
)
def test_the_chosen_models_cost_never_rises_with_the_knob(quality, prices, input_tokens, knobs):
    entries = [{"name": n, "price": {"input": i, "output": o}} for n, (i, o) in zip(NAMES, prices, strict=True)]
    routing = RoutingCore({"toyq": ToyQuality()}, models=parse_models(entries))
    costs = routing.models.costs(input_tokens)
    chosen = [routing.model_decision(ModelRoute("toyq", KNOB, w), quality, costs) for w in sorted(knobs)]
    assert all(a.expected_cost >= b.expected_cost for a, b in zip(chosen, chosen[1:], strict=False))
    floors = [routing.model_decision(ModelRoute("toyq", QUALITY_FLOOR, q), quality, costs) for q in sorted(knobs)]
    assert all(a.expected_cost <= b.expected_cost or b.quality == max(quality) for a, b in zip(floors, floors[1:], strict=False))
