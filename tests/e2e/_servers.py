"""Start ``routellm serve`` as a real subprocess and wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from local_models import LocalModelError, free_port, stop_process, wait_http_ok


class RouterServer:
    """``routellm serve <args> --host 127.0.0.1 --port <free>``; use as a context manager."""

    def __init__(self, args: Sequence[str], *, timeout: float = 120.0, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.args = list(args)
        self.timeout = timeout
        self.env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
        self.log_path = Path(tempfile.gettempdir()) / f"routellm-serve-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RouterServer:
        cmd = [sys.executable, "-m", "routellm_core.cli", "serve", *self.args, "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
            )
        try:
            wait_http_ok(f"{self.url}/health", self.timeout, self.process, what="routellm serve")
        except LocalModelError as exc:
            self.__exit__()
            raise RuntimeError(f"{exc}\n--- {self.log_path} ---\n{self.log()}") from None
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            code = stop_process(self.process)
            self.process = None
            self.exit_code = code
