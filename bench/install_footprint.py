"""Installed size, cold start and server memory of routellm installs, from wheels into empty virtual environments.

    python bench/install_footprint.py                  # lean, lean+serve and full installs; prints a Markdown table
    python bench/install_footprint.py --only lean      # one of them
    python bench/install_footprint.py --work DIR --keep

Builds wheels of routellm-core, routellm-minilm and routellm-mf (``pip wheel --no-deps``), then for each
install creates an empty virtual environment, pip-installs the wheels (dependencies from the package
index) and measures:

- ``site-packages``: ``du`` of the environment's site-packages, and whether ``torch`` is importable;
- ``routellm route --router mf``: wall time, CPU time (user + system) and max RSS of a new process
  (``/usr/bin/time``), the first run after the install and the median of three more (files are in the
  page cache either way). CPU time is the steadier figure on a shared machine;
- ``routellm serve --routers mf`` (installs with the serve extra): seconds and CPU seconds until
  ``/health`` answers, RSS after 200 routed chat requests to a loopback echo upstream, and its peak.

The full install puts ``torch==2.13.0`` (the CPU build) in first, as the README says; an unpinned torch
pulls a CUDA build several GB larger.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"
PROMPT = "Prove that there are infinitely many primes, then explain the proof to a child."
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
ENV.pop("PYTHONPATH", None)

# name -> (pip commands run in order, what it is); {core}, {minilm}, {mf} are the wheel files
INSTALLS = {
    "lean": ([["{core}", "{minilm}", "{mf}"]], "`pip install routellm-core routellm-mf`"),
    "lean+serve": ([["{core}[serve]", "{minilm}", "{mf}"]], "`pip install 'routellm-core[serve]' routellm-mf`"),
    "full": (
        [[TORCH], ["{core}[serve,eval]", "{minilm}[torch,onnx]", "{mf}[train,hub]"]],
        f"`pip install {TORCH}`, then `pip install 'routellm-core[serve,eval]' 'routellm-minilm[torch,onnx]' "
        "'routellm-mf[train,hub]'`",
    ),
}

# run by the environment's own python: serve, send requests, read the server's memory
SERVE_PROBE = r"""
import json, os, time, urllib.request
from routellm_core.testing import EchoUpstream, serve

args = ["--routers", "mf", "--strong-model", "openai/big", "--weak-model", "openai/small", "--api-key", "x",
        "--no-access-log", "--log-level", "warning"]
