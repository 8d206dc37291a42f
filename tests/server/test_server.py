"""The router server through the official openai SDK, against a loopback EchoUpstream."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import openai
import pytest

from routellm_core.server import ServerSettings
from routellm_core.testing.upstream import EchoUpstream

from .conftest import SERVER_KEY, STRONG, WEAK, make_settings, serve

USER = [{"role": "user", "content": "What is 2 + 2?"}]


def client(served, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key=kw.pop("api_key", "unused"), max_retries=0, **kw)


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    if code is not None:
        assert error["code"] == code
    return error


# -- happy paths ----------------------------------------------------------------------------
def test_sync_completion_strong_and_weak(served):
    c = client(served)
    strong = c.chat.completions.create(model="router-random-0", messages=USER)
    assert strong.model == STRONG
    assert strong.choices[0].message.content == "[strong-echo] What is 2 + 2?"
    assert strong.usage.total_tokens > 0
    weak = c.chat.completions.create(model="router-random-1", messages=USER)
    assert weak.model == WEAK
    assert weak.choices[0].message.content.startswith("[weak-echo]")


def test_decision_headers(served):
    raw = client(served).chat.completions.with_raw_response.create(model="router-random-0.5", messages=USER)
    h = raw.headers
    assert h["x-routellm-router"] == "random"
    assert h["x-routellm-threshold"] == "0.5"
    score = float(h["x-routellm-score"])
    assert 0.0 <= score <= 1.0
    expected = STRONG if score >= 0.5 else WEAK
    assert h["x-routellm-model"] == h["x-routellm-routed-model"] == expected == raw.parse().model
    assert h["x-routellm-tier"] == ("strong" if score >= 0.5 else "weak")
    assert h["x-routellm-fallback"] == "false"
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-request-id"])


def test_same_prompt_same_score(served):
    c = client(served)
    scores = {
        c.chat.completions.with_raw_response.create(model="router-random-0.3", messages=USER).headers["x-routellm-score"]
        for _ in range(3)
    }
    assert len(scores) == 1


def test_content_as_list_of_parts(served):
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "there"}]},
    ]
    r = client(served).chat.completions.create(model="router-random-0", messages=messages)
    assert r.choices[0].message.content == "[strong-echo] hello there"


def test_forwarded_parameters(served, upstream):
    client(served).chat.completions.create(
        model="router-random-0", messages=USER, temperature=0.2, max_tokens=7, stop=["\n"], seed=3
    )
    sent = upstream.calls[-1]
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 7 and sent["stop"] == ["\n"] and sent["seed"] == 3
    assert sent["model"] == "strong-echo"


def test_streaming(served):
    c = client(served)
    chunks = list(c.chat.completions.create(model="router-random-1", messages=USER, stream=True))
    assert chunks and all(ch.model == WEAK for ch in chunks)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "[weak-echo] What is 2 + 2?"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streaming_with_usage_and_raw_sse(served, http):
    c = client(served)
    chunks = list(
        c.chat.completions.create(model="router-random-0", messages=USER, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    with http.stream("POST", "/v1/chat/completions", json={"model": "router-random-0", "messages": USER, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-routellm-model"] == STRONG
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        assert json.loads(line[6:])["object"] == "chat.completion.chunk"


def test_async_client_concurrent(served):
    async def main():
        c = openai.AsyncOpenAI(base_url=served.v1, api_key="unused", max_retries=0)
        prompts = [f"question {i}" for i in range(20)]
        results = await asyncio.gather(
            *[c.chat.completions.create(model="router-random-0.5", messages=[{"role": "user", "content": p}]) for p in prompts]
        )
        stream = await c.chat.completions.create(model="router-random-0", messages=USER, stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        await c.close()
        return prompts, results, text

    prompts, results, text = asyncio.run(main())
    for prompt, r in zip(prompts, results, strict=True):
        assert r.choices[0].message.content.endswith(prompt)
        assert r.model in (STRONG, WEAK)
    assert {r.model for r in results} == {STRONG, WEAK}  # 20 uniform scores at 0.5: both models used
    assert text == "[strong-echo] What is 2 + 2?"


def test_models_health_and_page(served, http):
    models = client(served).models.list()
    assert [m.id for m in models.data] == ["router-random-0.5"]
    assert client(served).models.retrieve("router-random-0.25").id == "router-random-0.25"
    assert_openai_error(http.get("/v1/models/router-nope-0.5"), 404, "model_not_found")
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["routers"] == ["random"]
    assert http.get("/").status_code == 200
    assert_openai_error(http.get("/no/such/path"), 404)
    assert_openai_error(http.get("/v1/chat/completions"), 405)


def test_thresholds_per_router_in_models(upstream):
    with serve(make_settings(upstream, default_threshold=0.3, thresholds={"random": 0.11593})) as s:
        assert [m.id for m in client(s).models.list().data] == ["router-random-0.11593"]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """The exposition text parsed by prometheus_client: {(sample name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples
    }


def sample(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def test_metrics(served, http):
    c = client(served)
    c.chat.completions.create(model="router-random-0", messages=USER)
    list(c.chat.completions.create(model="router-random-1", messages=USER, stream=True, stream_options={"include_usage": True}))
    http.post("/v1/chat/completions", json={"model": "router-bogus-0.5", "messages": USER})
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert sample(text, "routellm_requests_total", router="random", model=STRONG, status="200") >= 1
    assert sample(text, "routellm_requests_total", router="random", model=WEAK, status="200") >= 1
    assert sample(text, "routellm_errors_total", router="none", model="none", type="invalid_model") >= 1
    assert sample(text, "routellm_routing_latency_seconds_bucket", router="random", le="+Inf") >= 2
    assert sample(text, "routellm_upstream_latency_seconds_count", model=STRONG, stream="false", outcome="ok") >= 1
    assert sample(text, "routellm_upstream_latency_seconds_count", model=WEAK, stream="true", outcome="ok") >= 1
    assert sample(text, "routellm_tokens_total", model=WEAK, kind="completion") > 0
    assert sample(text, "routellm_cost_usd_total", model=STRONG) == 0  # not in litellm's cost map
    assert sample(text, "routellm_in_flight_requests") == 0
    assert "# TYPE routellm_upstream_latency_seconds histogram" in text
    # the exposition parses: every sample line is 'name{labels} value'
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[a-z_]+(\{[^}]*\})? [-+0-9.e]+|[a-z_]+(\{[^}]*\})? \+Inf", line), line


