"""Server metrics through prometheus_client: per-app registries, and sums across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from routellm_core.server.metrics import ServerMetrics  # noqa: E402


def value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


def test_two_apps_in_one_process_do_not_share_values():
    a, b = ServerMetrics(), ServerMetrics()
    a.requests.inc(router="random", model="m", status="200")
    a.upstream_latency.observe(0.2, model="m", stream="false", outcome="ok")
    assert a.requests.get(router="random", model="m", status="200") == 1
    assert b.requests.get(router="random", model="m", status="200") == 0
    assert a.upstream_latency.count(model="m", stream="false", outcome="ok") == 1
    text = a.render().decode()
    assert value(text, "routellm_requests_total", router="random", model="m", status="200") == 1
    assert value(b.render().decode(), "routellm_requests_total", router="random", model="m", status="200") is None


WORKER = textwrap.dedent("""
    import sys
    from routellm_core.server.metrics import ServerMetrics
    m = ServerMetrics()
    for _ in range(int(sys.argv[1])):
        m.requests.inc(router="random", model="m", status="200")
        m.upstream_latency.observe(0.01, model="m", stream="false", outcome="ok")
    m.in_flight.inc()
""")

READER = textwrap.dedent("""
    import sys
    from routellm_core.server.metrics import ServerMetrics
    sys.stdout.write(ServerMetrics().render().decode())
""")


def test_multiprocess_dir_sums_counters_across_processes(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WORKER, str(n)], env=env, check=True)
    text = subprocess.run([sys.executable, "-c", READER], env=env, check=True, capture_output=True, text=True).stdout
    assert value(text, "routellm_requests_total", router="random", model="m", status="200") == 5
    assert value(text, "routellm_upstream_latency_seconds_count", model="m", stream="false", outcome="ok") == 5