with EchoUpstream() as up:
    up.record_calls = False
    t0 = time.monotonic()
    with serve([*args, "--base-url", up.base_url], ready_timeout=300, poll_interval=0.05, stop_timeout=30) as server:
        ready = time.monotonic() - t0
        pid = server.process.pid
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        ready_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        for i in range(200):
            message = {"role": "user", "content": f"Question {i}: why is the sky blue?"}
            body = json.dumps({"model": "router-mf-0.5", "messages": [message]})
            req = urllib.request.Request(server.base_url + "/chat/completions", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
        kib = lambda key: int(status[key].split()[0])
        print(json.dumps({"ready_s": ready, "ready_cpu_s": ready_cpu,
                          "rss_mib": kib("VmRSS") / 1024, "peak_mib": kib("VmHWM") / 1024}))
"""


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, env=ENV, **kw)


def build_wheels(dest: Path, python: str) -> dict[str, str]:
    sh(
        [
            python,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(dest),
            str(ROOT),
            str(ROOT / "plugins" / "routellm_minilm"),
            str(ROOT / "plugins" / "routellm_mf"),
        ],
        stdout=subprocess.DEVNULL,
    )
    found = {}
    for key, prefix in (("core", "routellm_core-"), ("minilm", "routellm_minilm-"), ("mf", "routellm_mf-")):
        (wheel,) = sorted(dest.glob(prefix + "*.whl"))
        found[key] = str(wheel)
    return found


def timed_route(venv: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and max RSS (MiB) of one ``routellm route --router mf``."""
    with tempfile.NamedTemporaryFile("r") as out:
        sh(
            [
                "/usr/bin/time",
                "-o",
                out.name,
                "-f",
                "%e %U %S %M",
                str(venv / "bin" / "routellm"),
                "route",
                "--router",
                "mf",
                "--threshold",
                "0.5",
                PROMPT,
            ],
            stdout=subprocess.DEVNULL,
        )
        wall, user, system, kib = out.read().split()[-4:]
    return float(wall), float(user) + float(system), int(kib) / 1024


def measure(name: str, wheels: dict[str, str], work: Path, python: str, reuse: bool = False) -> dict:
    venv = work / name
    install_s = None
    if not (reuse and (venv / "bin" / "routellm").exists()):
        shutil.rmtree(venv, ignore_errors=True)
        sh([python, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        t0 = time.monotonic()
        for step in INSTALLS[name][0]:
            sh(pip + [arg.format(**wheels) for arg in step], stdout=subprocess.DEVNULL)
        install_s = round(time.monotonic() - t0)
    py = str(venv / "bin" / "python")
    site = sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True).stdout.strip()
    size_mib = int(sh(["du", "-sm", site], capture_output=True).stdout.split()[0])
    torch = sh(
        [py, "-c", "import importlib.metadata as m\ntry: print(m.version('torch'))\nexcept m.PackageNotFoundError: print('-')"],
        capture_output=True,
    ).stdout.strip()
    first = timed_route(venv)
    warm = [timed_route(venv) for _ in range(3)]
    row = {
        "install": name,
        "what": INSTALLS[name][1],
        "site_packages_mib": size_mib,
        "torch": torch,
        "install_s": install_s,
        "route_first_s": first[0],
        "route_first_cpu_s": round(first[1], 2),
        "route_s": statistics.median(w[0] for w in warm),
        "route_cpu_s": round(statistics.median(w[1] for w in warm), 2),
        "route_rss_mib": round(statistics.median(w[2] for w in warm)),
    }
    if "serve" in " ".join(" ".join(step) for step in INSTALLS[name][0]):
        probe = json.loads(sh([py, "-c", SERVE_PROBE], capture_output=True).stdout.strip().splitlines()[-1])
        row.update(
            serve_ready_s=round(probe["ready_s"], 2),
            serve_ready_cpu_s=round(probe["ready_cpu_s"], 2),
            serve_rss_mib=round(probe["rss_mib"]),
            serve_peak_mib=round(probe["peak_mib"]),
        )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated installs (default: {','.join(INSTALLS)})")
    parser.add_argument("--work", type=Path, help="where the wheels and environments go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the environments")
    parser.add_argument("--reuse", action="store_true", help="measure environments kept in --work by an earlier --keep run")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the environments (default: this one)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(INSTALLS)
    unknown = [n for n in names if n not in INSTALLS]
    if unknown:
        parser.error(f"unknown install(s) {unknown}; known: {', '.join(INSTALLS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="routellm-footprint-"))
    work.mkdir(parents=True, exist_ok=True)
    wheels = build_wheels(work / "wheels", args.python)
    rows = []
    try:
        for name in names:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            rows.append(measure(name, wheels, work, args.python, reuse=args.reuse))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            if not args.keep:
                shutil.rmtree(work / name, ignore_errors=True)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        "| install | site-packages | torch | `routellm route`: wall, first / warm (CPU) | max RSS "
        "| `routellm serve`: ready in (CPU) | serve RSS after 200 requests (peak) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ready, rss = (
            (
                f"{r['serve_ready_s']:.1f} s ({r['serve_ready_cpu_s']:.1f} s)",
                f"{r['serve_rss_mib']} MiB ({r['serve_peak_mib']} MiB)",
            )
            if "serve_rss_mib" in r
            else ("— (no serve extra)", "—")
        )
        print(
            f"| {r['what']} | {r['site_packages_mib']} MiB | {r['torch']} | {r['route_first_s']:.2f} s / {r['route_s']:.2f} s "
            f"({r['route_first_cpu_s']:.2f} s / {r['route_cpu_s']:.2f} s) | {r['route_rss_mib']} MiB | {ready} | {rss} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
