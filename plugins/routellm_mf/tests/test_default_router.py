"""The shipped default checkpoint with the local MiniLM embedder: zero-config construction and the router contract."""

import importlib.util
import json

import numpy as np
import pytest
from routellm_mf.checkpoint import default_checkpoint_dir, load_checkpoint

from routellm_core.plugins import get_registry
from routellm_core.testing import RouterContractTests


def _embedder_installed() -> bool:
    try:
        from routellm_minilm.encoder import l3_onnx_file

        l3_onnx_file()
    except Exception:
        return False
    return importlib.util.find_spec("onnxruntime") is not None


needs_minilm = pytest.mark.skipif(not _embedder_installed(), reason="routellm-minilm (minilm-l3 embedder) is not installed")


def test_default_checkpoint_files():
    d = default_checkpoint_dir()
    ck = load_checkpoint(d)
    assert ck.default_strong in ck.models and ck.default_weak in ck.models
    assert ck.embedder["name"] == "minilm-l3" and ck.text_dim == 384
    assert sum(f.stat().st_size for f in d.iterdir()) < 5_000_000
    for name in ("DATA_CARD.md", "DECONTAMINATION.md", "decontamination.json", "training_summary.json"):
        assert (d / name).is_file(), name
    # the shipped report identifies dropped prompts by digest only: no data is copied into the package
    report = json.loads((d / "decontamination.json").read_text())
    assert report["dropped"] == len(report["items"]) > 0
    assert all("train_prompt" not in item and len(item["train_prompt_sha256"]) == 64 for item in report["items"])


def test_registered():
    reg = get_registry()
    assert "mf" in reg.names("routers") and "mf" in reg.names("trainers")


@needs_minilm
class TestDefaultRouterContract(RouterContractTests):
    _router = None

    def make_router(self):
        # zero config, as `routellm serve --routers mf` builds it
        return get_registry().create_router("mf", {})


@needs_minilm
def test_default_router_aliases_and_unknown_model():
    reg = get_registry()
    r = reg.create_router(
        "mf",
        {
            "strong_model": "openai/gpt-4o",
            "weak_model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
            "model_aliases": {"openai/gpt-4o": "gpt-4-1106-preview"},
        },
    )
    assert r.describe()["weak_model"] == "mistralai/mixtral-8x7b-chat"
    s = r.score(["hi", "Prove that there are infinitely many primes."])
    assert s.shape == (2,) and np.all((s >= 0) & (s <= 1))
    with pytest.raises(Exception) as err:
        reg.create_router("mf", {"strong_model": "openai/gpt-4o"})
    assert "gpt-4-1106-preview" in str(err.value) and "known models" in str(err.value)


@needs_minilm
def test_default_router_averages_default_pairs():
    ck = load_checkpoint(default_checkpoint_dir())
    r = get_registry().create_router("mf", {})
    if len(ck.default_pairs) > 1:
        assert r.describe()["pairs"] == ck.default_pairs
    single = get_registry().create_router("mf", {"strong_model": ck.default_strong, "weak_model": ck.default_weak})
    assert "pairs" not in single.describe()
