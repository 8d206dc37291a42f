"""Admission control: the gate on its own, then the real server on loopback (the openai SDK as client)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
from typing import Iterator

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routellm_core.errors import ConfigError
from routellm_core.server import ServerSettings
from routellm_core.server.admission import (
    MAX_RETRY_AFTER,
    AdaptiveLimit,
    AdmissionGate,
    Shed,
    Slot,
    plan_admission,
)
from routellm_core.testing import EchoUpstream, serve_upstream, upstream_args
from routellm_core.testing import serve as serve_process

from .conftest import STRONG, make_settings, serve
from .test_metrics import value

USER = [{"role": "user", "content": "What is 2 + 2?"}]
BODY = {"model": "router-random-0", "messages": USER}


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds (a bound on waiting for the server, not a speed check)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def assert_shed(response: httpx.Response, status: int = 429, code: str = "server_overloaded") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["retry-after"].isdigit() and 1 <= int(response.headers["retry-after"]) <= MAX_RETRY_AFTER
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    assert body["error"]["type"] == ("rate_limit_error" if status == 429 else "server_error")
    assert "retry after" in body["error"]["message"]
    return body["error"]


# -- the gate alone -------------------------------------------------------------------------------
def run(coro):
    return asyncio.run(coro)


def test_gate_admits_queues_and_sheds_in_order():
    async def main():
        gate = AdmissionGate(limit=2, max_queue=2, queue_timeout=60)
        first, second = await gate.enter(), await gate.enter()
        waiting = [asyncio.ensure_future(gate.enter()) for _ in range(2)]
        await asyncio.sleep(0)
        assert gate.in_flight == 2 and gate.queued == 2 and gate.refusing
        with pytest.raises(Shed) as info:
            await gate.enter()
        assert info.value.status == 429 and info.value.reason == "queue_full"
        assert "2 requests in progress and 2 waiting" in info.value.message
        first.release()
        first.release()  # a second release changes nothing
        admitted = await waiting[0]  # first in, first out
        assert not waiting[1].done() and gate.in_flight == 2 and gate.queued == 1
        for slot in (second, admitted):
            slot.release()
        last = await waiting[1]
        last.release()
        assert gate.in_flight == 0 and gate.queued == 0 and not gate.refusing

    run(main())


def test_gate_queue_timeout_sheds_the_waiter():
    async def main():
        gate = AdmissionGate(limit=1, max_queue=1, queue_timeout=0.05)
        held = await gate.enter()
        with pytest.raises(Shed) as info:
            await gate.enter()
        assert info.value.reason == "queue_timeout" and info.value.status == 429
        assert gate.queued == 0
        held.release()
        assert gate.in_flight == 0

    run(main())


def test_gate_drain_answers_waiters_and_newcomers_503():
    async def main():
        gate = AdmissionGate(limit=1, max_queue=4, queue_timeout=60)
        held = await gate.enter()
        waiter = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        gate.drain()
        with pytest.raises(Shed) as info:
            await waiter
        assert info.value.status == 503 and info.value.reason == "draining" and info.value.retry_after == 1
        with pytest.raises(Shed):
            await gate.enter()
        held.release()  # the admitted request finishes as usual
        assert gate.in_flight == 0 and gate.queued == 0

    run(main())


def test_a_waiter_that_goes_away_leaves_the_queue_and_a_slot_handed_to_it_passes_on():
    async def main():
        gate = AdmissionGate(limit=1, max_queue=2, queue_timeout=60)
        held = await gate.enter()
        gone, next_in_line = asyncio.ensure_future(gate.enter()), asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert gate.queued == 1
        held.release()
        slot = await next_in_line
        # a slot handed over in the same turn as the waiter is cancelled goes to the next one
        late = asyncio.ensure_future(gate.enter())
        after = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        slot.release()  # hands the slot to `late`...
        late.cancel()  # ...which is cancelled before it runs
        assert (await after).held
        assert gate.in_flight == 1 and gate.queued == 0

    run(main())


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("enter"), st.integers(0, 0)),
        st.tuples(st.just("release"), st.integers(0, 50)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("limit"), st.integers(1, 6)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(limit=st.integers(1, 4), max_queue=st.integers(0, 3), ops=OPS)
def test_gate_invariants_under_any_sequence(limit, max_queue, ops):
    """Whatever arrives, leaves or is cancelled: the counts match the slots held, and the queue stays bounded."""

    async def main():
        gate = AdmissionGate(limit, max_queue, queue_timeout=60)
        held: list[Slot] = []
        waiting: list[asyncio.Future[Slot]] = []
        shed = 0

        async def settle():
            nonlocal shed
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            for task in [t for t in waiting if t.done()]:
                waiting.remove(task)
                if not task.cancelled():
                    if task.exception() is not None:
                        assert isinstance(task.exception(), Shed)
                        shed += 1
                    else:
                        held.append(task.result())

        for op, arg in ops:
            if op == "enter":
                waiting.append(asyncio.ensure_future(gate.enter()))
            elif op == "release" and held:
                held.pop(arg % len(held)).release()
            elif op == "cancel" and waiting:
                waiting[arg % len(waiting)].cancel()
            elif op == "limit":
                gate.set_limit(arg)
            await settle()
            assert gate.in_flight == len(held)
            assert gate.queued == len(waiting) <= gate.max_queue
            assert gate.in_flight <= max(gate.limit, len(held))
            if gate.queued:  # nobody waits while a slot is free
                assert gate.in_flight >= gate.limit
        while held or waiting:
            for slot in held:
                slot.release()
            held.clear()
            await settle()
        assert gate.in_flight == 0 and gate.queued == 0

    run(main())


def test_adaptive_limit_steps():
    gate = AdmissionGate(limit=20, max_queue=4, queue_timeout=1)
    control = AdaptiveLimit(gate, minimum=4, maximum=40, lag_target=0.002, scoring_target=0.05)
    assert control.adjust(lag=0.0005) == 20  # no request had to wait: no reason to grow
    gate.pressed = True
    assert control.adjust(lag=0.0005) == 22  # requests waited, the loop keeps up: + a tenth
    gate.peak = 22
    assert control.adjust(lag=0.010) == 19  # the loop falls behind: 90 % of what was in use
    gate.peak = 19
    assert control.adjust(lag=0.0005, scoring_wait=0.2) == 17  # prompts wait for the router
    gate.peak = 8
    assert control.adjust(lag=0.010) == 17  # lag while less than half the limit is in use: not the requests' doing
    assert control.adjust(lag=0.0015) == 17  # within the target, but no request had to wait: hold
    for _ in range(40):
        gate.peak = gate.limit
        control.adjust(lag=1.0)
    assert gate.limit == 4
    for _ in range(60):
        gate.pressed = True
        control.adjust(lag=0.0)
    assert gate.limit == 40


def test_a_higher_limit_admits_waiters_at_once():
    async def main():
        gate = AdmissionGate(limit=1, max_queue=3, queue_timeout=60)
        held = await gate.enter()
        waiters = [asyncio.ensure_future(gate.enter()) for _ in range(3)]
        await asyncio.sleep(0)
        gate.set_limit(3)
        slots = [await w for w in waiters[:2]]
        assert gate.in_flight == 3 and gate.queued == 1
        gate.set_limit(1)  # lower: takes effect as slots free
        for slot in [held, *slots]:
            slot.release()
        (await waiters[2]).release()
        assert gate.in_flight == 0

    run(main())


def test_retry_after_is_whole_seconds_and_grows_with_refused_clients():
    async def main():
        gate = AdmissionGate(limit=1, max_queue=0, queue_timeout=1)
        slot = await gate.enter()
        gate._hold = 0.5  # requests hold their slot half a second
        first = [gate.retry_after() for _ in range(1)][0]
        for _ in range(200):
            with pytest.raises(Shed):
                gate.check()
        later = gate.retry_after()
        assert 1 <= first <= later <= MAX_RETRY_AFTER and later >= 10
        slot.release()

    run(main())


def test_plan_defaults_follow_the_cores_and_settings_override_them():
    def plan(cores, **overrides):
        values = dict(routers=["random"], strong_model="openai/a", weak_model="openai/b", **overrides)
        return plan_admission(ServerSettings(**values), cores=cores)

    one, two, many = plan(1), plan(2), plan(64)
    assert (one.minimum, one.limit, one.maximum, one.max_queue) == (2, 16, 128, 4)
    assert (two.minimum, two.limit, two.maximum, two.max_queue) == (2, 32, 256, 4)
    assert (many.minimum, many.limit, many.maximum, many.max_queue) == (64, 1024, 1024, 64)
    assert one.adaptive and one.queue_timeout == 0.02 and one.lag_target == 0.005
    assert plan(2, lag_target=0.01).lag_target == 0.01
    fixed = plan(2, max_in_flight=10, max_queue=0, queue_timeout=0.5)
    assert (fixed.limit, fixed.minimum, fixed.maximum, fixed.adaptive, fixed.max_queue, fixed.queue_timeout) == (
        10,
        10,
        10,
        False,
        0,
        0.5,
    )
    assert plan(2, max_in_flight=0) is None
    assert "adaptive" in two.describe() and "waiting" in two.describe()


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("max_in_flight", -1, "max_in_flight must be an integer >= 1, 0 (no admission control) or None (derived), got -1"),
        ("max_in_flight", "many", "got 'many'"),
        ("max_in_flight", True, "got True"),
        ("max_queue", -2, "max_queue must be an integer >= 0 or None (derived), got -2"),
        ("queue_timeout", 0, "queue_timeout must be positive, got 0"),
        ("queue_timeout", "soon", "queue_timeout must be a number of seconds, got 'soon'"),
        ("lag_target", -0.5, "lag_target must be positive, got -0.5"),
    ],
)
def test_bad_settings_name_the_value(key, bad, message):
    with pytest.raises(ConfigError) as info:
        ServerSettings(routers=["random"], strong_model="a", weak_model="b", **{key: bad})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], (None, None, None)),
        (["--max-in-flight", "off"], (0, None, None)),
        (["--max-in-flight", "auto", "--max-queue", "auto", "--queue-timeout", "auto"], (None, None, None)),
        (["--max-in-flight", "12", "--max-queue", "0", "--queue-timeout", "0.5"], (12, 0, 0.5)),
    ],
)
def test_cli_flags(args, expected):
    from routellm_core.cli import build_parser
    from routellm_core.cli.serve_cmd import settings_from_args

    parsed = build_parser().parse_args(["serve", "--routers", "random", "--strong-model", "s", "--weak-model", "w", *args])
    s = settings_from_args(parsed)
    assert (s.max_in_flight, s.max_queue, s.queue_timeout) == expected
    assert ServerSettings.from_json(s.to_json()).max_in_flight == expected[0]
    assert s.lag_target is None


def test_cli_lag_target():
    from routellm_core.cli import build_parser
    from routellm_core.cli.serve_cmd import settings_from_args

    parsed = build_parser().parse_args(
        ["serve", "--routers", "random", "--strong-model", "s", "--weak-model", "w", "--lag-target", "0.01"]
    )
    assert settings_from_args(parsed).lag_target == 0.01


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-in-flight", "0"], "argument --max-in-flight: expected a positive integer, 'auto' or 'off', got '0'"),
        (["--max-in-flight", "lots"], "expected a positive integer, 'auto' or 'off', got 'lots'"),
        (["--max-queue", "-1"], "argument --max-queue: expected an integer >= 0 or 'auto', got '-1'"),
        (["--queue-timeout", "never"], "argument --queue-timeout: "),
        (["--lag-target", "-1"], "argument --lag-target: "),
    ],
)
def test_cli_bad_flags_are_one_line_errors(args, message, capsys):
    from routellm_core.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--routers", "random", "--strong-model", "s", "--weak-model", "w", *args])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in err


# -- the server --------------------------------------------------------------------------------
def client(served, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key="unused", max_retries=0, **kw)


@contextlib.contextmanager
def streaming(base_url: str, timeout: float = 30) -> Iterator[httpx.Response]:
    """A streamed request whose first chunk has arrived, kept open (the upstream stalls after it); closing it
    disconnects the client."""
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        with http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as response:
            assert response.status_code == 200
            lines = response.iter_lines()  # kept: closing this iterator would close the response
            while not next(lines).startswith("data: "):
                pass
            yield response


@pytest.fixture(scope="module")
def stalling_upstream() -> Iterator[EchoUpstream]:
    """Streams stall 30 s after their first chunk; plain answers come at once."""
    with EchoUpstream(stream_stall_after=1, stall_seconds=30) as up:
        yield up


def test_shed_requests_get_429_with_retry_after_and_an_openai_error(stalling_upstream):
    with serve(make_settings(stalling_upstream, max_in_flight=1, max_queue=0)) as s:
        gate = s.server.admission
        with streaming(s.base_url):
            assert gate.in_flight == 1
            with pytest.raises(openai.RateLimitError) as info:  # what the openai SDK raises for it
                client(s).chat.completions.create(model="router-random-0", messages=USER)
            error = assert_shed(info.value.response)
            assert "1 requests in progress and 0 waiting in this worker (limits 1 and 0)" in error["message"]
            # streamed requests are refused the same way, and so is a request the server could not parse
            assert_shed(httpx.post(s.v1 + "/chat/completions", json={**BODY, "stream": True}))
            assert_shed(httpx.post(s.v1 + "/chat/completions", content=b"{not json"))
        wait_until(lambda: gate.in_flight == 0, "the stream's slot to be freed")
        assert client(s).chat.completions.create(model="router-random-0", messages=USER).model == STRONG
        text = httpx.get(s.base_url + "/metrics").text
        assert value(text, "routellm_shed_requests_total", reason="queue_full") == 3
        assert value(text, "routellm_requests_total", router="none", model="none", status="429") == 3
        assert value(text, "routellm_errors_total", router="none", model="none", type="server_overloaded") == 3
        assert value(text, "routellm_queue_wait_seconds_count") == 2  # the two admitted requests
        assert value(text, "routellm_admission_limit") == 1
        assert value(text, "routellm_admitted_requests") == 0 and value(text, "routellm_queued_requests") == 0
        assert "routellm_event_loop_lag_seconds_bucket" in text


def test_a_disconnected_streaming_client_frees_its_slot_at_once(stalling_upstream):
    with serve(make_settings(stalling_upstream, max_in_flight=1, max_queue=0)) as s:
        gate = s.server.admission
        with streaming(s.base_url):
            assert gate.in_flight == 1
        # the upstream stalls for 30 s more; the client is gone, so its slot is free now
        wait_until(lambda: gate.in_flight == 0, "the slot of the disconnected stream")
        hist = s.server.metrics.upstream_latency
        wait_until(lambda: hist.count(model=STRONG, stream="true", outcome="client_disconnected") == 1, "the count")
        assert client(s).chat.completions.create(model="router-random-0", messages=USER).model == STRONG


def test_a_client_that_disconnects_while_waiting_for_the_upstream_frees_its_slot():
    with EchoUpstream(delay=30) as up, serve(make_settings(up, max_in_flight=1, max_queue=0, timeout=60)) as s:
        gate = s.server.admission
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(s.v1 + "/chat/completions", json=BODY, timeout=httpx.Timeout(10, read=0.5))
        wait_until(lambda: gate.in_flight == 0, "the slot of the client that left")
        metrics = s.server.metrics
        wait_until(lambda: metrics.requests.get(router="random", model=STRONG, status="499") == 1, "the 499")
        assert metrics.errors.get(router="random", model=STRONG, type="client_disconnected") == 1


def test_the_queue_is_bounded_and_waiters_are_served_in_turn(stalling_upstream):
    settings = make_settings(stalling_upstream, max_in_flight=1, max_queue=2, queue_timeout=60)
    with serve(settings) as s:
        gate = s.server.admission
        results: list[int] = []

        def wait_in_line():
            results.append(httpx.post(s.v1 + "/chat/completions", json=BODY, timeout=60).status_code)

        with streaming(s.base_url):
            threads = [threading.Thread(target=wait_in_line) for _ in range(2)]
            for t in threads:
                t.start()
            wait_until(lambda: gate.queued == 2, "two requests in the queue")
            assert_shed(httpx.post(s.v1 + "/chat/completions", json=BODY))  # the queue is full: refused at once
            assert results == []
        for t in threads:
            t.join(30)
        assert results == [200, 200]
        text = httpx.get(s.base_url + "/metrics").text
        assert value(text, "routellm_shed_requests_total", reason="queue_full") == 1
        assert value(text, "routellm_queue_wait_seconds_count") == 3
        assert value(text, "routellm_queue_wait_seconds_bucket", le="+Inf") == 3


def test_a_request_that_waits_too_long_is_refused_with_the_reason(stalling_upstream):
    with serve(make_settings(stalling_upstream, max_in_flight=1, max_queue=1, queue_timeout=0.2)) as s:
        with streaming(s.base_url):
            error = assert_shed(httpx.post(s.v1 + "/chat/completions", json=BODY))
            assert "no capacity within 0.2 s" in error["message"]
        text = httpx.get(s.base_url + "/metrics").text
        assert value(text, "routellm_shed_requests_total", reason="queue_timeout") == 1
        assert value(text, "routellm_requests_total", router="random", model="none", status="429") == 1


def test_health_shows_admission_and_off_turns_it_off(upstream):
    with serve(make_settings(upstream, max_in_flight=3, max_queue=1)) as s:
        admission = httpx.get(s.base_url + "/health").json()["admission"]
        assert admission == {
            "limit": 3,
            "in_progress": 0,
            "waiting": 0,
            "max_queue": 1,
            "queue_timeout": 0.02,
            "adaptive": False,
            "range": [3, 3],
        }
    with serve(make_settings(upstream, max_in_flight=0)) as s:
        assert s.server.admission is None
        assert httpx.get(s.base_url + "/health").json()["admission"] is None
        assert client(s).chat.completions.create(model="router-random-0", messages=USER).model == STRONG


def test_the_controller_raises_litellms_rate_limit_error_unchanged(stalling_upstream):
    """A routellm server as the Controller's model: its 429 reaches the caller as litellm.RateLimitError."""
    import litellm

    from routellm_core.controller import Controller

    with serve(make_settings(stalling_upstream, max_in_flight=1, max_queue=0)) as s:
        overloaded = "openai/router-random-0"
        controller = Controller(["random"], strong_model=overloaded, weak_model=overloaded, api_base=s.v1, api_key="x")
        with streaming(s.base_url):
            with pytest.raises(litellm.RateLimitError) as info:
                controller.completion(model="router-random-0.5", messages=USER, max_retries=0)
            assert info.value.status_code == 429 and "the server is at capacity" in str(info.value)

            async def acall():
                return await controller.acompletion(model="router-random-0.5", messages=USER, max_retries=0)

            with pytest.raises(litellm.RateLimitError):
                asyncio.run(acall())
        wait_until(lambda: s.server.admission.in_flight == 0, "the slot to be freed")
        answer = controller.completion(model="router-random-0.5", messages=USER, max_retries=0)
        assert answer.choices[0].message.content.endswith("What is 2 + 2?")