def test_cost_is_estimated_for_mapped_models(served):
    server = served.server
    usage = type("U", (), {"prompt_tokens": 1000, "completion_tokens": 1000})()
    server.usage.record("gpt-4o", usage)
    assert server.metrics.cost.get(model="gpt-4o") > 0


# -- auth ------------------------------------------------------------------------------------
def test_auth(served_auth):
    s = served_auth
    with pytest.raises(openai.AuthenticationError):
        client(s, api_key="wrong-key").chat.completions.create(model="router-random-0", messages=USER)
    ok = client(s, api_key=SERVER_KEY).chat.completions.create(model="router-random-0", messages=USER)
    assert ok.model == STRONG
    assert client(s, api_key="sk-second-key").models.list().data
    with httpx.Client(base_url=s.base_url) as http:
        missing = http.post("/v1/chat/completions", json={"model": "router-random-0", "messages": USER})
        assert_openai_error(missing, 401, "missing_api_key")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_openai_error(
            http.post(
                "/v1/chat/completions",
                headers={"Authorization": "Bearer " + SERVER_KEY[:-1]},
                json={"model": "router-random-0", "messages": USER},
            ),
            401,
            "invalid_api_key",
        )
        assert_openai_error(http.get("/v1/models"), 401)
        assert_openai_error(http.get("/metrics"), 401)
        assert http.get("/metrics", headers={"x-api-key": SERVER_KEY}).status_code == 200
        assert http.get("/health").status_code == 200
        assert SERVER_KEY not in http.get("/metrics", headers={"x-api-key": SERVER_KEY}).text


