"""A real ``litellm`` proxy process on loopback, routing with the routellm hook between two echo deployments."""

from __future__ import annotations

import contextlib
import importlib.util
import os
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


#: the N-model proxy's groups: model_name -> (served model, how it is priced)
N_MODEL_GROUPS = {
    "frontier": "gpt-4o",  # priced by litellm's cost map
    "mini": "gpt-4o-mini",  # priced by its model_info
    "local": "llama-3.1-8b-local",  # unknown to litellm: priced in the routellm settings
}
MINI_PRICE_PER_TOKEN = (1.5e-7, 6e-7)


def n_model_config(upstream_url: str) -> dict:
    """Three model groups on the echo server; the hook routes among them with the ``toyq`` QualityRouter."""
    mini_in, mini_out = MINI_PRICE_PER_TOKEN
    model_list = [
        {"model_name": group, "litellm_params": {"model": f"openai/{served}", "api_base": upstream_url, "api_key": "unused"}}
        for group, served in N_MODEL_GROUPS.items()
    ]
    model_list[1]["model_info"] = {"input_cost_per_token": mini_in, "output_cost_per_token": mini_out}
    return {
        "model_list": model_list,
        "litellm_settings": {"callbacks": ["routellm_litellm.hook"], "num_retries": 0},
        "callback_settings": {
            "routellm": {
                "routers": ["toyq"],
                "model_groups": [
                    {"group": "frontier", "name": "gpt-4o"},
                    {"group": "mini", "name": "gpt-4o-mini"},
                    {"group": "local", "name": "llama-3.1-8b", "price": {"input": 0, "output": 0}},
                ],
                "models": {"balanced": {"router": "toyq", "knob": 0.5}, "good-enough": "router-toyq-q0.8"},
            }
        },
    }


def toy_plugin_path(tmp: Path) -> str:
    """A PYTHONPATH on which the ``toyq`` router is an installed plugin (a dist-info with its entry point)."""
    site = tmp / "site"
    info = site / "routellm_toy_quality-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: routellm-toy-quality\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[routellm]\ntoyq = toy_quality_router\n")
    return os.pathsep.join([str(site), str(Path(__file__).parent)])


def start_proxy(tmp: Path, config: dict, upstream: EchoUpstream, env: dict[str, str] | None = None):
    """The real proxy on a free loopback port with ``config``; a context manager yielding a :class:`Proxy`."""
    cli = _litellm_cli()
    if cli is None:
        pytest.skip("litellm[proxy] is not installed: pip install -e 'plugins/routellm_litellm[test]'")
    path = tmp / "proxy.yaml"
    path.write_text(yaml.safe_dump(config))
    port, key = free_port(), "sk-" + secrets.token_hex(24)
    # offline: the bundled model cost map, telemetry vetoed, loopback never sent through an HTTP proxy
    env = {
        "LITELLM_MASTER_KEY": key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY_DISABLED": "True",
        "NO_PROXY": "127.0.0.1,localhost",
        **(env or {}),
    }
    log = tmp / "proxy.log"
    process = ServerProcess(
        [cli, "--config", str(path), "--host", "127.0.0.1", "--port", str(port)],
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
    return contextlib.closing(_Running(process, Proxy(base_url=process.url, api_key=key, upstream=upstream, log=log)))


@dataclass
class _Running:
    process: ServerProcess
    proxy: Proxy

    def close(self) -> None:
        self.process.stop()


@pytest.fixture(scope="session")
def proxy(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("litellm-proxy")
    with EchoUpstream() as upstream, start_proxy(tmp, proxy_config(upstream.base_url), upstream) as running:
        yield running.proxy


@pytest.fixture(scope="session")
def n_model_proxy(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("litellm-n-model-proxy")
    env = {"PYTHONPATH": toy_plugin_path(tmp)}
    with EchoUpstream() as upstream, start_proxy(tmp, n_model_config(upstream.base_url), upstream, env) as running:
        yield running.proxy
