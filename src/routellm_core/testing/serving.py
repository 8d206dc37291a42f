"""Servers as real processes on loopback, for tests, benchmarks and scripts.

- :func:`free_port`: a free TCP port.
- :func:`serve`: ``routellm serve <args>`` as a subprocess on a free port::

      with EchoUpstream() as up, serve(upstream_args(up.base_url)) as server:
          urllib.request.urlopen(server.url + "/health")   # server.base_url is the OpenAI base URL (…/v1)

- :class:`ServerProcess`, what :func:`serve` returns: any HTTP server command (a litellm proxy, the echo
  upstream), started, waited for until a URL answers 200, and stopped: SIGTERM, then SIGKILL after a
  timeout. Its output (stdout and stderr together) goes to a log file, whose last lines come with the
  :class:`ServeError` raised when it exits early or is not ready in time.
- :func:`upstream_args`: the ``routellm serve`` options for two models on one upstream such as the echo server.
- :func:`serve_upstream`: the :class:`~routellm_core.testing.EchoUpstream` in a process of its own (so that a
  benchmark's load on it is not spent in the process that measures).
- :func:`wait_http_ok` and :func:`stop_process`: the two steps on their own, for a ``Popen`` of your own.

Nothing outside the standard library and the core is imported: a lean install can use it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..slug import slug

#: ``log=`` value that leaves the server's output on this process's own stdout and stderr
INHERIT = "-"

# polls go straight to loopback, never through an HTTP proxy named in the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServeError(RuntimeError):
    """A server process exited before it was ready, or was not ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (the OS picks it; another process may take it before you do)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http_ok(
    url: str,
    timeout: float,
    process: subprocess.Popen[Any] | None = None,
    *,
    what: str = "server",
    interval: float = 0.1,
    on_not_ready: Callable[[int, bytes], None] | None = None,
) -> None:
    """Poll ``GET url`` until it answers 200; raise :class:`ServeError` if ``process`` exits first or ``timeout`` passes.

    ``on_not_ready(status, body)`` sees every other HTTP answer (e.g. to assert that ``/ready`` says 503 meanwhile).
    """
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while True:
        if process is not None and process.poll() is not None:
            raise ServeError(f"{what} exited with code {process.returncode} before it was ready")
        status: int | None = None
        body = b""
        try:
            with _OPENER.open(url, timeout=2) as response:
                if response.status == 200:
                    return
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:  # 4xx and 5xx answers
            with exc:
                status, body = exc.code, exc.read()
        except OSError as exc:  # refused, reset, timed out (URLError is an OSError)
            last_error = str(exc)
        if status is not None:
            last_error = f"HTTP {status}"
            if on_not_ready is not None:
                on_not_ready(status, body)
        if time.monotonic() >= deadline:
            raise ServeError(f"{what} not ready at {url} after {timeout:g} s ({last_error})")
        time.sleep(interval)


def stop_process(
    process: subprocess.Popen[Any], timeout: float = 10.0, signals: Sequence[signal.Signals] = (signal.SIGTERM,)
) -> int | None:
    """Send each of ``signals`` in turn, waiting an equal share of ``timeout`` after each, then SIGKILL.

    Returns the exit code (None only when the process was gone before it could be signalled and reaped).
    """
    if process.poll() is not None:
        return process.returncode
    for sig in signals:
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            return process.poll()
        try:
            return process.wait(timeout=timeout / len(signals))
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    return process.wait()


