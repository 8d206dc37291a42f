"""Fixtures: EchoUpstream on loopback and the router app served by uvicorn in a thread."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from routellm_core.server import ServerSettings, create_app  # noqa: E402
from routellm_core.server.protocol import http_protocol  # noqa: E402
from routellm_core.testing import EchoUpstream, free_port  # noqa: E402

STRONG = "openai/strong-echo"
WEAK = "openai/weak-echo"
SERVER_KEY = "sk-test-server-key-123"


class ServedApp:
    def __init__(self, app, base_url: str) -> None:
        self.app = app
        self.base_url = base_url  # http://127.0.0.1:PORT
        self.v1 = base_url + "/v1"

    @property
    def server(self):
        return self.app.state.routellm


@contextmanager
def serve(settings: ServerSettings) -> Iterator[ServedApp]:
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=http_protocol(settings.header_timeout, settings.body_timeout),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield ServedApp(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)


def make_settings(upstream: EchoUpstream, **overrides) -> ServerSettings:
    values = dict(
        routers=["random"], strong_model=STRONG, weak_model=WEAK, base_url=upstream.base_url, api_key="sk-upstream", timeout=10.0
    )
    values.update(overrides)
    return ServerSettings(**values)


@pytest.fixture(scope="session")
def upstream() -> Iterator[EchoUpstream]:
    with EchoUpstream() as up:
        yield up


@pytest.fixture(scope="session")
def served(upstream) -> Iterator[ServedApp]:
    with serve(make_settings(upstream, max_body_bytes=64 * 1024)) as s:
        yield s


@pytest.fixture(scope="session")
def served_auth(upstream) -> Iterator[ServedApp]:
    with serve(make_settings(upstream, server_api_keys=[SERVER_KEY, "sk-second-key"])) as s:
        yield s


@pytest.fixture()
def http(served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client