def test_settings_repr_hides_keys():
    s = ServerSettings(
        routers=["random"], strong_model="a", weak_model="b", api_key="sk-secret-upstream", server_api_keys=["sk-secret-server"]
    )
    assert "sk-secret" not in repr(s)
    assert ServerSettings.from_json(s.to_json()) == s


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, code",
    [
        ("gpt-4", "invalid_model"),
        ("router-random", "invalid_model"),
        ("router-random-1.5", "invalid_model"),
        ("router-random-abc", "invalid_model"),
        ("router-random--0.5", "invalid_model"),
        ("router-random-nan", "invalid_model"),
        ("router-mf-0.5", "invalid_model"),  # router not enabled here
        ("", "invalid_model"),
    ],
)
def test_bad_model_names_via_sdk(served, model, code):
    with pytest.raises(openai.BadRequestError) as info:
        client(served).chat.completions.create(model=model, messages=USER)
    assert info.value.status_code == 400
    assert info.value.body["code"] == code
    assert "router-" in info.value.message or "router" in info.value.message


@pytest.mark.parametrize(
    "body, code",
    [
        ({"model": "router-random-0.5", "messages": []}, "invalid_request"),
        ({"model": "router-random-0.5"}, "invalid_request"),
        ({"messages": USER}, "invalid_request"),
        ({"model": 5, "messages": USER}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": "hello"}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": [{"content": "no role"}]}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": [{"role": "user", "content": 42}]}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": [{"role": "user", "content": [7]}]}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": [{"role": "system", "content": "only system"}]}, "invalid_messages"),
        ({"model": "router-random-0.5", "messages": USER, "stream": "yes"}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": USER, "temperature": "hot"}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": USER, "temperature": 5}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": USER, "max_tokens": -1}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": USER, "n": 0}, "invalid_request"),
        ({"model": "router-random-0.5", "messages": USER, "stop": [1, 2]}, "invalid_request"),
    ],
)
def test_bad_bodies(http, body, code):
    error = assert_openai_error(http.post("/v1/chat/completions", json=body), 400, code)
    assert len(error["message"]) < 2000


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"model": NaN}',
        b'{"model": "router-random-0", "messages": [{"role": "user", "content": "x"}], "temperature": Infinity}',
        b"\xff\xfe\x00garbage",
        b"[" * 50000,
    ],
)
def test_non_json_bodies(http, raw):
    r = http.post("/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"})
    assert_openai_error(r, 400, "invalid_json")


def test_deeply_nested_json(http):
    nested = {"model": "router-random-0", "messages": USER, "response_format": {"a": None}}
    node = nested["response_format"]
    for _ in range(200):
        node["a"] = {"a": None}
        node = node["a"]
    assert_openai_error(http.post("/v1/chat/completions", json=nested), 400, "invalid_json")


def test_huge_body_413(served, http):
    big = {"model": "router-random-0", "messages": [{"role": "user", "content": "x" * (200 * 1024)}]}
    assert_openai_error(http.post("/v1/chat/completions", json=big), 413, "request_too_large")

    # chunked upload without Content-Length is cut off while reading
    def chunks():
        for _ in range(100):
            yield b"x" * 4096

    assert_openai_error(http.post("/v1/chat/completions", content=chunks()), 413, "request_too_large")
    with pytest.raises(openai.APIStatusError) as info:
        client(served).chat.completions.create(model="router-random-0", messages=big["messages"])
    assert info.value.status_code == 413
    # the server still answers afterwards
    assert client(served).chat.completions.create(model="router-random-0", messages=USER).model == STRONG


