"""End to end: the openai SDK -> the real litellm proxy with the routellm hook -> two echo deployments.

The echo server answers ``[<served model>] <prompt>``, so the answer names the deployment that served it:
``strong-echo`` behind the ``strong`` model group, ``weak-echo`` behind ``weak``.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from routellm_core.plugins import get_registry

PROMPT = "What is the capital of France?"
ANSWERED_BY = {"strong": "[strong-echo]", "weak": "[weak-echo]"}


@pytest.fixture(scope="module")
def client(proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=proxy.api_key, max_retries=0, timeout=60)


def ask(client: openai.OpenAI, model: str, prompt: str = PROMPT, **kwargs):
    """The raw response (for headers) and its answer text."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": prompt}], **kwargs)
    return raw, raw.parse().choices[0].message.content


def random_scores(prompts: list[str]) -> list[float]:
    """The scores the proxy's ``random`` router (seed 1, as in its config) gives these prompts."""
    return [float(s) for s in get_registry().create_router("random", {"seed": 1}).score(prompts)]


@pytest.mark.parametrize(
    ("model", "group"),
    [("router-random-0", "strong"), ("router-random-1", "weak"), ("router-length-0.0", "strong"), ("router-length-1.0", "weak")],
)
def test_threshold_zero_sends_to_strong_and_one_to_weak(client, model, group):
    raw, answer = ask(client, model)
    assert answer == f"{ANSWERED_BY[group]} {PROMPT}"
    assert raw.headers["x-litellm-model-group"] == group
    assert raw.headers["x-routellm-model"] == group
    assert raw.headers["x-routellm-router"] == model.split("-")[1]


@pytest.mark.parametrize(("model", "group"), [("router-random-0", "strong"), ("router-random-1", "weak")])
def test_streamed_answer_comes_from_the_routed_deployment(client, model, group):
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"{ANSWERED_BY[group]} {PROMPT}"


def test_threshold_in_between_follows_the_routers_own_decision(client):
    candidates = [f"Question {i}: how do tides work?" for i in range(40)]
    scores = random_scores(candidates)
    # prompts on both sides of 0.5, so a hook that ignored the score could not pass
    chosen = [p for p, s in zip(candidates, scores, strict=True) if s >= 0.5][:3] + [
        p for p, s in zip(candidates, scores, strict=True) if s < 0.5
    ][:3]
    assert len(chosen) == 6
    for prompt, score in zip(chosen, random_scores(chosen), strict=True):
        group = "strong" if score >= 0.5 else "weak"
        raw, answer = ask(client, "router-random-0.5", prompt)
        assert answer == f"{ANSWERED_BY[group]} {prompt}", f"score {score}"
        assert float(raw.headers["x-routellm-score"]) == score
        assert float(raw.headers["x-routellm-threshold"]) == 0.5


def test_named_model_routes_like_its_router_and_threshold(client):
    prompt = "Prove that there are infinitely many primes."
    group = "strong" if random_scores([prompt])[0] >= 0.5 else "weak"
    for model in ("smart", "router-random-0.5"):
        assert ask(client, model, prompt)[1] == f"{ANSWERED_BY[group]} {prompt}"


def test_routing_uses_the_last_user_turn(client):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": PROMPT},
    ]
    raw = client.chat.completions.with_raw_response.create(model="router-random-0.5", messages=messages)
    assert float(raw.headers["x-routellm-score"]) == random_scores([PROMPT])[0]


def test_other_models_pass_through_untouched(client, proxy):
    # metadata sent by a client is not taken for a routing decision
    raw, answer = ask(
        client, "weak", extra_body={"metadata": {"routellm": {"router": "x", "threshold": 0, "score": 1, "model": "strong"}}}
    )
    assert answer == f"[weak-echo] {PROMPT}"
    assert not any(name.startswith("x-routellm-") for name in raw.headers)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("router-random-1.5", "outside [0, 1]"),
        ("router-random-abc", "invalid threshold"),
        ("router-random-", "invalid model name"),
        ("router-mf-0.5", "router 'mf' is not enabled here"),
    ],
)
def test_bad_routed_model_is_litellms_400(client, model, message):
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    with pytest.raises(openai.BadRequestError) as unknown:  # LiteLLM's own 400, for comparison
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": PROMPT}])
    assert bad.value.status_code == unknown.value.status_code == 400
    assert set(unknown.value.body) <= set(bad.value.body) | {"provider_specific_fields"}
    assert bad.value.body["type"] == unknown.value.body["type"] == "invalid_request_error"
    assert bad.value.body["code"] == unknown.value.body["code"] == "400"
    assert bad.value.body["param"] == "model"
    assert message in bad.value.body["message"]


def test_request_without_a_user_turn_is_a_400(client):
    with pytest.raises(openai.BadRequestError, match="no 'user' turn"):
        client.chat.completions.create(model="router-random-0.5", messages=[{"role": "system", "content": "hello"}])


def test_routed_model_on_another_endpoint_is_a_400(proxy):
    response = httpx.post(
        f"{proxy.base_url}/v1/embeddings",
        headers={"Authorization": f"Bearer {proxy.api_key}"},
        json={"model": "router-random-0.5", "input": "hello"},
        timeout=60,
    )
    assert response.status_code == 400
    assert "routes chat completions only" in response.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_rate_limited_deployment_reaches_the_client_as_a_429(client, proxy, stream):
    """The hook only routes: the routed deployment's 429 comes out of the proxy as a 429 (its message kept), so
    LiteLLM's retries and fallbacks and the client's own back-off see the rate limit as it is."""
    upstream = proxy.upstream
    upstream.fail_status, upstream.fail_rate = 429, 1.0
    try:
        with pytest.raises(openai.RateLimitError) as info:
            response = client.chat.completions.create(
                model="router-random-1", messages=[{"role": "user", "content": PROMPT}], stream=stream
            )
            if stream:
                list(response)
    finally:
        upstream.fail_rate, upstream.fail_status = 0.0, 500
    assert info.value.status_code == 429
    assert "rate limit reached (injected fault)" in info.value.message
    _, answer = ask(client, "router-random-1")  # the deployment answers again
    assert answer == f"{ANSWERED_BY['weak']} {PROMPT}"
