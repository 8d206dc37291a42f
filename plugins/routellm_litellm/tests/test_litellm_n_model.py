"""N-model routing in the real proxy: the openai SDK -> litellm proxy with the routellm hook -> three model groups.

The groups (``frontier``, ``mini``, ``local``, see conftest.n_model_config) are deployments on the echo
server, which answers ``[<served model>] <prompt>``. The ``toyq`` QualityRouter is a plugin installed
through an entry point on the proxy's PYTHONPATH; its predicted qualities are known (toy_quality_router),
so each test can work out the group the cost knob must pick with routellm_core's own choice rule.
"""

from __future__ import annotations

import openai
import pytest
from conftest import MINI_PRICE_PER_TOKEN, N_MODEL_GROUPS, n_model_config
from toy_quality_router import quality_of

from routellm_core.model_choice import ModelPrice, cheapest_at_least, choose, litellm_price
from routellm_core.model_set import request_input_tokens

GROUPS = tuple(N_MODEL_GROUPS)
NAMES = {"frontier": "gpt-4o", "mini": "gpt-4o-mini", "local": "llama-3.1-8b"}
EASY = "What is the capital of France?"
HARD = "A hard one: prove that there are infinitely many primes."


def prices() -> dict[str, ModelPrice]:
    frontier = litellm_price("openai/gpt-4o")
    assert frontier is not None
    mini_in, mini_out = MINI_PRICE_PER_TOKEN
    return {"frontier": frontier, "mini": ModelPrice(mini_in * 1e6, mini_out * 1e6), "local": ModelPrice(0, 0)}


def expected(prompt: str, knob: float | None = None, floor: float | None = None, output_tokens: int = 256):
    """(group, predicted quality, expected cost) that routellm's rule picks for a one-turn request."""
    quality = [quality_of(prompt)[NAMES[g]] for g in GROUPS]
    tokens = request_input_tokens([{"role": "user", "content": prompt}])
    costs = [prices()[g].cost(tokens, output_tokens) for g in GROUPS]
    i = choose(quality, costs, knob) if knob is not None else cheapest_at_least(quality, costs, floor)
    return GROUPS[i], quality[i], costs[i]


@pytest.fixture(scope="module")
def client(n_model_proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{n_model_proxy.base_url}/v1", api_key=n_model_proxy.api_key, max_retries=0, timeout=60)


def ask(client: openai.OpenAI, model: str, prompt: str, **kwargs):
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": prompt}], **kwargs)
    return raw, raw.parse().choices[0].message.content


@pytest.mark.parametrize("prompt", [EASY, HARD])
@pytest.mark.parametrize("knob", [0, 0.3, 0.5, 0.9, 1])
def test_the_knob_picks_the_group_routellms_rule_picks(client, prompt, knob):
    group, quality, cost = expected(prompt, knob=knob)
    raw, answer = ask(client, f"router-toyq-{knob}", prompt)
    assert answer == f"[{N_MODEL_GROUPS[group]}] {prompt}"
    headers = raw.headers
    assert headers["x-litellm-model-group"] == headers["x-routellm-model"] == group
    assert headers["x-routellm-model-name"] == NAMES[group]
    assert headers["x-routellm-router"] == "toyq"
    assert headers["x-routellm-policy"] == "knob"
    assert float(headers["x-routellm-knob"]) == knob
    assert float(headers["x-routellm-quality"]) == pytest.approx(quality)
    assert float(headers["x-routellm-expected-cost"]) == pytest.approx(cost)


def test_the_knob_ends_are_the_best_and_the_cheapest_group(client):
    assert ask(client, "router-toyq-0", HARD)[0].headers["x-routellm-model"] == "frontier"  # best predicted
    assert ask(client, "router-toyq-1", HARD)[0].headers["x-routellm-model"] == "local"  # cheapest


def test_quality_floor_and_named_models(client):
    for prompt in (EASY, HARD):
        group, quality, _ = expected(prompt, floor=0.8)
        for model in ("router-toyq-q0.8", "good-enough"):
            raw, answer = ask(client, model, prompt)
            assert answer == f"[{N_MODEL_GROUPS[group]}] {prompt}"
            assert raw.headers["x-routellm-policy"] == "quality_floor"
            assert float(raw.headers["x-routellm-min-quality"]) == 0.8
            assert float(raw.headers["x-routellm-quality"]) == pytest.approx(quality)
        group, _, _ = expected(prompt, knob=0.5)
        assert ask(client, "balanced", prompt)[1] == f"[{N_MODEL_GROUPS[group]}] {prompt}"


def test_max_tokens_caps_the_expected_cost(client):
    raw, _ = ask(client, "router-toyq-0", HARD, max_tokens=16)
    assert float(raw.headers["x-routellm-expected-cost"]) == pytest.approx(expected(HARD, knob=0, output_tokens=16)[2])


def test_streamed_answer_comes_from_the_chosen_group(client):
    group, _, _ = expected(EASY, knob=1)
    stream = client.chat.completions.create(model="router-toyq-1", messages=[{"role": "user", "content": EASY}], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"[{N_MODEL_GROUPS[group]}] {EASY}"


def test_groups_requested_by_name_pass_through(client):
    raw, answer = ask(client, "mini", EASY)
    assert answer == f"[gpt-4o-mini] {EASY}"
    assert not any(name.startswith("x-routellm-") for name in raw.headers)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("router-toyq-1.5", "cost knob 1.5 in 'router-toyq-1.5' is outside [0, 1]"),
        ("router-toyq--0.2", "router 'toyq-' is not enabled here"),  # the name's last '-' splits off the knob
        ("router-toyq-q2", "quality level 2 in 'router-toyq-q2' is outside [0, 1]"),
        ("router-toyq-abc", "invalid cost knob 'abc'"),
        ("router-mf-0.5", "router 'mf' is not enabled here"),
    ],
)
def test_bad_names_are_litellms_400_naming_the_value(client, model, message):
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": EASY}])
    assert bad.value.status_code == 400
    assert bad.value.body["param"] == "model"
    assert message in bad.value.body["message"]
    assert "\n" not in bad.value.body["message"]