# -- upstream failures ------------------------------------------------------------------------
def test_upstream_500_is_502_with_message():
    with EchoUpstream(fail_rate=1.0) as up, serve(make_settings(up)) as s:
        with pytest.raises(openai.APIStatusError) as info:
            client(s).chat.completions.create(model="router-random-0", messages=USER)
        assert info.value.status_code == 502
        assert "upstream exploded (injected fault)" in info.value.message
        assert info.value.response.headers["x-routellm-fallback"] == "false"
        assert "sk-upstream" not in info.value.response.text
        # streaming requests fail before the first chunk: a plain 502 too
        with pytest.raises(openai.APIStatusError) as info:
            list(client(s).chat.completions.create(model="router-random-0", messages=USER, stream=True))
        assert info.value.status_code == 502
        assert len(up.calls) == 2  # no hidden retries
        text = httpx.get(s.base_url + "/metrics").text
        assert sample(text, "routellm_errors_total", router="random", model=STRONG, type="upstream_error") == 2


def test_upstream_stall_is_504():
    with EchoUpstream(stall_rate=1.0, stall_seconds=5) as up, serve(make_settings(up, timeout=0.5)) as s:
        for stream in (False, True):
            with pytest.raises(openai.APIStatusError) as info:
                r = client(s, timeout=10).chat.completions.create(model="router-random-0", messages=USER, stream=stream)
                if stream:
                    list(r)
            assert info.value.status_code == 504
            assert info.value.body["code"] == "upstream_timeout"
            assert "0.5s" in info.value.message


def test_unreachable_upstream_is_502():
    settings = ServerSettings(
        routers=["random"], strong_model=STRONG, weak_model=WEAK, base_url="http://127.0.0.1:9/v1", api_key="x", timeout=5
    )
    with serve(settings) as s:
        with pytest.raises(openai.APIStatusError) as info:
            client(s).chat.completions.create(model="router-random-0", messages=USER)
        assert info.value.status_code == 502


def test_fallback_on_and_off():
    with EchoUpstream() as good, EchoUpstream(fail_rate=1.0) as bad:
        common = dict(
            routers=["random"],
            strong_model=STRONG,
            weak_model=WEAK,
            api_key="x",
            timeout=5,
            strong_base_url=bad.base_url,
            weak_base_url=good.base_url,
        )
        with serve(ServerSettings(**common)) as s:  # off by default
            with pytest.raises(openai.APIStatusError) as info:
                client(s).chat.completions.create(model="router-random-0", messages=USER)
            assert info.value.status_code == 502
        with serve(ServerSettings(**common, fallback=True)) as s:
            raw = client(s).chat.completions.with_raw_response.create(model="router-random-0", messages=USER)
            assert raw.headers["x-routellm-routed-model"] == STRONG
            assert raw.headers["x-routellm-model"] == WEAK == raw.parse().model
            assert raw.headers["x-routellm-fallback"] == "true"
            chunks = list(client(s).chat.completions.create(model="router-random-0", messages=USER, stream=True))
            assert chunks[0].model == WEAK
            weak = client(s).chat.completions.with_raw_response.create(model="router-random-1", messages=USER)
            assert weak.headers["x-routellm-fallback"] == "false" and weak.parse().model == WEAK
            text = httpx.get(s.base_url + "/metrics").text
            assert (
                sample(text, "routellm_fallbacks_total", router="random", from_model=STRONG, to_model=WEAK, outcome="success")
                == 2
            )


def test_fallback_both_fail():
    with EchoUpstream(fail_rate=1.0) as bad:
        with serve(make_settings(bad, fallback=True)) as s:
            with pytest.raises(openai.APIStatusError) as info:
                client(s).chat.completions.create(model="router-random-0", messages=USER)
            assert info.value.status_code == 502
            assert "routed model failed" in info.value.message and "fallback failed" in info.value.message
            text = httpx.get(s.base_url + "/metrics").text
            assert (
                sample(text, "routellm_fallbacks_total", router="random", from_model=STRONG, to_model=WEAK, outcome="failure")
                == 1
            )


# -- construction --------------------------------------------------------------------------------
def test_unknown_router_fails_fast():
    from routellm_core.errors import RoutingError
    from routellm_core.server import create_app

    with pytest.raises(RoutingError, match="unknown router 'nope'"):
        create_app(ServerSettings(routers=["nope"], strong_model="gpt-4o", weak_model="gpt-4o-mini"))


