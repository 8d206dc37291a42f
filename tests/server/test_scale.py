"""`routellm serve` as a real process: --workers N behaves as one server, and SIGTERM drains in-flight requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from routellm_core.testing.upstream import EchoUpstream

from .test_metrics import value

GRACE = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(upstream: EchoUpstream, workers: int, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["TMPDIR"] = str(tmp_path)  # the serve command's metrics directory goes here
    cmd = [
        sys.executable,
        "-m",
        "routellm_core.cli",
        "serve",
        "--routers",
        "random",
        "--strong-model",
        "openai/strong",
        "--weak-model",
        "openai/weak",
        "--base-url",
        upstream.base_url,
        "--api-key",
        "sk-x",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--graceful-timeout",
        str(GRACE),
        "--no-access-log",
        "--log-level",
        "warning",
        *extra,
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            r = httpx.get(base + "/ready", timeout=2)
            if r.status_code == 200:
                return proc, base
            assert r.status_code == 503 and r.json()["ready"] is False
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server not ready within 60 s")


def body(i: int, stream: bool = False) -> dict:
    return {"model": "router-random-0.5", "messages": [{"role": "user", "content": f"request {i}"}], "stream": stream}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("workers", [1, 2])
def test_ready_and_metrics_count_every_request_once(workers, tmp_path):
    with EchoUpstream() as upstream:
        proc, base = start_serve(upstream, workers, tmp_path)
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
            stop(proc)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_every_accepted_request(workers, tmp_path):
    n, delay = 16, 3.0
    with EchoUpstream(delay=delay) as upstream:
        proc, base = start_serve(upstream, workers, tmp_path)
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
            stop(proc)


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