# -- the hook in this process (no proxy): decisions, metadata, headers, start-time errors --------------


@pytest.fixture
def toyq_registered():
    """``toyq`` in the process-wide registry (the hook's Controller builds its routers there), removed afterwards."""
    from toy_quality_router import ToyQualityRouter

    from routellm_core.plugins import Registration, get_registry

    registry = get_registry()
    registry.items["routers"]["toyq"] = Registration("routers", "toyq", ToyQualityRouter, "test", "test")
    try:
        yield
    finally:
        registry.items["routers"].pop("toyq", None)


def hook_for(settings: dict):
    from routellm_litellm.proxy_hook import RoutellmHook
    from routellm_litellm.settings import parse_settings

    model_list = n_model_config("http://127.0.0.1:9/v1")["model_list"]
    return RoutellmHook(parse_settings(settings, model_list=model_list))


def n_model_settings(**changes) -> dict:
    return {**n_model_config("http://127.0.0.1:9/v1")["callback_settings"]["routellm"], **changes}


def test_the_hook_rewrites_the_model_and_records_the_decision(toyq_registered):
    import asyncio

    hook = hook_for(n_model_settings())
    data = {"model": "router-toyq-0.5", "messages": [{"role": "user", "content": HARD}], "max_tokens": 100}
    out = asyncio.run(hook.async_pre_call_hook(None, None, data, "acompletion"))
    group, quality, cost = expected(HARD, knob=0.5, output_tokens=100)
    assert out["model"] == group
    record = out["metadata"]["routellm"]
    assert record["requested_model"] == "router-toyq-0.5" and record["policy"] == "knob" and record["knob"] == 0.5
    assert (record["model"], record["model_name"]) == (group, NAMES[group])
    assert record["quality"] == pytest.approx(quality) and record["expected_cost"] == pytest.approx(cost)
    assert record["qualities"] == {g: pytest.approx(quality_of(HARD)[NAMES[g]]) for g in GROUPS}
    assert set(record["expected_costs"]) == set(GROUPS)
    headers = asyncio.run(hook.async_post_call_response_headers_hook(out, None, None))
    assert headers == {
        "x-routellm-router": "toyq",
        "x-routellm-policy": "knob",
        "x-routellm-knob": "0.5",
        "x-routellm-model": group,
        "x-routellm-model-name": NAMES[group],
        "x-routellm-quality": str(record["quality"]),
        "x-routellm-expected-cost": str(record["expected_cost"]),
    }


def test_a_two_model_router_cannot_route_among_three_groups(toyq_registered):
    from routellm_core.errors import ConfigError

    with pytest.raises(ConfigError, match="router 'random' scores two models .* cannot route among the 3 configured models"):
        hook_for(n_model_settings(routers=["toyq", "random"]))


def test_a_group_the_router_does_not_know_is_an_error_at_start(toyq_registered):
    from routellm_core.errors import ConfigError

    groups = n_model_settings()["model_groups"]
    with pytest.raises(ConfigError, match="router 'toyq' cannot route to the configured model 'mistral-7b'"):
        hook_for(n_model_settings(model_groups=[*groups[:2], {**groups[2], "name": "mistral-7b"}]))
