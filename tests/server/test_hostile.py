"""Hostile input and slow or broken clients: a real server on loopback, real clients (httpx, the openai SDK, raw sockets)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import openai
import pytest

from routellm_core.plugins import get_registry

from .conftest import STRONG, make_settings, serve
from .test_server import USER, assert_openai_error, client, sample

SHORT_MESSAGES = 100_000


def many_messages(n: int) -> bytes:
    """A body with ``n`` short messages, ~35 bytes each (100,000 of them: 3.5 MB, under the 4 MiB limit)."""
    messages = [{"role": "user", "content": f"hi {i}"} for i in range(n)]
    return json.dumps({"model": "router-random-0", "messages": messages}).encode()


def upstream_calls(upstream) -> int:
    return sum(upstream.stats.values())


def metrics_text(served) -> str:
    return httpx.get(served.base_url + "/metrics").text


def wait_for(predicate, seconds: float = 10.0) -> bool:
    """Poll until ``predicate()`` is true (the server counts a request after answering it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- 1. big requests: limits, and the upstream deadline covers only the upstream call ---------------
def test_too_many_messages_is_a_413_naming_the_limit(upstream):
    body = many_messages(SHORT_MESSAGES)
    assert 3_000_000 < len(body) < 4 * 1024 * 1024
    with serve(make_settings(upstream)) as s:
        before = upstream_calls(upstream)
        r = httpx.post(s.v1 + "/chat/completions", content=body, headers={"Content-Type": "application/json"}, timeout=60)
        error = assert_openai_error(r, 413, "too_many_messages")
        assert "max_messages" in error["message"] and "10000" in error["message"] and error["param"] == "messages"
        assert upstream_calls(upstream) == before
        assert httpx.get(s.base_url + "/health").status_code == 200


def test_too_much_text_is_a_413_naming_the_limit(upstream):
    with serve(make_settings(upstream, max_text_chars=1000)) as s:
        ok = client(s).chat.completions.create(model="router-random-0", messages=[{"role": "user", "content": "x" * 1000}])
        assert ok.model == STRONG
        with pytest.raises(openai.APIStatusError) as info:
            client(s).chat.completions.create(
                model="router-random-0",
                messages=[
                    {"role": "system", "content": "y" * 600},
                    {"role": "user", "content": [{"type": "text", "text": "x" * 401}]},
                ],
            )
        assert info.value.status_code == 413
        assert info.value.body["code"] == "text_too_long" and "max_text_chars" in info.value.message


def test_a_big_request_is_not_a_504_when_only_the_upstream_call_is_timed(upstream):
    """100,000 messages within raised limits: parsed and serialised off the event loop, before the upstream deadline starts."""
    body = many_messages(SHORT_MESSAGES)
    with serve(make_settings(upstream, max_messages=SHORT_MESSAGES, timeout=1.0)) as s:
        before = upstream_calls(upstream)
        health: list[int] = []
        done = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=s.base_url, timeout=60) as http:
                while not done.is_set():
                    health.append(http.get("/health").status_code)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            r = httpx.post(s.v1 + "/chat/completions", content=body, headers={"Content-Type": "application/json"}, timeout=120)
        finally:
            done.set()
            poller.join()
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == f"[strong-echo] hi {SHORT_MESSAGES - 1}"
        assert upstream_calls(upstream) == before + 1
        assert len(upstream.calls[-1]["messages"]) == SHORT_MESSAGES
        assert health and set(health) == {200}


def test_limits_are_settings():
    from routellm_core.errors import ConfigError
    from routellm_core.server import ServerSettings

    for bad in ({"max_messages": 0}, {"max_text_chars": -1}, {"header_timeout": 0}, {"body_timeout": "x"}):
        with pytest.raises(ConfigError):
            ServerSettings(routers=["random"], strong_model="a", weak_model="b", **bad)


# -- 2, 3. invalid unicode and out-of-range numbers are the client's 400s -------------------------------
def post_raw(served, text: str) -> httpx.Response:
    return httpx.post(
        served.v1 + "/chat/completions", content=text.encode(), headers={"Content-Type": "application/json"}, timeout=30
    )


@pytest.mark.parametrize(
    "content, field",
    [
        ('"\\ud8b6"', "messages.0.content"),
        ('"a\\ud800b"', "messages.0.content"),
        ('"\\udc00 low alone"', "messages.0.content"),
        ('[{"type": "text", "text": "x\\udfff"}]', "messages.0.content.0.text"),
    ],
)
def test_lone_surrogates_are_400_naming_the_field(served, upstream, content, field):
    before, errors_before = upstream_calls(upstream), metrics_text(served).count("routellm_upstream_errors_total{")
    r = post_raw(served, '{"model": "router-random-0", "messages": [{"role": "user", "content": %s}]}' % content)
    error = assert_openai_error(r, 400, "invalid_unicode")
    assert error["param"] == field and field in error["message"]
    assert upstream_calls(upstream) == before
    assert metrics_text(served).count("routellm_upstream_errors_total{") == errors_before