def test_an_upstream_429_reaches_the_client_as_429():
    """The upstream's own rate limit (with its Retry-After) is a 429 too, upstream_rate_limited: the cause named."""
    with EchoUpstream(fail_rate=1.0, fail_status=429) as up, serve(make_settings(up)) as s:
        with pytest.raises(openai.RateLimitError) as info:
            client(s).chat.completions.create(model="router-random-0", messages=USER)
        assert info.value.response.json()["error"]["code"] == "upstream_rate_limited"
        assert "rate limit reached (injected fault)" in info.value.message


# -- draining, in a real `routellm serve` process -----------------------------------------------
def test_sigterm_answers_waiting_requests_503_and_finishes_admitted_ones(tmp_path):
    with serve_upstream(["--delay", "4"]) as up:
        args = [*upstream_args(up.base_url, api_key="sk-x"), "--max-in-flight", "1", "--max-queue", "4"]
        args += ["--queue-timeout", "60", "--graceful-timeout", "30", "--no-access-log", "--log-level", "warning"]
        server = serve_process(args, ready_path="/ready", env={"PROMETHEUS_MULTIPROC_DIR": None}).start()
        results: dict[str, httpx.Response] = {}

        def send(name: str) -> None:
            results[name] = httpx.post(server.url + "/v1/chat/completions", json=BODY, timeout=60)

        try:
            admitted = threading.Thread(target=send, args=("admitted",))
            admitted.start()
            wait_until(lambda: value(httpx.get(server.url + "/metrics").text, "routellm_admitted_requests") == 1, "one in")
            waiting = threading.Thread(target=send, args=("waiting",))
            waiting.start()
            wait_until(lambda: value(httpx.get(server.url + "/metrics").text, "routellm_queued_requests") == 1, "one queued")
            server.process.send_signal(signal.SIGTERM)
            waiting.join(30)
            admitted.join(30)
            assert_shed(results["waiting"], 503, "server_draining")
            assert results["waiting"].headers["retry-after"] == "1"
            assert results["admitted"].status_code == 200  # it waited for the upstream (4 s) and got its answer
            assert json.loads(results["admitted"].text)["choices"]
            assert server.process.wait(30) == 0
        finally:
            server.stop()
