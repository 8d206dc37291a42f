"""The default mf router needs no torch: route, serve and evaluate; paths that need an extra say which one.

Routing runs in a fresh interpreter that must not import torch even where it is installed. The
missing-extra messages are checked with torch and transformers hidden (``sys.modules[name] = None``),
so they are tested in every environment; the ``lean`` nox session runs this file where torch is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

import routellm_core.plugin_api as plugin_api
from routellm_core.cli import main

HARD = "Prove that there are infinitely many primes of the form 4k + 3, with every step justified."
EASY = "Hi!"


def _run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


def _single_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def hide_torch(monkeypatch):
    """Make ``import torch`` / ``import transformers`` fail as if they were not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.setattr(plugin_api, "_EMBEDDERS", {})  # no embedder built earlier with torch


def test_routing_with_the_default_checkpoint_imports_no_torch():
    code = (
        "import json, sys; from routellm_core.cli import main\n"
        f"rc = main(['route', '--router', 'mf', '--threshold', '0.5', '--json', {HARD!r}])\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}))"
    )
    proc = _run_python(code)
    assert proc.returncode == 0, proc.stderr
    route, status = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert status == {"rc": 0, "heavy": []}
    assert route["router"] == "mf" and 0.0 <= route["score"] <= 1.0


def test_evaluate_a_file_benchmark(tmp_path, capsys):
    bench = tmp_path / "bench.jsonl"
    rows = [
        {"prompt": HARD, "big": 1, "small": 0},
        {"prompt": EASY, "big": 1, "small": 1},
        {"prompt": "Derive the Euler-Lagrange equations from the principle of least action.", "big": 1, "small": 0},
        {"prompt": "What colour is the sky?", "big": 1, "small": 1},
    ]
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc = main(
        [
            "eval",
            "--routers",
            "mf",
            "--benchmark",
            f"file:{bench}",
            "--no-plot",
            "--bootstrap",
            "0",
            "--no-cache",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 0
    assert "mf" in capsys.readouterr().out
    assert any((tmp_path / "out").iterdir())


def test_serve_routes_to_an_upstream():
    pytest.importorskip("fastapi", reason="routellm serve needs routellm-core[serve]")
    pytest.importorskip("uvicorn", reason="routellm serve needs routellm-core[serve]")
    from routellm_core.testing import EchoUpstream, serve

    with EchoUpstream() as upstream:
        args = [
            "--routers",
            "mf",
            "--strong-model",
            "openai/big",
            "--weak-model",
            "openai/small",
            "--base-url",
            upstream.base_url,
            "--api-key",
            "x",
            "--no-access-log",
        ]
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
        with serve(args, env=env, ready_timeout=120, poll_interval=0.2, stop_timeout=30) as server:
            base = server.url
            tiers = {}
            for threshold in ("0.0", "1.0"):
                body = json.dumps({"model": f"router-mf-{threshold}", "messages": [{"role": "user", "content": HARD}]})
                req = urllib.request.Request(
                    base + "/v1/chat/completions", data=body.encode(), headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(req, timeout=60) as resp:
                    answer = json.loads(resp.read())
                    score = float(resp.headers["x-routellm-score"])
                assert 0.0 <= score <= 1.0 and HARD in answer["choices"][0]["message"]["content"]
                tiers[threshold] = answer["model"]
            assert "big" in tiers["0.0"] and "small" in tiers["1.0"]  # strong iff score >= threshold


def test_train_without_torch_names_the_extra(tmp_path, capsys, hide_torch):
    data = tmp_path / "scores.json"
    data.write_text(json.dumps([{"question": HARD, "scores": {"big": 1.0, "small": 0.0}}]))
    rc = main(["train", "mf", "--data", str(data), "--output", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    line = _single_error_line(capsys.readouterr().err)
    assert "torch" in line and "pip install 'routellm-mf[train]'" in line
    assert not (tmp_path / "out").exists()


def test_legacy_torch_checkpoint_without_torch_names_the_extra(tmp_path, capsys, hide_torch):
    ckpt = tmp_path / "mf_gpt4_augmented"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"dim": 8, "num_models": 64, "text_dim": 1536, "num_classes": 1}))
    (ckpt / "pytorch_model.bin").write_bytes(b"not read")
    config = tmp_path / "config.yaml"
    config.write_text(f"mf:\n  checkpoint_path: {json.dumps(str(ckpt))}\n")
    rc = main(["route", "--router", "mf", "--threshold", "0.5", "--config", str(config), HARD])
    assert rc == 2
    line = _single_error_line(capsys.readouterr().err)
    assert "pytorch_model.bin" in line and "pip install 'routellm-mf[train]'" in line


def test_torch_embedder_without_torch_names_the_extra(tmp_path, capsys, hide_torch):
    config = tmp_path / "config.yaml"
    config.write_text("mf:\n  embedder: minilm\n")
    rc = main(["route", "--router", "mf", "--threshold", "0.5", "--config", str(config), HARD])
    assert rc == 2
    line = _single_error_line(capsys.readouterr().err)
    assert "pip install 'routellm-minilm[torch]'" in line
