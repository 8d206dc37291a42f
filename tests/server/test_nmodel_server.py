"""N-model routing through the server: a real HTTP server on loopback, the openai SDK as client, N upstream models.

The toy QualityRouter of ``tests/test_nmodel_routing.py`` predicts three models' quality (``big``, ``mid``,
``small``); the models are served by EchoUpstream (which answers ``[<model>] <text>``).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from typing import Iterator

import httpx
import numpy as np
import openai
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from routellm_core.errors import ConfigError
from routellm_core.server import ServerSettings, create_app
from routellm_core.testing import EchoUpstream
from routellm_core.testing import serve as serve_process

from ..test_nmodel_routing import NAMES, PRICES, model_entries, registered
from .conftest import serve

HARD, MEDIUM, EASY = "a hard proof", "a medium essay", "an easy sum"


def settings(upstream: EchoUpstream, **overrides: object) -> ServerSettings:
    values: dict[str, object] = dict(
        routers=["toyq"], models=model_entries(upstream.base_url), api_key="sk-upstream-nmodel", timeout=10.0
    )
    values.update(overrides)
    return ServerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def nmodel(upstream) -> Iterator:
    with registered(), serve(settings(upstream, max_in_flight=0)) as served:
        yield served


@pytest.fixture()
def client(nmodel) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=nmodel.v1, api_key="unused", max_retries=0) as c:
        yield c


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_plain_requests_go_to_the_chosen_model_with_its_headers(client):
    raw = client.chat.completions.with_raw_response.create(model="router-toyq-0.3", messages=[{"role": "user", "content": HARD}])
    completion = raw.parse()
    assert completion.model == "openai/big-llm" and completion.choices[0].message.content == f"[big-llm] {HARD}"
    headers = raw.headers
    assert headers["x-routellm-router"] == "toyq"
    assert headers["x-routellm-policy"] == "knob" and headers["x-routellm-knob"] == "0.3"
    assert headers["x-routellm-model"] == headers["x-routellm-routed-model"] == "openai/big-llm"
    assert headers["x-routellm-model-name"] == "big" and float(headers["x-routellm-quality"]) == 0.95
    assert headers["x-routellm-fallback"] == "false"
    tokens = (len("user") + 1 + len(HARD) + 3) // 4
    assert float(headers["x-routellm-expected-cost"]) == pytest.approx((tokens * 10.0 + 256 * 30.0) / 1e6)
    assert "x-routellm-threshold" not in headers and "x-routellm-tier" not in headers

    easy = client.chat.completions.with_raw_response.create(model="router-toyq-0.3", messages=[{"role": "user", "content": EASY}])
    assert easy.parse().model == "openai/small-llm" and easy.headers["x-routellm-model-name"] == "small"


def test_quality_floor_and_max_tokens(client):
    raw = client.chat.completions.with_raw_response.create(
        model="router-toyq-q0.85", messages=[{"role": "user", "content": MEDIUM}], max_tokens=16
    )
    assert raw.parse().model == "openai/mid-llm"
    assert raw.headers["x-routellm-policy"] == "quality_floor" and raw.headers["x-routellm-min-quality"] == "0.85"
    tokens = (len("user") + 1 + len(MEDIUM) + 3) // 4
    assert float(raw.headers["x-routellm-expected-cost"]) == pytest.approx((tokens * 1.0 + 16 * 3.0) / 1e6)


def test_streamed_requests(client):
    raw = client.chat.completions.with_raw_response.create(
        model="router-toyq-1", messages=[{"role": "user", "content": HARD}], stream=True, stream_options={"include_usage": True}
    )
    assert raw.headers["x-routellm-model"] == "openai/small-llm" and raw.headers["x-routellm-model-name"] == "small"
    assert float(raw.headers["x-routellm-quality"]) == 0.1
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"[small-llm] {HARD}"


def test_async_client_plain_and_streamed(nmodel):
    async def run():
        async with openai.AsyncOpenAI(base_url=nmodel.v1, api_key="unused", max_retries=0) as c:
            plain = await c.chat.completions.create(model="router-toyq-0", messages=[{"role": "user", "content": EASY}])
            stream = await c.chat.completions.create(
                model="router-toyq-q0.9", messages=[{"role": "user", "content": MEDIUM}], stream=True
            )
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
            return plain, text

    plain, text = asyncio.run(run())
    assert plain.model == "openai/big-llm" and text == f"[mid-llm] {MEDIUM}"


@pytest.mark.parametrize(
    "model, words",
    [
        ("router-toyq-1.5", "cost knob 1.5 in 'router-toyq-1.5' is outside [0, 1]"),
        ("router-toyq-q7", "quality level 7 in 'router-toyq-q7' is outside [0, 1]"),
        ("router-toyq-cheap", "invalid cost knob 'cheap'"),
        ("router-mf-0.3", "router 'mf' is not enabled here; enabled routers: toyq"),
        ("gpt-4o", "invalid model name 'gpt-4o'"),
    ],
)
def test_bad_model_names_are_400_in_openai_format(client, model, words):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    error = info.value.body
    assert info.value.status_code == 400 and error["code"] == "invalid_model" and error["param"] == "model"
    assert words in error["message"] and "\n" not in error["message"]


def test_models_health_and_metrics(nmodel, client):
    answered: dict[str, float] = {}
    for text in (HARD, MEDIUM, EASY, EASY):
        raw = client.chat.completions.with_raw_response.create(
            model="router-toyq-0.2", messages=[{"role": "user", "content": text}]
        )
        model = raw.headers["x-routellm-model"]
        answered[model] = answered.get(model, 0.0) + float(raw.headers["x-routellm-expected-cost"])
    with httpx.Client(base_url=nmodel.base_url, timeout=10) as http:
        listed = http.get("/v1/models").json()["data"]
        assert [m["id"] for m in listed] == ["router-toyq-0.5"]
        assert listed[0]["policy"] == "knob" and [m["name"] for m in listed[0]["models"]] == list(NAMES)
        assert listed[0]["models"][0]["price"] == {"input": PRICES["big"][0], "output": PRICES["big"][1]}
        floor = http.get("/v1/models/router-toyq-q0.7").json()
        assert floor["id"] == "router-toyq-q0.7" and floor["quality_floor"] == 0.7
        assert http.get("/v1/models/router-toyq-2").status_code == 404
        health = http.get("/health").json()
        assert health["models"] == [{"name": n, "model": f"openai/{n}-llm"} for n in NAMES]  # no base URLs: /health is open
        assert "sk-upstream" not in http.get("/health").text
        text = http.get("/metrics").text
    for model, cost in answered.items():
        assert metric(text, "routellm_requests_total", router="toyq", model=model, status="200") >= 1
        assert metric(text, "routellm_expected_cost_usd_total", router="toyq", model=model) >= cost - 1e-12
    total_requests = metric(text, "routellm_requests_total", router="toyq", status="200")
    total_cost = metric(text, "routellm_expected_cost_usd_total", router="toyq")
    assert total_requests >= 4 and total_cost > 0
    assert metric(text, "routellm_predicted_quality_count", router="toyq") == total_requests
    # usage is priced with the configured prices (EchoUpstream reports usage)
    assert metric(text, "routellm_cost_usd_total", model="openai/big-llm") > 0


def test_concurrent_predictions_are_batched_and_equal_one_by_one(nmodel):
    chat = nmodel.server.chat
    core = nmodel.server.controller.core
    prompts = [f"{w} question {i}" for i in range(40) for w in ("hard", "medium", "easy", "plain")]
    scorer = chat.scorers["toyq"]
    before = scorer.batches

    async def run():
        return await asyncio.gather(*(chat.quality("toyq", p) for p in prompts))

    rows = asyncio.run(run())
    assert scorer.batches - before < len(prompts)  # concurrent prompts shared predictions
    expected = np.vstack([core.predict("toyq", [p]) for p in prompts])
    assert np.array_equal(np.vstack(rows), expected)


def test_fallback_goes_to_the_best_predicted_other_model(upstream):
    with EchoUpstream(fail_rate=1.0) as broken:
        entries = model_entries(upstream.base_url)
        entries[0]["api_base"] = broken.base_url  # big always fails
        with registered(), serve(settings(upstream, models=entries, fallback=True)) as served:
            response = httpx.post(
                served.v1 + "/chat/completions",
                json={"model": "router-toyq-0", "messages": [{"role": "user", "content": HARD}]},
                timeout=10,
            )
            text = httpx.get(served.base_url + "/metrics").text
    assert response.status_code == 200 and response.json()["model"] == "openai/mid-llm"
    headers = response.headers
    assert headers["x-routellm-routed-model"] == "openai/big-llm" and headers["x-routellm-fallback"] == "true"
    assert headers["x-routellm-model"] == "openai/mid-llm" and headers["x-routellm-model-name"] == "mid"
    assert float(headers["x-routellm-quality"]) == 0.5
    assert metric(text, "routellm_fallbacks_total", from_model="openai/big-llm", to_model="openai/mid-llm") == 1
    assert metric(text, "routellm_expected_cost_usd_total", model="openai/mid-llm") == pytest.approx(
        float(headers["x-routellm-expected-cost"])
    )


def test_start_up_errors_are_one_line(upstream):
    with registered():
        with pytest.raises(ConfigError) as info:
            create_app(settings(upstream, routers=["twoonly"]))
        assert "router 'twoonly'" in str(info.value) and "QualityRouter" in str(info.value)
        no_price = [{"name": "big", "model": "openai/big-llm", "api_base": upstream.base_url}] + model_entries(
            upstream.base_url, ("mid", "small")
        )
        with pytest.raises(ConfigError, match="model 'big' .* has no price"):
            create_app(settings(upstream, models=no_price))
    with pytest.raises(ConfigError, match="not both"):
        ServerSettings(routers=["random"], strong_model="a", weak_model="b", models=model_entries())
    with pytest.raises(ConfigError, match="or a models list"):
        ServerSettings(routers=["random"])


def test_settings_round_trip_through_json(upstream):
    original = settings(upstream, expected_output_tokens=99)
    again = ServerSettings.from_json(original.to_json())
    assert again.models == original.models and again.expected_output_tokens == 99
    assert "sk-upstream-nmodel" not in repr(original)


# -- routellm serve ---------------------------------------------------------------------------------


def test_serve_command_with_a_models_file_and_a_two_model_router(tmp_path, upstream):
    """``routellm serve --models FILE``: the built-in two-model router ``random`` routes between exactly two models."""
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        f"  - {{name: strong, model: openai/strong-llm, api_base: '{upstream.base_url}', price: {{input: 5, output: 15}}}}\n"
        f"  - {{name: weak, model: openai/weak-llm, api_base: '{upstream.base_url}', price: {{input: 0.1, output: 0.2}}}}\n"
    )
    with serve_process(["--routers", "random", "--models", str(path), "--expected-output-tokens", "50"]) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
            best = c.chat.completions.with_raw_response.create(
                model="router-random-0", messages=[{"role": "user", "content": "hi"}]
            )
            cheap = c.chat.completions.with_raw_response.create(
                model="router-random-1", messages=[{"role": "user", "content": "hi"}]
            )
        assert best.parse().model == "openai/strong-llm" and best.headers["x-routellm-model-name"] == "strong"
        assert float(best.headers["x-routellm-quality"]) == 1.0
        assert cheap.parse().model == "openai/weak-llm"
        tokens = (len("user") + 1 + 2 + 3) // 4
        assert float(best.headers["x-routellm-expected-cost"]) == pytest.approx((tokens * 5 + 50 * 15) / 1e6)
        log = server.log_path.read_text() if server.log_path else ""
    assert re.search(r"routing among strong=openai/strong-llm", log)


def test_serve_command_refuses_a_two_model_router_with_three_models(tmp_path, upstream):
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n" + "".join(f"  - {{name: {n}, model: openai/{n}, price: {{input: 1, output: 1}}}}\n" for n in ("a", "b", "c"))
    )
    result = subprocess.run(
        [sys.executable, "-m", "routellm_core.cli", "serve", "--routers", "random", "--models", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "router 'random'" in lines[0] and "3 configured models" in lines[0]
    both = subprocess.run(
        [sys.executable, "-m", "routellm_core.cli", "serve", "--routers", "random", "--models", str(path), "--strong-model", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert both.returncode == 2 and "not both" in both.stderr


@pytest.mark.parametrize("mode", ["litellm", "openai"])
def test_each_upstream_client_serves_the_models(upstream, mode):
    with registered(), serve(settings(upstream, upstream_client=mode)) as served:
        with openai.OpenAI(base_url=served.v1, api_key="unused", max_retries=0) as c:
            plain = c.chat.completions.create(model="router-toyq-0", messages=[{"role": "user", "content": MEDIUM}])
            chunks = list(
                c.chat.completions.create(model="router-toyq-1", messages=[{"role": "user", "content": MEDIUM}], stream=True)
            )
    assert plain.model == "openai/big-llm" and plain.choices[0].message.content == f"[big-llm] {MEDIUM}"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == f"[small-llm] {MEDIUM}"


def test_serve_command_with_workers_sums_expected_cost(tmp_path, upstream):
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - {name: strong, model: openai/strong-llm, price: {input: 5, output: 15}}\n"
        "  - {name: weak, model: openai/weak-llm, price: {input: 0.1, output: 0.2}}\n"
    )
    args = ["--routers", "random", "--models", str(path), "--base-url", upstream.base_url, "--workers", "2"]
    with serve_process(args, ready_path="/ready") as server:
        costs = 0.0
        with openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
            for _ in range(6):
                raw = c.chat.completions.with_raw_response.create(
                    model="router-random-0", messages=[{"role": "user", "content": "hi"}]
                )
                assert raw.parse().model == "openai/strong-llm"
                costs += float(raw.headers["x-routellm-expected-cost"])
        text = httpx.get(server.url + "/metrics", timeout=10).text
    assert metric(text, "routellm_requests_total", model="openai/strong-llm", status="200") == 6
    assert metric(text, "routellm_expected_cost_usd_total", model="openai/strong-llm") == pytest.approx(costs)


@hsettings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(lambda a, b: f"router-{a}-{b}", st.sampled_from(["toyq", "mf", "", "toyq-"]), st.text(max_size=8)),
        st.builds(lambda v: f"router-toyq-{v}", st.floats(allow_nan=True, allow_infinity=True)),
        st.builds(lambda v: f"router-toyq-q{v}", st.floats(-2, 2)),
    )
)
def test_any_model_name_is_answered_or_refused_with_400(nmodel, model):
    response = httpx.post(
        nmodel.v1 + "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": EASY}]}, timeout=10
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        error = response.json()["error"]
        assert error["code"] in ("invalid_model", "invalid_unicode") and "\n" not in error["message"]
    else:
        assert response.headers["x-routellm-model-name"] in NAMES