def test_unknown_provider_fails_fast():
    from routellm_core.errors import ConfigError
    from routellm_core.server import create_app

    with pytest.raises(ConfigError, match="litellm cannot call model"):
        create_app(ServerSettings(routers=["random"], strong_model="no-such-model", weak_model="gpt-4o-mini"))


def test_bare_model_with_base_url_is_openai_compatible():
    from routellm_core.server.app import build_endpoint

    assert build_endpoint("smollm2", "http://127.0.0.1:8080/v1", None).model == "openai/smollm2"
    assert build_endpoint("gpt-4o", None, None).model == "gpt-4o"


# -- both upstream clients ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["litellm", "openai"])
def test_upstream_clients_agree(mode):
    with EchoUpstream() as up, EchoUpstream(fail_rate=1.0) as bad, EchoUpstream(stall_rate=1.0, stall_seconds=3) as slow:
        with serve(make_settings(up, upstream_client=mode)) as s:
            c = client(s)
            r = c.chat.completions.create(model="router-random-0", messages=USER, max_tokens=5)
            assert r.model == STRONG and r.choices[0].message.content == "[strong-echo] What is 2 + 2?"
            chunks = list(
                c.chat.completions.create(
                    model="router-random-1", messages=USER, stream=True, stream_options={"include_usage": True}
                )
            )
            assert {ch.model for ch in chunks} == {WEAK}
            assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "[weak-echo] What is 2 + 2?"
            assert s.server.metrics.tokens.get(model=WEAK, kind="completion") > 0
        with serve(make_settings(bad, upstream_client=mode)) as s:
            with pytest.raises(openai.APIStatusError) as info:
                client(s).chat.completions.create(model="router-random-0", messages=USER)
            assert info.value.status_code == 502 and "injected fault" in info.value.message
        with serve(make_settings(slow, upstream_client=mode, timeout=0.3)) as s:
            with pytest.raises(openai.APIStatusError) as info:
                client(s).chat.completions.create(model="router-random-0", messages=USER)
            assert info.value.status_code == 504


def test_upstream_client_openai_needs_compatible_endpoint():
    from routellm_core.errors import ConfigError
    from routellm_core.server import create_app

    with pytest.raises(ConfigError, match="upstream_client='openai'"):
        create_app(ServerSettings(routers=["random"], strong_model="gpt-4o", weak_model="gpt-4o-mini", upstream_client="openai"))


def test_stream_stalling_mid_way_ends_with_an_error_event():
    with EchoUpstream(stream_stall_after=2, stall_seconds=8) as up, serve(make_settings(up, timeout=2)) as s:
        with httpx.Client(base_url=s.base_url, timeout=10) as http:
            with http.stream(
                "POST", "/v1/chat/completions", json={"model": "router-random-0", "messages": USER, "stream": True}
            ) as r:
                assert r.status_code == 200
                events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        assert len(events) == 4 and events[-1] == "[DONE]"
        assert json.loads(events[0])["object"] == "chat.completion.chunk"
        error = json.loads(events[2])["error"]
        assert error["code"] == "upstream_timeout"
        # the openai SDK raises on the error event instead of returning a silently truncated answer
        with pytest.raises(openai.APIError, match="did not answer within"):
            list(client(s).chat.completions.create(model="router-random-0", messages=USER, stream=True))
        text = httpx.get(s.base_url + "/metrics").text
        assert 'type="upstream_timeout_mid_stream"' in text


def test_serve_cli_fails_fast(capsys):
    from routellm_core.cli import main

    assert main(["serve", "--routers", "nope", "--strong-model", "gpt-4o", "--weak-model", "gpt-4o-mini"]) == 2
    assert "unknown router 'nope'" in capsys.readouterr().err
    assert main(["serve", "--routers", "random", "--strong-model", "no-provider-model", "--weak-model", "gpt-4o-mini"]) == 2
    assert "litellm cannot call model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--routers", "random", "--strong-model", "a", "--weak-model", "b", "--timeout", "-1"])


