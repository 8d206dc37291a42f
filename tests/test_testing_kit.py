"""The test kit's plumbing: free_port, the serve launcher, HashEmbedder, and a light import."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from routellm_core.testing import (
    EchoUpstream,
    HashEmbedder,
    ServeError,
    ServerProcess,
    free_port,
    serve,
    serve_upstream,
    upstream_args,
)

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def test_free_port_is_bindable():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_serve_starts_routes_and_stops_cleanly():
    with EchoUpstream() as upstream:
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        with serve([*upstream_args(upstream.base_url), "--no-access-log"], env=env) as server:
            assert server.base_url == f"http://127.0.0.1:{server.port}/v1" == server.url + "/v1"
            body = json.dumps({"model": "router-random-0", "messages": [{"role": "user", "content": "hi"}]}).encode()
            request = urllib.request.Request(
                server.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert json.loads(response.read())["choices"][0]["message"]["content"] == "[strong] hi"
            assert "routellm serve: http://127.0.0.1" in server.log()
            process, log_path = server.process, server.log_path
        assert process is not None and process.poll() == 0 == server.returncode  # SIGTERM drains: a clean exit
        assert log_path is not None and not log_path.exists()  # the temporary log is gone


def test_serve_reports_the_log_when_the_server_exits_early():
    server = serve([*upstream_args("http://127.0.0.1:9/v1"), "--no-such-flag"])
    with pytest.raises(ServeError, match=r"(?s)routellm serve exited with code 2 before it was ready.*--no-such-flag"):
        server.start()
    assert server.process is None and server.returncode == 2


def test_serve_upstream_runs_the_echo_server_in_a_process():
    with serve_upstream(["--fail-rate", "1"]) as upstream:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(upstream.base_url + "/chat/completions", data=body)
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request, timeout=10)
        assert failed.value.code == 500
        with urllib.request.urlopen(upstream.url + "/stats", timeout=10) as response:
            assert json.loads(response.read()) == {"ok": 0, "fail": 1, "stall": 0}


def test_server_process_not_ready_in_time_is_stopped(tmp_path):
    log = tmp_path / "sleeper.log"
    code = "import os, time; print('sleeping', os.environ.get('KIT_VAR'), os.environ.get('HOME'), flush=True); time.sleep(60)"
    sleeper = ServerProcess(
        [sys.executable, "-c", code], port=free_port(), ready_timeout=0.5, log=log, env={"KIT_VAR": "set", "HOME": None}
    )
    with pytest.raises(ServeError, match=r"(?s)not ready at http://127.0.0.1:\d+/health after 0.5 s.*sleeping set None"):
        sleeper.start()
    assert sleeper.process is None and sleeper.returncode is not None
    assert log.read_text() == "sleeping set None\n"  # a log file given is kept


def test_hash_embedder_is_deterministic_and_normalised():
    emb = HashEmbedder(12)
    a, b = emb.embed(["x", "y", "x"]), HashEmbedder(12).embed(["x"])
    assert a.shape == (3, 12) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(a[0], a[2]) and np.array_equal(a[0], b[0]) and not np.array_equal(a[0], a[1])
    assert emb.describe() == {"embedder": "hash", "dimension": 12}


def test_kit_imports_no_web_stack_or_torch():
    code = (
        "import sys, routellm_core.testing\n"
        "print([m for m in ('torch', 'transformers', 'fastapi', 'uvicorn', 'httpx') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True)
    assert out.stdout.strip() == "[]"
