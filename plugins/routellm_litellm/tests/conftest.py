"""A real ``litellm`` proxy process on loopback, routing with the routellm hook between two echo deployments."""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from routellm_core.testing import EchoUpstream, ServeError, ServerProcess, free_port

STARTUP_TIMEOUT = 240.0  # seconds: importing the proxy alone takes ~15 s of CPU


@dataclass(frozen=True)
class Proxy:
    base_url: str
    api_key: str
    upstream: EchoUpstream
    log: Path


def _litellm_cli() -> str | None:
    """The ``litellm`` console script of this environment, when ``litellm[proxy]`` is installed."""
    for module in ("litellm", "fastapi", "apscheduler", "backoff", "litellm_proxy_extras"):
        if importlib.util.find_spec(module) is None:
            return None
    local = Path(sys.executable).parent / "litellm"
    return str(local) if local.exists() else shutil.which("litellm")


def proxy_config(upstream_url: str) -> dict:
    """model_list with a strong and a weak group on the echo server, and the routellm hook."""

    def deployment(group: str, served: str) -> dict:
        return {
            "model_name": group,
            "litellm_params": {"model": f"openai/{served}", "api_base": upstream_url, "api_key": "unused"},
        }

    return {
        "model_list": [deployment("strong", "strong-echo"), deployment("weak", "weak-echo")],
        "litellm_settings": {"callbacks": ["routellm_litellm.hook"], "num_retries": 0},
        "callback_settings": {
            "routellm": {
                "routers": ["random", "length"],
                "strong_model": "strong",
                "weak_model": "weak",
                "config": {"random": {"seed": 1}},
                "models": {"smart": {"router": "random", "threshold": 0.5}},
            }
        },
    }


@pytest.fixture(scope="session")
def proxy(tmp_path_factory: pytest.TempPathFactory):
    cli = _litellm_cli()
    if cli is None:
        pytest.skip("litellm[proxy] is not installed: pip install -e 'plugins/routellm_litellm[test]'")
    tmp = tmp_path_factory.mktemp("litellm-proxy")
    with EchoUpstream() as upstream:
        config = tmp / "proxy.yaml"
        config.write_text(yaml.safe_dump(proxy_config(upstream.base_url)))
        port, key = free_port(), "sk-" + secrets.token_hex(24)
        # offline: the bundled model cost map, telemetry vetoed, loopback never sent through an HTTP proxy
        env = {
            "LITELLM_MASTER_KEY": key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY_DISABLED": "True",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        log = tmp / "proxy.log"
        process = ServerProcess(
            [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            port=port,
            ready_path="/health/liveliness",
            env=env,
            cwd=tmp,
            log=log,
            ready_timeout=STARTUP_TIMEOUT,
            poll_interval=0.25,
            stop_timeout=20,
            what="the litellm proxy",
        )
        try:
            process.start()
        except ServeError as exc:
            pytest.fail(str(exc))
        try:
            yield Proxy(base_url=process.url, api_key=key, upstream=upstream, log=log)
        finally:
            process.stop()
