"""Fuzz ``POST /v1/chat/completions``: no body, model name or header may produce a 5xx.

The only 5xx allowed are 502/504 that an upstream call caused (the loopback
upstream never fails here, so any 502/504 without a call behind it is a bug).
Hostile bodies put lone UTF-16 surrogates and numbers that overflow a double
(``1e400``) anywhere, and go to every installed router.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)

model_names = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\Arouter-[a-z_.-]{0,10}-[0-9a-zA-Z.+\-eE]{0,10}\Z"),
    st.builds(lambda t: f"router-random-{t}", st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    st.sampled_from(
        [
            "router-random-0",
            "router-random-1",
            "router-random-0.5",
            "router-random-.5",
            "router-random-1.",
            "router-random-1e-3",
            "router-random-0x1",
            "router-random-٣",
            "router-mf-0.1",
            "router--0.5",
        ]
    ),
    json_values,
)

contents = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=20)}),
            st.fixed_dictionaries(
                {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": st.text(max_size=20)})}
            ),
            json_values,
        ),
        max_size=3,
    ),
    json_values,
)
messages = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "system", "assistant", "tool", ""]) | st.text(max_size=10), "content": contents}
        ),
        max_size=4,
    ),
    st.lists(json_values, max_size=3),
    json_values,
)
params = st.dictionaries(
    st.sampled_from(
        [
            "temperature",
            "top_p",
            "n",
            "max_tokens",
            "stop",
            "seed",
            "user",
            "logit_bias",
            "tools",
            "tool_choice",
            "response_format",
            "stream_options",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
            "extra_key",
        ]
    ),
    json_values,
    max_size=4,
)
bodies = st.builds(
    lambda m, msgs, p, stream: {"model": m, "messages": msgs, **p, **({"stream": stream} if stream is not None else {})},
    model_names,
    messages,
    params,
    st.none() | st.booleans() | json_values,
)


@pytest.fixture(scope="module")
def http(served):
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client


def check(response: httpx.Response, upstream_calls: int = 0) -> None:
    """An OpenAI-shaped answer; a 5xx only as a 502/504 with an upstream call behind it."""
    if response.status_code in (502, 504):
        assert upstream_calls > 0, f"{response.status_code} without an upstream call: {response.text}"
    else:
        assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
    elif response.headers["content-type"].startswith("application/json"):
        assert response.json()["choices"]
    else:
        assert response.text.rstrip().endswith("data: [DONE]")


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(body=bodies)
def test_fuzz_structured_bodies(http, upstream, body):
    before = upstream_count(upstream)
    r = http.post("/v1/chat/completions", content=json.dumps(body))
    check(r, upstream_count(upstream) - before)


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
@given(
    auth=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40).map(
        lambda s: "Bearer " + s
    )
    | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)
)
def test_fuzz_auth_header(served_auth, auth):
    header = auth.strip().encode("latin-1")
    with httpx.Client(base_url=served_auth.base_url) as client:
        r = client.post(
            "/v1/chat/completions",
            headers={"Authorization": header},
            json={"model": "router-random-0", "messages": [{"role": "user", "content": "x"}]},
        )
    assert r.status_code in (200, 401, 400), r.text


@pytest.fixture(scope="module")
def http_litellm(upstream):
    from .conftest import make_settings, serve

    with serve(make_settings(upstream, upstream_client="litellm")) as s:
        with httpx.Client(base_url=s.base_url, timeout=30) as client:
            yield client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_fuzz_structured_bodies_through_litellm(http_litellm, upstream, body):
    before = upstream_count(upstream)
    r = http_litellm.post("/v1/chat/completions", content=json.dumps(body))
    check(r, upstream_count(upstream) - before)


# -- hostile values: invalid Unicode and out-of-range numbers anywhere, every installed router -------------------
HUGE, TINY = "\x00HUGE\x00", "\x00TINY\x00"  # written into the JSON text as 1e400 and -1e400
surrogates = st.integers(0xD800, 0xDFFF).map(chr)
hostile_strings = st.lists(st.one_of(st.text(max_size=6), surrogates), max_size=4).map("".join)
hostile_scalars = json_scalars | hostile_strings | st.sampled_from([HUGE, TINY])
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_strings, inner, max_size=3),
    max_leaves=12,
)
hostile_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "system", "assistant"]) | hostile_strings,
            "content": hostile_strings
            | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": hostile_strings}), max_size=2)
            | hostile_values,
        },
        optional={"name": hostile_values, "extra": hostile_values},
    ),
    min_size=1,
    max_size=3,
)
hostile_params = st.dictionaries(
    st.sampled_from(
        [
            "temperature",
            "top_p",
            "n",
            "max_tokens",
            "stop",
            "seed",
            "user",
            "logit_bias",
            "tools",
            "tool_choice",
            "response_format",
            "stream_options",
            "presence_penalty",
            "logprobs",
            "extra_key",
        ]
    )
    | hostile_strings,
    hostile_values,
    max_size=3,
)


def hostile_json(body: dict) -> bytes:
    text = json.dumps(body)  # lone surrogates become \udXXX escapes
    return text.replace(json.dumps(HUGE), "1e400").replace(json.dumps(TINY), "-1e400").encode()


def has_hostile(body: dict) -> bool:
    """Whether the server will see a lone surrogate or an out-of-range number (adjacent high + low surrogates pair up)."""
    return _hostile(json.loads(json.dumps(body)))


def _hostile(value) -> bool:
    if isinstance(value, str):
        return value in (HUGE, TINY) or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_hostile(k) or _hostile(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_hostile(v) for v in value)
    return False


def installed_routers() -> list[str]:
    """Every installed router that can be built here with its default configuration."""
    from routellm_core.plugins import get_registry

    registry, names = get_registry(), []
    for name in registry.names("routers"):
        try:
            registry.create_router(name, None)
        except Exception:  # e.g. a plugin whose optional dependencies are missing: it cannot be served either
            continue
        names.append(name)
    return names


ROUTERS = installed_routers()


@pytest.fixture(scope="module")
def every_router(upstream):
    from .conftest import make_settings, serve

    with serve(make_settings(upstream, routers=ROUTERS)) as s:
        with httpx.Client(base_url=s.base_url, timeout=60) as client:
            yield client, upstream


def upstream_count(upstream) -> int:
    return sum(upstream.stats.values())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    router=st.sampled_from(ROUTERS),
    threshold=st.sampled_from(["0", "0.5", "1"]),
    messages=hostile_messages,
    params=hostile_params,
    stream=st.booleans(),
)
def test_fuzz_hostile_values_every_router(every_router, router, threshold, messages, params, stream):
    http, upstream = every_router
    body = {"model": f"router-{router}-{threshold}", "messages": messages, **params, "stream": stream}
    before = upstream_count(upstream)
    r = http.post("/v1/chat/completions", content=hostile_json(body), headers={"Content-Type": "application/json"})
    check(r, upstream_count(upstream) - before)
    if has_hostile(body):
        assert r.status_code == 400 and r.json()["error"]["code"] in ("invalid_unicode", "invalid_number"), r.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=hostile_messages, params=hostile_params, stream=st.booleans())
def test_fuzz_hostile_values_through_litellm(http_litellm, upstream, messages, params, stream):
    body = {"model": "router-random-0.5", "messages": messages, **params, "stream": stream}
    before = upstream_count(upstream)
    r = http_litellm.post("/v1/chat/completions", content=hostile_json(body), headers={"Content-Type": "application/json"})
    check(r, upstream_count(upstream) - before)
    if has_hostile(body):
        assert r.status_code == 400, r.text


def test_every_installed_router_is_fuzzed():
    assert "random" in ROUTERS
