"""Fuzz ``POST /v1/chat/completions``: no body, model name or header may produce a 5xx."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)

model_names = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\Arouter-[a-z_.-]{0,10}-[0-9a-zA-Z.+\-eE]{0,10}\Z"),
    st.builds(lambda t: f"router-random-{t}", st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    st.sampled_from(["router-random-0", "router-random-1", "router-random-0.5", "router-random-.5", "router-random-1.",
                     "router-random-1e-3", "router-random-0x1", "router-random-٣", "router-mf-0.1", "router--0.5"]),
    json_values,
)

contents = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=20)}),
                       st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": st.text(max_size=20)})}),
                       json_values), max_size=3),
    json_values,
)
messages = st.one_of(
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", ""]) | st.text(max_size=10),
                                    "content": contents}), max_size=4),
    st.lists(json_values, max_size=3),
    json_values,
)
params = st.dictionaries(
    st.sampled_from(["temperature", "top_p", "n", "max_tokens", "stop", "seed", "user", "logit_bias", "tools", "tool_choice",
                     "response_format", "stream_options", "presence_penalty", "logprobs", "top_logprobs", "extra_key"]),
    json_values, max_size=4)
bodies = st.builds(lambda m, msgs, p, stream: {"model": m, "messages": msgs, **p, **({"stream": stream} if stream is not None else {})},
                   model_names, messages, params, st.none() | st.booleans() | json_values)


@pytest.fixture(scope="module")
def http(served):
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
    elif response.headers["content-type"].startswith("application/json"):
        assert response.json()["choices"]
    else:
        assert response.text.rstrip().endswith("data: [DONE]")


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(body=bodies)
def test_fuzz_structured_bodies(http, body):
    check(http.post("/v1/chat/completions", content=json.dumps(body)))


@FUZZ
@given(body=json_values)
def test_fuzz_any_json(http, body):
    check(http.post("/v1/chat/completions", content=json.dumps(body)))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_fuzz_raw_bytes(http, raw):
    check(http.post("/v1/chat/completions", content=raw))


@FUZZ
@given(model=model_names, text=st.text(max_size=100))
def test_fuzz_model_names_and_text(http, model, text):
    r = http.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    check(r)
    if r.status_code == 200:
        assert isinstance(model, str) and model.startswith("router-random-")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
       .map(lambda s: "Bearer " + s) | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40))
def test_fuzz_auth_header(served_auth, auth):
    header = auth.strip().encode("latin-1")
    with httpx.Client(base_url=served_auth.base_url) as client:
        r = client.post("/v1/chat/completions", headers={"Authorization": header},
                        json={"model": "router-random-0", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code in (200, 401, 400), r.text


@pytest.fixture(scope="module")
def http_litellm(upstream):
    from .conftest import make_settings, serve

    with serve(make_settings(upstream, upstream_client="litellm")) as s:
        with httpx.Client(base_url=s.base_url, timeout=30) as client:
            yield client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_fuzz_structured_bodies_through_litellm(http_litellm, body):
    check(http_litellm.post("/v1/chat/completions", content=json.dumps(body)))
