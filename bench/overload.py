"""Overload run for ``routellm serve``: admission control against no bound, on the same machine state (a benchmark).

Starts, on loopback only, an EchoUpstream process that fails ``--fail-rate`` of chat calls (HTTP 500) and stalls
``--stall-rate`` of them for ``--stall-seconds``, and one ``routellm serve --timeout 3`` in front of it for each
configuration of ``--configs`` (``off``: ``--max-in-flight off``, the server without admission control;
``default``: the defaults; or ``NAME='serve options'``), all running at once. Then, in ``--rounds`` rounds, each
server in turn (the order alternates from round to round, so load from elsewhere on the machine weighs on every
configuration alike) gets its share of:

- ``--requests`` requests from ``--clients`` concurrent clients (prompts of 3-40 words, ``--stream-fraction``
  of them streamed): the overload;
- ``--reference-requests`` requests from ``--reference-clients`` clients: the server not overloaded.

A client told 429 or 503 waits the ``Retry-After`` it was given and sends the same request again, as the openai
SDK does; every HTTP answer is recorded. Clients keep one connection each and speak just enough HTTP/1.1 to be
cheap on CPU, so the load generator is not the bottleneck.

Reported per configuration and phase: lost answers (none, not OpenAI-shaped, a stream without ``[DONE]``);
statuses against the faults the upstream injected (every 502 an injected failure, every 504 an injected stall);
answers counted by ``/metrics`` against answers received; goodput (200s per second while every client still
had work); latency of 200s (p50, p90, p99, max); answers slower than ``--slow`` other than 504s; shed answers
(429/503): how many, how fast, their ``Retry-After``; the queue wait histogram; the server's CPU per answer; the
event loop lag of the server (its histogram) and of this client (sampled here), and the admission limit.

    python bench/overload.py                                   # 10,000 requests, 200 clients: off vs default
    python bench/overload.py --workers 2 --routers mf
    python bench/overload.py --configs off default tight="--max-in-flight 16" --requests 3000 --rounds 2

Exit status 1 if anything was lost, a status does not match its fault, /metrics is off, or a shed answer came
without Retry-After.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from routellm_core.testing import ServerProcess, serve, serve_upstream, upstream_args

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

WORDS = "route model strong weak answer prompt token latency threshold score why how explain the a of and proof code".split()
SHED = (429, 503)
CHAT = "/v1/chat/completions"


@dataclass
class Answer:
    """One HTTP answer (or its absence)."""

    status: int | None  # None: no HTTP answer
    latency: float
    kind: str  # "ok", "error:<status>:<code>", "shed", "lost:<reason>"
    retry_after: str | None = None
    #: seconds from the start of its segment to when it was sent
    at: float = 0.0


@dataclass
class Phase:
    """Answers of one configuration in one phase, summed over rounds."""

    clients: int
    answers: list[Answer] = field(default_factory=list)
    wall: float = 0.0
    #: seconds while every client still had work (from the start until the last request was first sent)
    loaded: float = 0.0
    ok_while_loaded: int = 0
    #: per request that ended 200: seconds from its first attempt to its answer, retries included
    end_to_end: list[float] = field(default_factory=list)
    client_lag: list[float] = field(default_factory=list)
    metrics: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    server_cpu: float = 0.0
    server_cpu_loaded: float = 0.0
    limits: list[float] = field(default_factory=list)

    def summary(self, slow: float) -> dict[str, Any]:
        ok = sorted(a.latency for a in self.answers if a.kind == "ok")
        shed = [a for a in self.answers if a.kind == "shed"]
        handled = [a for a in self.answers if a.kind != "shed" and a.status is not None]
        kinds = Counter(a.kind for a in self.answers)
        return {
            "clients": self.clients,
            "answers": len(self.answers),
            "wall_s": round(self.wall, 2),
            "goodput_rps": round(self.ok_while_loaded / self.loaded, 1) if self.loaded else None,
            "lost": sum(v for k, v in kinds.items() if k.startswith("lost")),
            "statuses": dict(sorted(Counter(str(a.status) for a in self.answers).items())),
            "outcomes": dict(sorted(kinds.items())),
            "ok_latency_ms": percentiles(ok),
            "slower_than_slow_not_504": sum(1 for a in handled if a.latency > slow and a.status != 504),
            "slowest_not_504_ms": round(1000 * max((a.latency for a in handled if a.status != 504), default=0.0), 1),
            "shed": {
                "answers": len(shed),
                "per_200": round(len(shed) / len(ok), 2) if ok else None,
                "without_retry_after": sum(1 for a in shed if not a.retry_after),
                "retry_after_values": dict(sorted(Counter(a.retry_after or "" for a in shed).items())),
                "latency_ms": percentiles(sorted(a.latency for a in shed)),
                "over_50ms": sum(1 for a in shed if a.latency > 0.05),
                "latency_after_first_2s_ms": percentiles(sorted(a.latency for a in shed if a.at > 2.0)),
            },
            "end_to_end_ok_ms": percentiles(sorted(self.end_to_end)),
            "server_cpu_ms_per_answer": round(1000 * self.server_cpu / max(1, len(self.answers)), 2),
            "server_cpu_share_loaded": round(self.server_cpu_loaded / self.loaded, 2) if self.loaded else None,
            "server_lag_ms": lag_quantiles(self.metrics),
            "shed_latency_in_server_ms": lag_quantiles(self.metrics, "shedlat_le_"),
            "client_lag_ms": percentiles(sorted(self.client_lag)),
            "admission_limit_after_each_round": self.limits,
            "metrics": {k: round(v, 3) for k, v in sorted(self.metrics.items()) if "_le_" not in k},
            "injected": dict(self.injected),
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    def pct(p: float) -> float | None:
        if not values:
            return None
        k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
        return round(1000 * values[k], 2)

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100)}


def make_requests(n: int, model: str, stream_fraction: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) + f" #{i}"
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 64}
        if rng.random() < stream_fraction:
            body["stream"] = True
        out.append(body)
    return out


def classify(status: int, body: bytes, stream: bool) -> str:
    if status == 200:
        if stream:
            events = [line[6:] for line in body.decode("utf-8", "replace").splitlines() if line.startswith("data: ")]
            if not events or events[-1] != "[DONE]":
                return "lost:stream_without_done"
            for event in events[:-1]:
                data = json.loads(event)
                if "error" in data:
                    return "error:mid_stream:" + str(data["error"].get("code"))
                if data.get("object") != "chat.completion.chunk":
                    return "lost:bad_chunk"
            return "ok"
        return "ok" if json.loads(body).get("choices") else "lost:no_choices"
    try:
        error = json.loads(body)["error"]
        if not isinstance(error.get("message"), str) or not error["message"]:
            return "lost:error_without_message"
    except Exception:
        return f"lost:non_openai_error_body_{status}"
    return "shed" if status in SHED else f"error:{status}:{error.get('code')}"


class Connection:
    """One keep-alive HTTP/1.1 connection with just enough of the protocol for this bench (cheap on CPU, unlike a
    pooled client whose cost grows with the pool: the load generator must not be the bottleneck)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed before an answer")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(parts)
        elif "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def send(conn: Connection, body: dict[str, Any], timeout: float, origin: float) -> Answer:
    payload = json.dumps(body).encode()
    start = time.perf_counter()
    answer = await _send(conn, payload, bool(body.get("stream")), timeout, start)
    answer.at = start - origin
    return answer


