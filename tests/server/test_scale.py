"""`routellm serve` as a real process: --workers N behaves as one server, and SIGTERM drains in-flight requests."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from routellm_core.testing import EchoUpstream, ServerProcess, serve, upstream_args

from .test_metrics import value

GRACE = 15.0


def _not_ready_yet(status: int, text: bytes) -> None:
    assert status == 503 and json.loads(text)["ready"] is False


def start_serve(upstream: EchoUpstream, workers: int, tmp_path: Path, *extra: str) -> ServerProcess:
    args = [
        *upstream_args(upstream.base_url, api_key="sk-x"),
        "--workers",
        str(workers),
        "--graceful-timeout",
        str(GRACE),
        "--no-access-log",
        "--log-level",
        "warning",
        *extra,
    ]
    # the serve command's metrics directory goes to TMPDIR
    env = {"PROMETHEUS_MULTIPROC_DIR": None, "TMPDIR": str(tmp_path)}
    return serve(args, env=env, ready_path="/ready", ready_timeout=60, on_not_ready=_not_ready_yet).start()


def body(i: int, stream: bool = False) -> dict:
    return {"model": "router-random-0.5", "messages": [{"role": "user", "content": f"request {i}"}], "stream": stream}


@pytest.mark.parametrize("workers", [1, 2])
def test_ready_and_metrics_count_every_request_once(workers, tmp_path):
    with EchoUpstream() as upstream:
        server = start_serve(upstream, workers, tmp_path)
        proc, base = server.process, server.url
        try:
            ready = httpx.get(base + "/ready").json()
            assert ready == {"ready": True, "workers_ready": workers, "workers": workers}
            assert httpx.get(base + "/health").json()["workers_ready"] == workers
            if workers > 1:
                assert [p.name for p in tmp_path.iterdir()][0].startswith("routellm-metrics-")
            n = 40
            for i in range(n):  # a new connection each time: the kernel spreads them over the workers
                assert httpx.post(base + "/v1/chat/completions", json=body(i, stream=i % 4 == 0)).status_code == 200
            for _ in range(5):  # every worker's /metrics shows the same sum
                text = httpx.get(base + "/metrics").text
                total = sum(
                    value(text, "routellm_requests_total", router="random", model=m, status="200") or 0
                    for m in ("openai/strong", "openai/weak")
                )
                assert total == n
                decisions = sum(
                    value(text, "routellm_routing_decisions_total", router="random", model=m, tier=t) or 0
                    for m, t in (("openai/strong", "strong"), ("openai/weak", "weak"))
                )
                assert decisions == n
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(GRACE + 10) == 0
            assert list(tmp_path.iterdir()) == []  # the temporary metrics directory is gone
        finally:
            server.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_every_accepted_request(workers, tmp_path):
    n, delay = 16, 3.0
    with EchoUpstream(delay=delay) as upstream:
        server = start_serve(upstream, workers, tmp_path)
        proc, base = server.process, server.url
        results: dict[int, tuple[int, str]] = {}

        def send(i: int) -> None:
            stream = i % 3 == 0
            with httpx.Client(timeout=GRACE + 10) as client:
                if stream:
                    with client.stream("POST", base + "/v1/chat/completions", json=body(i, stream=True)) as r:
                        results[i] = (r.status_code, r.read().decode())
                else:
                    r = client.post(base + "/v1/chat/completions", json=body(i))
                    results[i] = (r.status_code, r.text)

        try:
            threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while sum(upstream.stats.values()) < n:  # every request is accepted and waiting on the slow upstream
                assert time.monotonic() < deadline, upstream.stats
                time.sleep(0.02)
            sent_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            refused = False
            while not refused and time.monotonic() - sent_at < 5:  # the supervisor of N workers notices within 0.5 s
                try:
                    httpx.get(base + "/health", timeout=2)
                    time.sleep(0.05)
                except httpx.TransportError:
                    refused = True
            assert refused, "still accepting connections 5 s after SIGTERM"
            assert proc.wait(GRACE + 5) == 0
            assert time.monotonic() - sent_at < GRACE
            for t in threads:
                t.join(5)
            assert sorted(results) == list(range(n))
            for i, (status, text) in results.items():
                assert status == 200, text
                if i % 3 == 0:
                    assert text.rstrip().endswith("data: [DONE]")
                    assert "finish_reason" in text
                else:
                    assert json.loads(text)["choices"][0]["message"]["content"].endswith(f"request {i}")
        finally:
            server.stop()


def test_accepted_connections_send_small_writes_at_once():
    """Workers inherit a listening socket asyncio does not know as TCP; the protocol turns Nagle off itself."""
    from routellm_core.server.protocol import _no_delay

    class Transport:
        def __init__(self, sock):
            self.sock = sock

        def get_extra_info(self, name):
            return self.sock if name == "socket" else None

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.proto == 0
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                _no_delay(Transport(accepted))
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert client.fileno() >= 0
