"""Controller against a real OpenAI-compatible HTTP server on loopback."""

import asyncio
import threading
import time

import numpy as np
import pytest

from routellm_core import Router
from routellm_core.controller import Controller, ModelEndpoint
from routellm_core.errors import ConfigError, RoutingError
from routellm_core.plugins import PluginRegistry
from routellm_core.testing import EchoUpstream

USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def upstream():
    with EchoUpstream() as up:
        yield up


@pytest.fixture
def controller(upstream):
    return Controller(["random"], "openai/strong-m", "openai/weak-m", api_base=upstream.base_url, api_key="test-key")


def test_sync_routes_by_threshold(controller):
    strong = controller.chat.completions.create(model="router-random-0", messages=USER)
    weak = controller.chat.completions.create(model="router-random-1", messages=USER)
    assert strong.model == "openai/strong-m" and strong.choices[0].message.content == "[strong-m] hello there"
    assert weak.model == "openai/weak-m" and weak.choices[0].message.content == "[weak-m] hello there"
    assert controller.model_counts == {"random": {"openai/strong-m": 1, "openai/weak-m": 1}}


def test_explicit_router_and_threshold(controller):
    response = controller.completion(router="random", threshold=0.0, messages=USER)
    assert response.model == "openai/strong-m"
    with pytest.raises(RoutingError, match="give both"):
        controller.completion(router="random", messages=USER)
    with pytest.raises(RoutingError, match="contradicts"):
        controller.completion(model="router-random-0.3", router="random", threshold=0.5, messages=USER)


def test_score_decides_exactly_at_threshold(controller):
    score = float(controller.routers["random"].score(["hello there"])[0])
    assert controller.decide(USER, router="random", threshold=score).strong
    assert not controller.decide(USER, router="random", threshold=float(np.nextafter(score, 1))).strong
    assert controller.route("hello there", "random", score) == "openai/strong-m"


def test_streaming_relabels_model(controller):
    chunks = list(controller.chat.completions.create(model="router-random-0", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "[strong-m] hello there"
    assert {c.model for c in chunks} == {"openai/strong-m"}


def test_async_and_async_streaming(controller):
    async def run():
        response = await controller.chat.completions.acreate(model="router-random-1", messages=USER)
        stream = await controller.chat.completions.acreate(model="router-random-0", messages=USER, stream=True)
        chunks = [c async for c in stream]
        return response, chunks

    response, chunks = asyncio.run(run())
    assert response.model == "openai/weak-m"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "[strong-m] hello there"


def test_content_parts_and_conversation_policy(upstream):
    parts = [
        {"role": "user", "content": [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": "data:,"}}]}
    ]
    controller = Controller(
        ["random"], "openai/s", "openai/w", api_base=upstream.base_url, api_key="k", routing_policy="conversation"
    )
    decision = controller.decide(parts, "router-random-0.5")
    expected = float(controller.routers["random"].score(["user: describe"])[0])
    assert decision.score == expected


def test_separate_endpoints(upstream):
    with EchoUpstream() as other:
        controller = Controller(
            ["random"],
            ModelEndpoint("openai/big", api_base=upstream.base_url, api_key="secret-key-a"),
            ModelEndpoint("openai/small", api_base=other.base_url, api_key="b"),
        )
        before = len(other.calls)
        assert controller.completion(model="router-random-1", messages=USER).model == "openai/small"
        assert len(other.calls) == before + 1
        assert "secret-key-a" not in repr(controller.strong)


@pytest.mark.parametrize(
    "model, fragment",
    [
        ("gpt-4o", "router-<router>-<threshold>"),
        ("router-random-1.5", "outside [0, 1]"),
        ("router-random-abc", "invalid threshold"),
        ("router-mf-0.5", "not enabled here; enabled routers: random"),
        (None, "no model given"),
    ],
)
def test_routing_errors(controller, model, fragment):
    with pytest.raises(RoutingError) as info:
        controller.completion(model=model, messages=USER)
    assert fragment in str(info.value)


def test_bad_messages(controller):
    with pytest.raises(RoutingError, match="non-empty list"):
        controller.completion(model="router-random-0.5", messages=[])


def test_unknown_router_and_bad_config(upstream):
    with pytest.raises(RoutingError, match="unknown router 'nope'; available: .*random"):
        Controller(["nope"], "openai/s", "openai/w")
    with pytest.raises(ConfigError, match="accepted keys: seed"):
        Controller(["random"], "openai/s", "openai/w", config={"random": {"bogus": 1}})


def test_config_file(tmp_path, upstream):
    path = tmp_path / "c.yaml"
    path.write_text("random:\n  seed: 5\n")
    controller = Controller(["random"], "openai/s", "openai/w", config=str(path))
    assert controller.routers["random"].seed == 5


class SlowRouter(Router):
    def score(self, prompts):
        time.sleep(0.3)
        return np.full(len(prompts), 0.5)


def test_async_scoring_does_not_block_event_loop(upstream):
    registry = PluginRegistry()
    registry.load(entry_points=False)
    registry.items["routers"]["slow"] = type(registry.get("routers", "random"))("routers", "slow", SlowRouter, "test", "test")
    controller = Controller(["slow"], "openai/s", "openai/w", api_base=upstream.base_url, api_key="k", registry=registry)

    async def run():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await controller.acompletion(model="router-slow-0.5", messages=USER)
        task.cancel()
        return ticks

    assert asyncio.run(run()) >= 10  # the loop kept running while the router scored for 0.3 s


def test_counts_are_thread_safe(controller):
    def work():
        for _ in range(5):
            controller.completion(model="router-random-0", messages=USER)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert controller.model_counts["random"]["openai/strong-m"] == 20
