"""Load and fault run for ``routellm serve`` (a benchmark, not a unit test).

Starts, on loopback only:
  * an EchoUpstream (``python -m routellm_core.testing.upstream``) that fails
    ``--fail-rate`` of chat calls with HTTP 500 and stalls ``--stall-rate`` of them;
  * ``routellm serve --routers random`` in front of it with ``--timeout`` (stalls become 504).

Then sends the same request mix (plain and streamed) twice at ``--concurrency``:
directly to the upstream (client timeout = the server's upstream timeout) and
through the router server (client timeout = server timeout + ``--hang-margin``).
Reports lost requests (no HTTP answer or a malformed one), hung requests (no
answer within the client timeout), status and error-shape counts, and latency
percentiles of successful requests, direct vs through the server. A short
concurrency-1 pass without faults gives the per-request overhead.

    python bench/load_fault.py                      # 5,000 requests at concurrency 100
    python bench/load_fault.py --requests 500       # quick look
    python bench/load_fault.py --json out/load_fault.json

Exit status 1 if any request was lost or hung.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from routellm_core.testing.serving import INHERIT, ServerProcess, serve, serve_upstream, upstream_args

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

WORDS = (
    "route",
    "model",
    "strong",
    "weak",
    "answer",
    "prompt",
    "token",
    "latency",
    "threshold",
    "score",
    "why",
    "how",
    "explain",
    "the",
    "a",
    "of",
    "and",
    "proof",
    "code",
    "poem",
    "list",
    "sum",
    "integral",
    "history",
    "summary",
)


@dataclass
class Result:
    status: int | None  # None: no HTTP answer
    latency: float
    kind: str  # "ok", "error:<code>", "lost:<reason>", "hung"
    stream: bool


@dataclass
class Phase:
    name: str
    results: list[Result] = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = sorted(r.latency for r in self.results if r.kind == "ok")
        kinds = Counter(r.kind for r in self.results)
        statuses = Counter(str(r.status) for r in self.results)
        return {
            "requests": len(self.results),
            "wall_s": round(self.wall, 2),
            "throughput_rps": round(len(self.results) / self.wall, 1) if self.wall else None,
            "ok": len(ok),
            "lost": sum(v for k, v in kinds.items() if k.startswith("lost")),
            "hung": kinds.get("hung", 0),
            "statuses": dict(sorted(statuses.items())),
            "outcomes": dict(sorted(kinds.items())),
            "ok_latency_ms": {
                "p50": _pct(ok, 50),
                "p90": _pct(ok, 90),
                "p99": _pct(ok, 99),
                "max": _pct(ok, 100),
                "mean": round(1000 * statistics.fmean(ok), 2) if ok else None,
            },
        }


def _pct(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return round(1000 * sorted_values[k], 2)


def make_requests(n: int, stream_fraction: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) + f" #{i}"
        body: dict[str, Any] = {"model": "router-random-0.5", "messages": [{"role": "user", "content": prompt}], "max_tokens": 64}
        if rng.random() < stream_fraction:
            body["stream"] = True
        out.append(body)
    return out


def classify(status: int, body: bytes, stream: bool) -> str:
    if status == 200:
        if stream:
            text = body.decode("utf-8", "replace")
            events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
            if not events or events[-1] != "[DONE]":
                return "lost:stream_without_done"
            for event in events[:-1]:
                data = json.loads(event)
                if "error" in data:
                    return "error:mid_stream_" + str(data["error"].get("code"))
                if data.get("object") != "chat.completion.chunk":
                    return "lost:bad_chunk"
            return "ok"
        data = json.loads(body)
        return "ok" if data.get("choices") else "lost:no_choices"
    try:
        error = json.loads(body)["error"]
        if not isinstance(error.get("message"), str) or not error["message"]:
            return "lost:error_without_message"
        return f"error:{status}:{error.get('type')}:{error.get('code')}"
    except Exception:
        return f"lost:non_openai_error_body_{status}"


async def one(client: httpx.AsyncClient, url: str, body: dict[str, Any], timeout: float, hang_kind: str) -> Result:
    stream = bool(body.get("stream"))
    start = time.perf_counter()
    try:
        async with client.stream("POST", url, json=body, timeout=timeout) as response:
            data = await response.aread()
        latency = time.perf_counter() - start
        try:
            kind = classify(response.status_code, data, stream)
        except Exception as exc:
            kind = f"lost:unparseable_{type(exc).__name__}"
        return Result(response.status_code, latency, kind, stream)
    except httpx.TimeoutException:
        return Result(None, time.perf_counter() - start, hang_kind, stream)
    except httpx.HTTPError as exc:
        return Result(None, time.perf_counter() - start, f"lost:{type(exc).__name__}", stream)


async def run_phase(
    name: str,
    url: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    timeout: float,
    hang_kind: str,
    model_for_direct: bool = False,
) -> Phase:
    phase = Phase(name)
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        if model_for_direct:
            body = {**body, "model": "strong" if random.random() < 0.5 else "weak"}
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": "Bearer bench"}) as client:

        async def worker() -> None:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                phase.results.append(await one(client, url, body, timeout, hang_kind))

        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        phase.wall = time.perf_counter() - start
    return phase


def start_upstream(args, fail_rate: float, stall_rate: float) -> ServerProcess:
    faults = ["--fail-rate", str(fail_rate), "--stall-rate", str(stall_rate), "--stall-seconds", str(args.stall_seconds)]
    return serve_upstream([*faults, "--seed", str(args.seed)]).start()


def start_server(args, upstream_url: str) -> ServerProcess:
    serve_args = [
        *upstream_args(upstream_url),
        "--timeout",
        str(args.server_timeout),
        "--log-level",
        "error",
        "--no-access-log",
        "--workers",
        str(args.workers),
    ]
    # ready once every worker has built its routers
    log = INHERIT if args.verbose else None
    return serve(serve_args, ready_path="/ready", ready_timeout=60, poll_interval=0.2, log=log).start()


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process and its descendants (``--workers N``) on Linux, robust to other load."""
    total, pids = 0.0, [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids += [int(c) for c in f.read().split()]
        except (OSError, ValueError, IndexError):
            if p == pid:
                return None
    return total


def upstream_stats(up_url: str) -> dict[str, int]:
    return httpx.get(up_url.rsplit("/v1", 1)[0] + "/stats", timeout=10).json()


def _diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a[k] - b.get(k, 0) for k in a}


