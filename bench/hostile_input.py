"""Does one huge request stall ``routellm serve``? (a benchmark, not a unit test)

Starts, on loopback only, an EchoUpstream and ``routellm serve --routers random``
in front of it. A separate process polls ``GET /health`` every 100 ms while this
one sends big chat completion requests (100,000 short messages, 3.5 MB, under the
4 MiB body limit) one after another. Reports the ``/health`` latency while the big
requests were in flight (p50/p99/max), the status and time of each big request,
and the server's resident memory before, at its peak and after.

Scenarios (each with a fresh server):
  * ``limit``: default limits, so the 100,000 messages get 413 ``too_many_messages``;
  * ``accepted``: ``--max-messages 100000``, so the request is parsed, routed and
    forwarded (upstream and back);
  * ``10k``: 10,000 messages (360 KB), within the default limits.

    python bench/hostile_input.py                 # every scenario, 5 big requests each
    python bench/hostile_input.py --scenarios accepted --repeat 10 --json out/hostile.json

Exit status 1 if a ``/health`` p99 during the big requests is over ``--p99-ms`` (100).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from typing import Any

import httpx

from routellm_core.testing.serving import INHERIT, ServerProcess, serve, serve_upstream, upstream_args

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SCENARIOS = {
    "limit": {"messages": 100_000, "server_args": [], "expect": 413},
    "accepted": {"messages": 100_000, "server_args": ["--max-messages", "100000"], "expect": 200},
    "10k": {"messages": 10_000, "server_args": [], "expect": 200},
}


def start_server(upstream_url: str, extra: list[str], verbose: bool) -> ServerProcess:
    args = [
        *upstream_args(upstream_url),
        "--timeout",
        "30",
        "--log-level",
        "warning",
        "--no-access-log",
        *extra,
    ]
    return serve(args, ready_timeout=60, poll_interval=0.2, log=INHERIT if verbose else None).start()


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def poll_health(base: str, interval: float, stop_event: Any, conn: Any) -> None:
    """In its own process: GET /health every ``interval`` seconds; sends [(start, latency, status)] back."""
    samples = []
    with httpx.Client(base_url=base, timeout=60) as http:
        next_at = time.monotonic()
        while not stop_event.is_set():
            start = time.monotonic()
            try:
                status = http.get("/health").status_code
            except httpx.HTTPError:
                status = 0
            samples.append((start, time.monotonic() - start, status))
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    conn.send(samples)


def body_for(n: int) -> bytes:
    messages = [{"role": "user", "content": f"hi {i}"} for i in range(n)]
    return json.dumps({"model": "router-random-0.5", "messages": messages}, separators=(",", ":")).encode()


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return round(1000 * values[k], 1)


def run_scenario(name: str, spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    up = serve_upstream().start()
    try:
        server = start_server(up.base_url, spec["server_args"], args.verbose)
    except BaseException:
        up.stop()
        raise
    base = server.url
    try:
        body = body_for(spec["messages"])
        httpx.post(
            base + "/v1/chat/completions",
            json={"model": "router-random-0.5", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )  # warm up
        rss_before = memory_mb(server.process.pid)
        stop_event = multiprocessing.Event()
        parent, child = multiprocessing.Pipe()
        poller = multiprocessing.Process(target=poll_health, args=(base, args.interval, stop_event, child))
        poller.start()
        time.sleep(1.0)
        windows, requests = [], []
        with httpx.Client(timeout=300) as http:
            for _ in range(args.repeat):
                start = time.monotonic()
                r = http.post(base + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
                end = time.monotonic()
                windows.append((start, end))
                code = r.json().get("error", {}).get("code") if r.status_code != 200 else None
                requests.append({"status": r.status_code, "code": code, "seconds": round(end - start, 3)})
                time.sleep(0.5)
        stop_event.set()
        samples = parent.recv()
        poller.join()
        time.sleep(1.0)
        rss_after = memory_mb(server.process.pid)
    finally:
        server.stop()
        up.stop()
    during = [lat for start, lat, _ in samples if any(a <= start <= b for a, b in windows)]
    outside = [lat for start, lat, _ in samples if not any(a <= start <= b for a, b in windows)]
    failed = sum(1 for _, _, status in samples if status != 200)
    return {
        "messages": spec["messages"],
        "body_bytes": len(body),
        "server_args": spec["server_args"],
        "big_requests": requests,
        "statuses_as_expected": all(r["status"] == spec["expect"] for r in requests),
        "health_during": {"polls": len(during), "p50_ms": pct(during, 50), "p99_ms": pct(during, 99), "max_ms": pct(during, 100)},
        "health_idle": {"polls": len(outside), "p50_ms": pct(outside, 50), "p99_ms": pct(outside, 99)},
        "health_failed": failed,
        "server_rss_mb": {"before": rss_before["VmRSS"], "peak": rss_after["VmHWM"], "after": rss_after["VmRSS"]},
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS), default=["limit", "accepted", "10k"])
    p.add_argument("--repeat", type=int, default=5, help="big requests per scenario, one after another")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between /health polls")
    p.add_argument("--p99-ms", type=float, default=100.0, help="fail if /health p99 during the big requests is above this")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--verbose", action="store_true", help="show the server's log")
    args = p.parse_args(argv)
    report: dict[str, Any] = {
        "machine": machine(),
        "command": "python bench/hostile_input.py " + " ".join(argv or sys.argv[1:]),
        "load_average": os.getloadavg(),
        "scenarios": {},
    }
    for name in args.scenarios:
        report["scenarios"][name] = result = run_scenario(name, SCENARIOS[name], args)
        print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    ok = all(
        r["statuses_as_expected"] and r["health_failed"] == 0 and (r["health_during"]["p99_ms"] or 0) <= args.p99_ms
        for r in report["scenarios"].values()
    )
    print(
        f"\n{'PASS' if ok else 'FAIL'}: /health p99 during big requests "
        + ", ".join(f"{n} {r['health_during']['p99_ms']} ms" for n, r in report["scenarios"].items()),
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