def test_surrogate_pairs_are_valid_text(served, upstream):
    r = post_raw(served, '{"model": "router-random-0", "messages": [{"role": "user", "content": "smile \\ud83d\\ude00"}]}')
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "[strong-echo] smile \U0001f600"


def test_lone_surrogate_in_a_key_or_the_model_name(served):
    r = post_raw(served, '{"model": "router-random-0\\ud800", "messages": [{"role": "user", "content": "x"}]}')
    assert assert_openai_error(r, 400, "invalid_unicode")["param"] == "model"
    r = post_raw(served, '{"model": "router-random-0", "messages": [{"role": "user", "content": "x", "\\ud800": 1}]}')
    error = assert_openai_error(r, 400, "invalid_unicode")
    assert error["param"] == "messages.0.\\ud800" and "a key in" in error["message"]


def test_invalid_utf8_bytes_are_400(served):
    body = b'{"model": "router-random-0", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}'  # an encoded surrogate
    r = httpx.post(served.v1 + "/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert "UTF-8" in assert_openai_error(r, 400, "invalid_json")["message"]


@pytest.mark.skipif("mf" not in get_registry().names("routers"), reason="the mf router is not installed")
def test_lone_surrogate_with_mf_is_400_not_500(upstream):
    with serve(make_settings(upstream, routers=["mf"])) as s:
        r = post_raw(s, '{"model": "router-mf-0.5", "messages": [{"role": "user", "content": "\\ud8b6"}]}')
        assert assert_openai_error(r, 400, "invalid_unicode")["param"] == "messages.0.content"
        text = metrics_text(s)
        assert sample(text, "routellm_errors_total", router="none", model="none", type="invalid_unicode") == 1
        assert "router_error" not in text and 'status="500"' not in text


@pytest.mark.parametrize(
    "where, field",
    [
        ('"response_format": {"type": "json_object", "x": 1e400}', "response_format.x"),
        (
            '"tools": [{"type": "function", "function": {"name": "f", "parameters": {"max": -1e999}}}]',
            "tools.0.function.parameters.max",
        ),
        ('"messages": [{"role": "user", "content": "x", "weight": 1e400}]', "messages.0.weight"),
        ('"temperature": 1e400', "temperature"),
    ],
)
def test_out_of_range_numbers_are_400_naming_the_field(served, upstream, where, field):
    body = '{"model": "router-random-0", "messages": [{"role": "user", "content": "x"}], %s}' % where
    if where.startswith('"messages"'):
        body = '{"model": "router-random-0", %s}' % where
    before = upstream_calls(upstream)
    error = assert_openai_error(post_raw(served, body), 400, "invalid_number")
    assert error["param"] == field and field in error["message"]
    assert upstream_calls(upstream) == before


# -- 4. every client sees the 413 --------------------------------------------------------------------
BIG = [{"role": "user", "content": "x" * (200 * 1024)}]  # the served fixture's limit is 64 KiB
HUGE = [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]  # still being sent when the server has its answer


def test_async_clients_receive_the_413(served, upstream):
    async def main():
        async with httpx.AsyncClient(base_url=served.v1, timeout=30) as http:
            responses = await asyncio.gather(
                *[
                    http.post("/chat/completions", json={"model": "router-random-0", "messages": messages})
                    for messages in [BIG, HUGE] * 5
                ]
            )
        sdk = openai.AsyncOpenAI(base_url=served.v1, api_key="unused", max_retries=2)
        try:
            with pytest.raises(openai.APIStatusError) as info:
                await sdk.chat.completions.create(model="router-random-0", messages=HUGE)
        finally:
            await sdk.close()
        return responses, info.value

    before = upstream_calls(upstream)
    responses, sdk_error = asyncio.run(main())
    for r in responses:
        assert_openai_error(r, 413, "request_too_large")
    assert sdk_error.status_code == 413 and sdk_error.body["code"] == "request_too_large"
    assert upstream_calls(upstream) == before


def test_chunked_upload_over_the_limit_is_a_413_for_async_clients(served):
    async def chunks():
        for _ in range(1280):  # 5 MiB
            yield b"x" * 4096

    async def main():
        async with httpx.AsyncClient(base_url=served.v1, timeout=30) as http:
            return await http.post("/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})

    assert_openai_error(asyncio.run(main()), 413, "request_too_large")


# -- 5, 6. clients that leave, stall or send broken HTTP ------------------------------------------------------
@pytest.fixture(scope="module")
def impatient(upstream):
    """A server with short read timeouts."""
    with serve(make_settings(upstream, header_timeout=0.5, body_timeout=0.5)) as s:
        yield s


def raw_exchange(served, data: bytes, *, wait: float = 10.0, close_after_send: bool = False) -> bytes:
    """Send raw bytes, then read until the server closes the connection; returns what it sent."""
    host, port = served.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        if close_after_send:
            return b""
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def parse_raw_response(raw: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, json.loads(body) if body else {}


def test_client_disconnecting_mid_upload_is_counted_as_such(served):
    def counted() -> float:
        return sample(metrics_text(served), "routellm_errors_total", router="none", model="none", type="client_disconnected") or 0

    before = counted()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    raw_exchange(served, head + b'{"model": "router-random-0", "mess', close_after_send=True)
    assert wait_for(lambda: counted() == before + 1)
    text = metrics_text(served)
    assert (sample(text, "routellm_requests_total", router="none", model="none", status="499") or 0) >= 1
    assert sample(text, "routellm_errors_total", router="none", model="none", type="internal_error") is None
    assert sample(text, "routellm_requests_total", router="none", model="none", status="500") is None


def test_slow_headers_get_408_and_the_connection_closed(impatient):
    status, headers, body = parse_raw_response(raw_exchange(impatient, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"))
    assert status == 408 and headers["connection"] == "close"
    assert body["error"]["code"] == "header_timeout"


def test_an_idle_connection_is_closed(impatient):
    assert raw_exchange(impatient, b"") == b""  # closed without a word after the header timeout


def test_body_shorter_than_its_content_length_gets_408(impatient):
    def counted() -> float:
        return sample(metrics_text(impatient), "routellm_errors_total", router="none", model="none", type="body_timeout") or 0

    before = counted()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    status, headers, body = parse_raw_response(raw_exchange(impatient, head + b'{"model": "router-random-0"'))
    assert status == 408 and body["error"]["code"] == "body_timeout"
    assert wait_for(lambda: counted() == before + 1)


def test_chunked_body_that_never_ends_gets_408(impatient):
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, _, body = parse_raw_response(raw_exchange(impatient, head + b'5\r\n{"mod\r\n'))
    assert status == 408 and body["error"]["code"] == "body_timeout"


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost:"
        b" x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",  # bad chunk size
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    ],
)
def test_malformed_http_gets_a_json_400(impatient, raw):
    status, headers, body = parse_raw_response(raw_exchange(impatient, raw))
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["error"]["code"] == "invalid_http" and body["error"]["message"]


def test_a_timed_out_client_does_not_disturb_others(impatient):
    with socket.create_connection(tuple(impatient.base_url.removeprefix("http://").split(":"))) as slow:
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert client(impatient).chat.completions.create(model="router-random-1", messages=USER).choices


# -- 7. HEAD, Content-Type -----------------------------------------------------------------------------------
def test_head_on_get_routes(served):
    with httpx.Client(base_url=served.base_url) as http:
        for path in ("/health", "/v1/models", "/v1/models/router-random-0.5", "/metrics", "/"):
            r = http.head(path)
            assert r.status_code == 200, path
            assert r.content == b""


@pytest.mark.parametrize(
    "content_type, status",
    [
        (None, 200),
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("application/vnd.api+json", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
    ],
)
def test_content_type(served, content_type, status):
    body = json.dumps({"model": "router-random-0", "messages": USER}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    r = httpx.post(served.v1 + "/chat/completions", content=body, headers=headers)
    if status == 200:
        assert r.status_code == 200, r.text
    else:
        assert_openai_error(r, 415, "unsupported_media_type")


def test_sync_sdk_against_the_limits(upstream):
    """The sync SDK sees the same answers as every other client."""
    with serve(make_settings(upstream, max_body_bytes=64 * 1024, max_messages=3)) as s:
        with pytest.raises(openai.APIStatusError) as info:
            client(s).chat.completions.create(model="router-random-0", messages=BIG)
        assert info.value.status_code == 413 and info.value.body["code"] == "request_too_large"
        with pytest.raises(openai.APIStatusError) as info:
            client(s).chat.completions.create(model="router-random-0", messages=USER * 4)
        assert info.value.status_code == 413 and info.value.body["code"] == "too_many_messages"
        assert client(s).chat.completions.create(model="router-random-0", messages=USER * 3).model == STRONG


def test_what_litellm_refuses_before_calling_is_a_400(upstream):
    """litellm checks user content part types itself; its refusal is the client's error, not a failed upstream call."""
    with serve(make_settings(upstream, upstream_client="litellm")) as s:
        before = upstream_calls(upstream)
        r = httpx.post(
            s.v1 + "/chat/completions",
            json={"model": "router-random-0", "messages": [{"role": "user", "content": [{"type": "no-such-part", "text": "x"}]}]},
        )
        assert assert_openai_error(r, 400, "invalid_messages")["param"] == "messages"
        assert upstream_calls(upstream) == before
        assert "routellm_upstream_errors_total{" not in metrics_text(s)