def metrics_total(base: str) -> int:
    text = httpx.get(base + "/metrics", timeout=10).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("routellm_requests_total{")))


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
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--fail-rate", type=float, default=0.10)
    p.add_argument("--stall-rate", type=float, default=0.05)
    p.add_argument("--stall-seconds", type=float, default=10.0, help="how long a stalled upstream call sleeps")
    p.add_argument("--server-timeout", type=float, default=3.0, help="routellm serve --timeout (stalls become 504)")
    p.add_argument("--hang-margin", type=float, default=10.0, help="a request unanswered after server timeout + this is hung")
    p.add_argument("--stream-fraction", type=float, default=0.2)
    p.add_argument(
        "--overhead-requests", type=int, default=300, help="fault-free concurrency-1 requests for per-request overhead"
    )
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--verbose", action="store_true", help="show the server's log")
    args = p.parse_args(argv)
    if not (1 <= args.requests <= 100_000 and 1 <= args.concurrency <= 1000):
        p.error("--requests must be in 1..100000 and --concurrency in 1..1000")

    bodies = make_requests(args.requests, args.stream_fraction, args.seed)
    report: dict[str, Any] = {
        "machine": machine(),
        "command": "python bench/load_fault.py " + " ".join(argv or sys.argv[1:]),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "verbose")},
    }
    procs: list[ServerProcess] = []
    try:
        up = start_upstream(args, args.fail_rate, args.stall_rate)
        procs.append(up)
        up_url = up.base_url
        server = start_server(args, up_url)
        procs.append(server)
        base = server.url
        client_timeout = args.server_timeout + args.hang_margin
        asyncio.run(run_phase("warmup", base + "/v1/chat/completions", bodies[:50], 10, client_timeout, "hung"))
        before = metrics_total(base)
        stats0 = upstream_stats(up_url)
        direct = asyncio.run(
            run_phase(
                "direct",
                up_url + "/chat/completions",
                bodies,
                args.concurrency,
                args.server_timeout,
                "timeout",
                model_for_direct=True,
            )
        )
        stats1 = upstream_stats(up_url)
        cpu0 = process_cpu(server.process.pid)
        routed = asyncio.run(run_phase("server", base + "/v1/chat/completions", bodies, args.concurrency, client_timeout, "hung"))
        cpu1 = process_cpu(server.process.pid)
        stats2 = upstream_stats(up_url)
        counted = metrics_total(base) - before
        report["faults"] = {
            "direct": direct.summary(),
            "server": routed.summary(),
            "server_metrics_requests": counted,
            "injected_direct": _diff(stats1, stats0),
            "injected_server": _diff(stats2, stats1),
            "server_cpu_ms_per_request": None if cpu0 is None or cpu1 is None else round(1000 * (cpu1 - cpu0) / args.requests, 2),
        }
        server.stop()
        up.stop()
        procs.clear()

        if args.overhead_requests:
            up = start_upstream(args, 0.0, 0.0)
            procs.append(up)
            up_url = up.base_url
            server = start_server(args, up_url)
            procs.append(server)
            base = server.url
            clean = bodies[: args.overhead_requests]
            asyncio.run(run_phase("warmup", base + "/v1/chat/completions", clean[:20], 1, client_timeout, "hung"))
            d1 = asyncio.run(run_phase("direct-c1", up_url + "/chat/completions", clean, 1, 30, "timeout", model_for_direct=True))
            s1 = asyncio.run(run_phase("server-c1", base + "/v1/chat/completions", clean, 1, 30, "hung"))
            report["clean_c1"] = {"direct": d1.summary(), "server": s1.summary()}
    finally:
        for proc in procs:
            proc.stop()

    f = report["faults"]
    lost, hung = f["server"]["lost"], f["server"]["hung"]
    added = {q: _sub(f["server"]["ok_latency_ms"][q], f["direct"]["ok_latency_ms"][q]) for q in ("p50", "p99")}
    report["faults"]["added_latency_ms"] = added
    if "clean_c1" in report:
        c = report["clean_c1"]
        report["clean_c1"]["added_latency_ms"] = {
            q: _sub(c["server"]["ok_latency_ms"][q], c["direct"]["ok_latency_ms"][q]) for q in ("p50", "p99")
        }
    report["lost"], report["hung"] = lost, hung
    print(json.dumps(report, indent=2))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    ok = lost == 0 and hung == 0 and f["server_metrics_requests"] == args.requests
    print(
        f"\n{'PASS' if ok else 'FAIL'}: {args.requests} requests at concurrency {args.concurrency}: lost {lost}, hung {hung}, "
        f"server counted {f['server_metrics_requests']}; server CPU"
        f" {f['server_cpu_ms_per_request']} ms/request; added latency p50 {added['p50']} ms, p99 {added['p99']} ms",
        file=sys.stderr,
    )
    return 0 if ok else 1


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 2)


if __name__ == "__main__":
    raise SystemExit(main())