async def _send(conn: Connection, payload: bytes, stream: bool, timeout: float, start: float) -> Answer:
    try:
        status, headers, data = await asyncio.wait_for(conn.post(CHAT, payload), timeout)
    except asyncio.TimeoutError:
        conn.close()
        return Answer(None, time.perf_counter() - start, "lost:no_answer_in_time")
    except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
        conn.close()
        return Answer(None, time.perf_counter() - start, f"lost:{type(exc).__name__}")
    latency = time.perf_counter() - start
    try:
        kind = classify(status, data, stream)
    except Exception as exc:
        kind = f"lost:unparseable_{type(exc).__name__}"
    return Answer(status, latency, kind, headers.get("retry-after"))


async def run_segment(phase: Phase, server: ServerProcess, bodies: list[dict[str, Any]], timeout: float) -> None:
    """``bodies`` from ``phase.clients`` clients; a client sends the next request once it has an answer."""
    pending = list(reversed(bodies))
    loaded_until: float | None = None
    done = False
    origin = time.perf_counter()

    async def sample_lag() -> None:
        loop = asyncio.get_running_loop()
        while not done:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            phase.client_lag.append(max(0.0, loop.time() - due))

    async def client() -> None:
        nonlocal loaded_until
        conn = Connection(server.host, server.port)
        try:
            while pending:
                body = pending.pop()
                if not pending and loaded_until is None:
                    loaded_until = time.perf_counter()
                    if server.process is not None:
                        phase.server_cpu_loaded += process_cpu(server.process.pid) - cpu_start
                first = time.perf_counter()
                while True:
                    answer = await send(conn, body, timeout, origin)
                    phase.answers.append(answer)
                    if answer.kind == "ok" and loaded_until is None:
                        phase.ok_while_loaded += 1
                    if answer.kind != "shed":
                        break
                    try:  # as the openai SDK: wait what the server said, then send the same request again
                        delay = float(answer.retry_after or 1)
                    except ValueError:
                        delay = 1.0
                    await asyncio.sleep(min(max(delay, 0.0), 60.0))
                if answer.kind == "ok":
                    phase.end_to_end.append(time.perf_counter() - first)
        finally:
            conn.close()

    cpu_start = process_cpu(server.process.pid) if server.process is not None else 0.0
    sampler = asyncio.ensure_future(sample_lag())
    start = origin = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(phase.clients)])
    end = time.perf_counter()
    done = True
    await sampler
    phase.wall += end - start
    phase.loaded += (loaded_until or end) - start


