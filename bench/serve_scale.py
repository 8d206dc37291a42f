"""Throughput, added latency and server CPU per request of ``routellm serve`` (loopback, no faults).

Starts an ``EchoUpstream`` subprocess and, one after another, ``routellm serve`` from
each given source tree (``--tree NAME=REPO_ROOT``: its ``src`` and ``plugins/*/src``
put first on ``PYTHONPATH``; e.g. a checkout of an earlier commit beside the current one) with each
router and worker count. The same closed-loop load (``C`` keep-alive connections, each
sending its next request when the previous answer arrived; one small non-streamed chat
completion each) goes for ``--seconds`` to the upstream alone and to every server.
Reported per run: requests/s, latency p50/p99, added latency (p50/p99 minus the
upstream's at the same concurrency), and the server's CPU per request (user + system
time of the server process and its workers over the same window, from ``/proc``).

The load generator speaks HTTP/1.1 over raw asyncio streams, so it costs far less CPU
per request than the server it measures; it still shares the machine. Runs of the
trees are interleaved (``--rounds``) so that drifting background load hits them alike.

Servers run on uvloop when it is installed (uvicorn's "auto" loop); ``--asyncio NAME`` hides it from that
tree's server: ``--tree uvloop=. --tree asyncio=. --asyncio asyncio`` compares the two loops.

Usage: ``python bench/serve_scale.py --tree before=/path/to/old/checkout --tree after=. --json out/scale.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from routellm_core.testing.serving import ServerProcess, serve, serve_upstream, upstream_args

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out += descendants(int(child))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def rss_mb(pid: int) -> list[float]:
    """Resident memory of the server process and each worker, MB."""
    out = []
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(round(int(line.split()[1]) / 1024, 1))
        except OSError:
            continue
    return out


def request_bytes(host: str, port: int, model: str) -> bytes:
    body = json.dumps(
        {
            "model": model,
            "messages": [
                {"role": "user", "content": "Explain the fastest sorting algorithm for nearly sorted arrays in two sentences."}
            ],
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nAuthorization: Bearer sk-bench\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length is None:
        raise RuntimeError("response without Content-Length")
    await reader.readexactly(length)
    return status


async def closed_loop(port: int, model: str, concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    payload = request_bytes("127.0.0.1", port, model)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def conn() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                writer.write(payload)
                status = await read_response(reader)
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    if status == 200:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(conn() for _ in range(concurrency)))
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "rps": round(n / seconds, 1),
        "p50_ms": round(1000 * latencies[n // 2], 3) if n else None,
        "p99_ms": round(1000 * latencies[min(n - 1, int(n * 0.99))], 3) if n else None,
    }


def run_load(port: int, model: str, concurrency: int, seconds: float, warmup: float, pid: int | None) -> dict[str, Any]:
    """One closed-loop run; with ``pid``, the server's CPU over the measured window (warm-up excluded)."""

    async def main() -> tuple[dict[str, Any], float | None]:
        cpu_box: dict[str, float] = {}

        async def sample() -> None:
            await asyncio.sleep(warmup)
            cpu_box["start"] = cpu_seconds(pid) if pid else 0.0
            await asyncio.sleep(seconds)
            cpu_box["end"] = cpu_seconds(pid) if pid else 0.0

        result, _ = await asyncio.gather(closed_loop(port, model, concurrency, seconds, warmup), sample())
        return result, (cpu_box["end"] - cpu_box["start"]) if pid else None

    result, cpu = asyncio.run(main())
    if cpu is not None and result["requests"]:
        result["server_cpu_ms_per_request"] = round(1000 * cpu / result["requests"], 3)
        result["server_cpu_cores"] = round(cpu / seconds, 2)
    return result


def start_upstream() -> ServerProcess:
    return serve_upstream(ready_timeout=180, poll_interval=0.2, stop_timeout=30).start()


def tree_path(root: str) -> list[str]:
    base = Path(root).resolve()
    return [str(base / "src"), *sorted(str(p) for p in base.glob("plugins/*/src"))]


def hide_uvloop() -> str:
    """A directory whose ``uvloop`` fails to import: first on PYTHONPATH, uvicorn's "auto" loop falls back to asyncio."""
    directory = Path(tempfile.mkdtemp(prefix="no-uvloop-"))
    (directory / "uvloop").mkdir()
    (directory / "uvloop" / "__init__.py").write_text('raise ImportError("uvloop hidden by bench/serve_scale.py --asyncio")\n')
    return str(directory)


def start_server(src: str, router: str, workers: int, upstream_url: str, asyncio_loop: bool = False) -> ServerProcess:
    first = [hide_uvloop()] if asyncio_loop else []
    pythonpath = [*first, *tree_path(src), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env = {"PYTHONPATH": os.pathsep.join(pythonpath), "PROMETHEUS_MULTIPROC_DIR": None}
    args = [
        *upstream_args(upstream_url, routers=[router]),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = serve(args, env=env, ready_timeout=180, poll_interval=0.2, stop_timeout=30).start()
    # with several workers, wait until each has built its routers (the earlier server has no /ready)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            r = httpx.get(server.url + "/ready", timeout=2)
        except httpx.TransportError:
            r = None
        if r is None or r.status_code == 404 or r.status_code == 200:
            break
        time.sleep(0.2)
    if workers > 1:
        time.sleep(3)  # the earlier server cannot tell; give every worker time to start
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--tree", action="append", required=True, metavar="NAME=SRC", help="repository root to serve from (repeatable)"
    )
    p.add_argument("--routers", nargs="+", default=["random", "mf"])
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--concurrency", nargs="+", type=int, default=[1, 16, 64])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=1, help="repeat the interleaved runs of the trees")
    p.add_argument(
        "--asyncio",
        action="append",
        default=[],
        metavar="NAME",
        help="serve this tree on asyncio's own event loop, uvloop hidden (when uvloop is installed)",
    )
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree)

    rows: list[dict[str, Any]] = []
    upstream = start_upstream()
    up_port = upstream.port
    try:
        for c in args.concurrency:
            r = run_load(up_port, "echo", c, args.seconds, args.warmup, None)
            rows.append({"target": "upstream", "concurrency": c, **r, "load": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
        direct = {row["concurrency"]: row for row in rows}
        for rnd in range(args.rounds):
            for router in args.routers:
                for workers in args.workers:
                    for name, src in trees.items():
                        server = start_server(src, router, workers, upstream.base_url, name in args.asyncio)
                        port, pid = server.port, server.process.pid
                        try:
                            for c in args.concurrency:
                                r = run_load(port, f"router-{router}-0.5", c, args.seconds, args.warmup, pid)
                                d = direct[c]
                                r["added_p50_ms"] = round(r["p50_ms"] - d["p50_ms"], 3) if r["p50_ms"] else None
                                r["added_p99_ms"] = round(r["p99_ms"] - d["p99_ms"], 3) if r["p99_ms"] else None
                                rows.append(
                                    {
                                        "target": name,
                                        "router": router,
                                        "workers": workers,
                                        "concurrency": c,
                                        "round": rnd,
                                        **r,
                                        "load": os.getloadavg()[0],
                                        "rss_mb": rss_mb(pid),
                                    }
                                )
                                print(json.dumps(rows[-1]), flush=True)
                        finally:
                            server.stop()
    finally:
        upstream.stop()
    report = {
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "seconds": args.seconds,
        "trees": trees,
        "asyncio_loop": args.asyncio,
        "rows": rows,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