def test_serve_cli_settings(monkeypatch):
    from routellm_core.cli import build_parser
    from routellm_core.cli.serve_cmd import settings_from_args

    monkeypatch.setenv("ROUTELLM_SERVER_API_KEY", "k1, k2")
    args = build_parser().parse_args(
        [
            "serve",
            "--routers",
            "random",
            "--strong-model",
            "s",
            "--weak-model",
            "w",
            "--base-url",
            "http://127.0.0.1:1/v1",
            "--fallback",
            "--timeout",
            "7",
            "--threshold",
            "random=0.25",
            "--upstream-client",
            "litellm",
        ]
    )
    settings = settings_from_args(args)
    assert settings.server_api_keys == ["k1", "k2"] and settings.fallback and settings.timeout == 7
    assert settings.threshold_for("random") == 0.25 and settings.upstream_client == "litellm"
    assert "k1" not in repr(settings)


def test_client_disconnect_mid_stream_releases_the_upstream():
    with EchoUpstream(stream_stall_after=1, stall_seconds=3) as up, serve(make_settings(up, timeout=10)) as s:
        with httpx.Client(base_url=s.base_url, timeout=10) as http:
            with http.stream(
                "POST", "/v1/chat/completions", json={"model": "router-random-0", "messages": USER, "stream": True}
            ) as r:
                first = next(line for line in r.iter_lines() if line.startswith("data: "))
                assert json.loads(first[6:])["choices"][0]["delta"]["content"] == "[strong-echo]"
        # the client is gone while the upstream stalls (3 s): the server notices at once and closes its side
        deadline = time.monotonic() + 2
        hist = s.server.metrics.upstream_latency
        while time.monotonic() < deadline and not hist.count(model=STRONG, stream="true", outcome="client_disconnected"):
            time.sleep(0.05)
        assert hist.count(model=STRONG, stream="true", outcome="client_disconnected") == 1, "not noticed"
        assert client(s).chat.completions.create(model="router-random-1", messages=USER).model == WEAK


# -- batched scoring ----------------------------------------------------------------------------
def test_batch_scorer_batches_concurrent_prompts_and_matches_one_by_one():
    from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter
    from routellm_core.server.batching import BatchScorer

    router = RandomRouter(RandomConfig(seed=3))
    prompts = [f"prompt {i}" for i in range(50)]

    async def main():
        scorer = BatchScorer(router, max_batch=16)
        scores = await asyncio.gather(*[scorer.score(p) for p in prompts])
        return scorer, scores

    scorer, scores = asyncio.run(main())
    assert scores == [float(router.score([p])[0]) for p in prompts]
    assert scorer.prompts == 50 and scorer.batches < 50  # batched: first batch of 1, then up to 16


def test_batch_scorer_isolates_a_failing_prompt():
    from routellm_core.router import Router
    from routellm_core.server.batching import BatchScorer

    class Picky(Router):
        def score(self, prompts):
            if "bad" in prompts:
                raise ValueError("cannot score 'bad'")
            return [0.25] * len(prompts)

    async def main():
        scorer = BatchScorer(Picky())
        return await asyncio.gather(*[scorer.score(p) for p in ["a", "b", "bad", "c"]], return_exceptions=True)

    results = asyncio.run(main())
    assert results[0] == results[1] == results[3] == 0.25
    assert isinstance(results[2], ValueError)


def test_server_scores_match_the_controller(served):
    async def main():
        c = openai.AsyncOpenAI(base_url=served.v1, api_key="unused", max_retries=0)
        raws = await asyncio.gather(
            *[
                c.chat.completions.with_raw_response.create(
                    model="router-random-0.5", messages=[{"role": "user", "content": f"q{i}"}]
                )
                for i in range(30)
            ]
        )
        await c.close()
        return raws

    raws = asyncio.run(main())
    controller = served.server.controller
    for i, raw in enumerate(raws):
        decision = controller.decide([{"role": "user", "content": f"q{i}"}], "router-random-0.5")
        assert float(raw.headers["x-routellm-score"]) == decision.score
        assert raw.headers["x-routellm-model"] == decision.model
    assert "routellm_score_batch_size_count" in httpx.get(served.base_url + "/metrics").text