def scrape(base: str) -> dict[str, float]:
    """The /metrics samples compared here: answers counted, sheds by reason, queue wait, loop lag, the limit."""
    from prometheus_client.parser import text_string_to_metric_families

    out: Counter[str] = Counter()
    for family in text_string_to_metric_families(httpx.get(base + "/metrics", timeout=30).text):
        for s in family.samples:
            if s.name == "routellm_requests_total":
                out["answers"] += s.value
            elif s.name == "routellm_shed_requests_total":
                out["shed_" + s.labels["reason"]] += s.value
            elif s.name in ("routellm_queue_wait_seconds_count", "routellm_queue_wait_seconds_sum"):
                out["queue_wait_" + s.name.rsplit("_", 1)[1]] += s.value
            elif s.name == "routellm_request_latency_seconds_bucket" and s.labels.get("status") in ("429", "503"):
                out["shedlat_le_" + s.labels["le"]] += s.value
            elif s.name == "routellm_event_loop_lag_seconds_bucket":
                out["lag_le_" + s.labels["le"]] += s.value
            elif s.name == "routellm_admission_limit":
                out["admission_limit"] = s.value
    return dict(out)


def lag_quantiles(metrics: dict[str, float], prefix: str = "lag_le_") -> dict[str, float | None]:
    """Upper bounds of the p50 / p90 / p99 of a histogram scraped under ``prefix`` (the server's event loop lag)."""
    buckets = sorted((float(k[len(prefix) :]), v) for k, v in metrics.items() if k.startswith(prefix))
    total = buckets[-1][1] if buckets else 0.0
    out: dict[str, float | None] = {}
    for q in (50, 90, 99):
        le = next((b for b, v in buckets if total and v >= q / 100 * total), None)
        out[f"p{q}"] = None if le is None else 1000 * le
    return out


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (``--workers N``), from /proc (Linux)."""
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
            continue
    return total


def upstream_stats(up: ServerProcess) -> dict[str, float]:
    return {k: float(v) for k, v in httpx.get(up.url + "/stats", timeout=10).json().items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def measure(phase: Phase, server: ServerProcess, up: ServerProcess, bodies: list[dict[str, Any]], timeout: float) -> None:
    """One segment with everything around it: metrics, injected faults and server CPU before and after."""
    assert server.process is not None
    metrics0, stats0, cpu0 = scrape(server.url), upstream_stats(up), process_cpu(server.process.pid)
    asyncio.run(run_segment(phase, server, bodies, timeout))
    metrics1, stats1, cpu1 = scrape(server.url), upstream_stats(up), process_cpu(server.process.pid)
    phase.server_cpu += cpu1 - cpu0
    for key in set(metrics0) | set(metrics1):
        if key != "admission_limit":
            phase.metrics[key] += metrics1.get(key, 0.0) - metrics0.get(key, 0.0)
    phase.limits.append(metrics1.get("admission_limit", 0.0))
    for key in stats1:
        phase.injected[key] += int(stats1[key] - stats0.get(key, 0.0))


def checks(s: dict[str, Any]) -> dict[str, bool]:
    statuses, injected = s["statuses"], s["injected"]
    return {
        "nothing_lost": s["lost"] == 0,
        "502_match_injected_failures": statuses.get("502", 0) == injected.get("fail", 0),
        "504_match_injected_stalls": statuses.get("504", 0) == injected.get("stall", 0),
        "metrics_count_every_answer": s["metrics"].get("answers") == s["answers"],
        "every_shed_has_retry_after": s["shed"]["without_retry_after"] == 0,
    }


def brief(name: str, phase: str, s: dict[str, Any]) -> str:
    shed = s["shed"]
    ok = s["ok_latency_ms"]
    return (
        f"{name:>10} {phase:>9}: goodput {s['goodput_rps']} rps (server CPU {s['server_cpu_share_loaded']}), "
        f"200s p50/p99/max {ok['p50']}/{ok['p99']}/{ok['max']} ms, shed {shed['answers']} "
        f"(p50/p99/max {shed['latency_ms']['p50']}/{shed['latency_ms']['p99']}/{shed['latency_ms']['max']} ms), "
        f"slow {s['slower_than_slow_not_504']}, limit {s['admission_limit_after_each_round']}, "
        f"server lag {s['server_lag_ms']}, client lag p99 {s['client_lag_ms']['p99']} ms, "
        f"failed checks {[k for k, v in s['checks'].items() if not v]}"
    )


def parse_config(text: str) -> tuple[str, list[str]]:
    name, sep, options = text.partition("=")
    if not sep:
        known = {"off": ["--max-in-flight", "off"], "default": []}
        if name not in known:
            raise SystemExit(f"unknown configuration {name!r}: use off, default, or NAME='serve options'")
        return name, known[name]
    return name, shlex.split(options)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=["off", "default"], help="off, default, or NAME='serve options'")
    p.add_argument("--requests", type=int, default=10_000, help="overload requests per configuration")
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--reference-requests", type=int, default=2000, help="reference requests per configuration")
    p.add_argument("--reference-clients", type=int, default=16)
    p.add_argument("--rounds", type=int, default=5, help="each configuration's requests are split over this many rounds")
    p.add_argument("--routers", nargs="+", default=["random"], help="routers to enable; requests go to the first")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--fail-rate", type=float, default=0.10)
    p.add_argument("--stall-rate", type=float, default=0.05)
    p.add_argument("--stall-seconds", type=float, default=10.0)
    p.add_argument("--server-timeout", type=float, default=3.0, help="routellm serve --timeout (stalls become 504)")
    p.add_argument("--hang-margin", type=float, default=30.0, help="client timeout = server timeout + this")
    p.add_argument("--slow", type=float, default=8.0, help="answers slower than this (other than 504s) are counted")
    p.add_argument("--stream-fraction", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    configs = [parse_config(c) for c in args.configs]
    model = f"router-{args.routers[0]}-0.5"
    overload = make_requests(args.requests, model, args.stream_fraction, args.seed)
    reference = make_requests(args.reference_requests, model, args.stream_fraction, args.seed + 1)
    timeout = args.server_timeout + args.hang_margin
    report: dict[str, Any] = {
        "machine": machine(),
        "command": "python bench/overload.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "load_average_before": os.getloadavg()[0],
    }
    phases = {
        (name, kind): Phase(args.clients if kind == "overload" else args.reference_clients)
        for name, _ in configs
        for kind in ("reference", "overload")
    }
    faults = [
        "--fail-rate",
        str(args.fail_rate),
        "--stall-rate",
        str(args.stall_rate),
        "--stall-seconds",
        str(args.stall_seconds),
    ]
    servers: dict[str, ServerProcess] = {}
    with serve_upstream([*faults, "--seed", str(args.seed)]) as up:
        try:
            for name, options in configs:
                serve_args = [*upstream_args(up.base_url, routers=args.routers), "--timeout", str(args.server_timeout)]
                serve_args += ["--workers", str(args.workers), "--log-level", "error", "--no-access-log", *options]
                servers[name] = serve(serve_args, ready_path="/ready", ready_timeout=180, poll_interval=0.2).start()
                asyncio.run(run_segment(Phase(10), servers[name], make_requests(100, model, 0.5, 99), timeout))  # warm-up
            for r in range(args.rounds):
                order = configs if r % 2 == 0 else configs[::-1]
                for kind, bodies in (("reference", reference), ("overload", overload)):
                    share = bodies[r * len(bodies) // args.rounds : (r + 1) * len(bodies) // args.rounds]
                    for name, _ in order:
                        if share:
                            measure(phases[(name, kind)], servers[name], up, share, timeout)
                print(f"round {r + 1}/{args.rounds} done, load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.stop()
    report["load_average_after"] = os.getloadavg()[0]
    runs: dict[str, Any] = {}
    for name, options in configs:
        runs[name] = {"options": options}
        for kind in ("reference", "overload"):
            if phases[(name, kind)].answers:
                summary = phases[(name, kind)].summary(args.slow)
                summary["checks"] = checks(summary)
                runs[name][kind] = summary
    for name, run in runs.items():
        o = run.get("overload")
        if not o:
            continue
        if "off" in runs and name != "off" and runs["off"].get("overload", {}).get("goodput_rps"):
            o["goodput_vs_off"] = round(o["goodput_rps"] / runs["off"]["overload"]["goodput_rps"], 3)
        ref = run.get("reference", {}).get("ok_latency_ms", {})
        if ref.get("p50") and o["ok_latency_ms"]["p99"]:
            o["p99_vs_reference_p50"] = round(o["ok_latency_ms"]["p99"] / ref["p50"], 2)
            o["p99_vs_reference_p99"] = round(o["ok_latency_ms"]["p99"] / ref["p99"], 2)
        if o["admission_limit_after_each_round"]:
            o["admission_limit_median"] = statistics.median(o["admission_limit_after_each_round"])
    report["runs"] = runs
    for name, run in runs.items():
        for kind in ("reference", "overload"):
            if kind in run:
                print(brief(name, kind, run[kind]), file=sys.stderr)
    print(json.dumps(report, indent=2))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    failed = [
        f"{n}/{k}:{c}"
        for n, r in runs.items()
        for k in ("reference", "overload")
        if k in r
        for c, ok in r[k]["checks"].items()
        if not ok
    ]
    held = [f for f in failed if not f.startswith("off/")]  # the server without admission control is the baseline
    print(("FAIL: " + ", ".join(held)) if held else "PASS: every check held", file=sys.stderr)
    if len(held) < len(failed):
        print("without admission control: " + ", ".join(f for f in failed if f.startswith("off/")), file=sys.stderr)
    return 1 if held else 0


if __name__ == "__main__":
    raise SystemExit(main())