class ServerProcess:
    """An HTTP server command run as a subprocess: ``with ServerProcess(cmd, port=port) as server: ...``.

    ``start()`` launches ``command`` and waits until ``GET <url><ready_path>`` answers 200; ``stop()`` (also on
    leaving the ``with`` block) stops it with ``stop_signals``, then SIGKILL after ``stop_timeout`` seconds.
    ``start()`` and ``stop()`` can also be called directly, and ``stop()`` more than once.

    Args:
        command: the program and its arguments; it must listen on ``host:port``.
        host, port: where it listens. ``0.0.0.0`` / ``::`` are reached through loopback.
        ready_path: path polled until it answers 200.
        env: variables set (``None``: removed) on top of this process's environment.
        cwd: working directory of the server.
        log: file for its stdout and stderr (kept); None: a temporary file, removed by ``stop()``;
            :data:`INHERIT`: this process's own stdout and stderr (nothing to read back).
        ready_timeout, poll_interval: how long and how often to poll ``ready_path``.
        on_not_ready: called with ``(status, body)`` of every non-200 answer while waiting.
        new_session: run it in its own session, out of reach of a Ctrl-C in the terminal.
        what: how errors name it.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        host: str = "127.0.0.1",
        ready_path: str = "/health",
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log: str | os.PathLike[str] | None = None,
        ready_timeout: float = 120.0,
        poll_interval: float = 0.1,
        on_not_ready: Callable[[int, bytes], None] | None = None,
        stop_timeout: float = 10.0,
        stop_signals: Sequence[signal.Signals] = (signal.SIGTERM,),
        new_session: bool = False,
        what: str | None = None,
    ) -> None:
        self.command = [str(part) for part in command]
        self.host, self.port = host, port
        self.ready_path = ready_path
        self.env = dict(env or {})
        self.cwd = cwd
        self.ready_timeout, self.poll_interval, self.on_not_ready = ready_timeout, poll_interval, on_not_ready
        self.stop_timeout, self.stop_signals = stop_timeout, tuple(stop_signals)
        self.new_session = new_session
        self.what = what or Path(self.command[0]).name
        self._inherit = log is not None and os.fspath(log) == INHERIT
        self._own_log = log is None
        #: where the server's output goes (None with ``log=INHERIT``)
        self.log_path: Path | None = None if self._inherit or log is None else Path(log)
        self.process: subprocess.Popen[bytes] | None = None
        #: the exit code, once stopped
        self.returncode: int | None = None

    @property
    def url(self) -> str:
        """``http://host:port``: the server's root (``0.0.0.0`` and ``::`` read as loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ``<url>/v1``."""
        return self.url + "/v1"

    def start(self) -> ServerProcess:
        """Launch the command and wait until it is ready; on failure stop it and raise :class:`ServeError` with its log."""
        if self.process is not None and self.process.poll() is None:
            return self
        env = {**os.environ, **{k: v for k, v in self.env.items() if v is not None}}
        for key in (k for k, v in self.env.items() if v is None):
            env.pop(key, None)
        if self._own_log:
            fd, name = tempfile.mkstemp(prefix=f"{slug(self.what)}-{self.port}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        out = None if self.log_path is None else open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=None if out is None else subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=self.new_session,
            )
        finally:
            if out is not None:
                out.close()
        try:
            wait_http_ok(
                self.url + self.ready_path,
                self.ready_timeout,
                self.process,
                what=self.what,
                interval=self.poll_interval,
                on_not_ready=self.on_not_ready,
            )
        except ServeError as exc:
            self.stop(keep_log=True)
            tail = self.log_tail()
            self._remove_own_log()
            raise ServeError(f"{exc}; log:\n{tail}" if tail else str(exc)) from None
        except BaseException:
            self.stop()
            raise
        return self

    def log(self) -> str:
        """Everything the server wrote so far ("" when its output is not captured)."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of :meth:`log`."""
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self, *, keep_log: bool = False) -> int | None:
        """Stop the server (if running) and return its exit code; a temporary log is removed unless ``keep_log``."""
        if self.process is not None:
            self.returncode = stop_process(self.process, self.stop_timeout, self.stop_signals)
            self.process = None
        if not keep_log:
            self._remove_own_log()
        return self.returncode

    def _remove_own_log(self) -> None:
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_command(args: Sequence[str], *, python: str = sys.executable, host: str = "127.0.0.1", port: int) -> list[str]:
    """The command line of ``routellm serve <args> --host <host> --port <port>`` run by ``python``."""
    return [python, "-m", "routellm_core.cli", "serve", *args, "--host", host, "--port", str(port)]


def upstream_args(
    base_url: str,
    *,
    routers: Sequence[str] = ("random",),
    strong_model: str = "openai/strong",
    weak_model: str = "openai/weak",
    api_key: str = "sk-loopback",
) -> list[str]:
    """``routellm serve`` options that route with ``routers`` between two models of one OpenAI-compatible
    upstream at ``base_url`` (e.g. an :class:`~routellm_core.testing.EchoUpstream`'s)."""
    models = ["--strong-model", strong_model, "--weak-model", weak_model]
    return ["--routers", *routers, *models, "--base-url", base_url, "--api-key", api_key]


def serve(
    args: Sequence[str],
    *,
    python: str = sys.executable,
    host: str = "127.0.0.1",
    port: int | None = None,
    env: Mapping[str, str | None] | None = None,
    ready_path: str = "/health",
    ready_timeout: float = 120.0,
    log: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ServerProcess:
    """``routellm serve <args>`` on ``host:port`` (a free port by default) as a :class:`ServerProcess`, not yet started.

    Use it as ``with serve(args) as server:`` or call ``start()`` / ``stop()``. ``python`` is the interpreter that
    runs it (e.g. a lean virtual environment's); ``args`` must not contain ``--host`` or ``--port``. ``options``
    are :class:`ServerProcess`'s other keyword arguments. Waits for ``/health`` by default; ``ready_path="/ready"``
    waits until every worker of ``--workers N`` has built its routers.
    """
    port = free_port(host) if port is None else port
    options.setdefault("what", "routellm serve")
    return ServerProcess(
        serve_command(args, python=python, host=host, port=port),
        host=host,
        port=port,
        env=env,
        ready_path=ready_path,
        ready_timeout=ready_timeout,
        log=log,
        **options,
    )


def serve_upstream(
    args: Sequence[str] = (),
    *,
    python: str = sys.executable,
    host: str = "127.0.0.1",
    port: int | None = None,
    **options: Any,
) -> ServerProcess:
    """``EchoUpstream`` as a subprocess (``args``: its command-line options, e.g. ``["--fail-rate", "0.1"]``), not yet
    started; ready when ``GET /v1/models`` answers. ``base_url`` is its OpenAI base URL, ``url`` its root (``/stats``)."""
    port = free_port(host) if port is None else port
    options.setdefault("what", "echo upstream")
    options.setdefault("ready_path", "/v1/models")
    code = "from routellm_core.testing.upstream import main; raise SystemExit(main())"
    return ServerProcess([python, "-c", code, *args, "--host", host, "--port", str(port)], host=host, port=port, **options)
