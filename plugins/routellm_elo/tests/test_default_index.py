"""The shipped default index with the local MiniLM embedder: files, zero-config construction and the router contract."""

import json

import numpy as np
import pytest
from elo_helpers import needs_minilm
from routellm_elo.index import default_index_dir, load_index

from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import RouterContractTests


def test_default_index_files():
    d = default_index_dir()
    index = load_index(d)
    assert index.default_strong in index.models and index.default_weak in index.models
    assert index.tier_of(index.resolve(index.default_strong)) < index.tier_of(index.resolve(index.default_weak))
    assert index.embedder["name"] == "minilm-l3" and index.input_dim == 384
    assert sum(f.stat().st_size for f in d.iterdir()) < 5_000_000
    for name in ("DATA_CARD.md", "DECONTAMINATION.md", "decontamination.json", "training_summary.json", "TRAINING_DATA.md"):
        assert (d / name).is_file(), name
    # the shipped report identifies dropped prompts by digest only: no data is copied into the package
    report = json.loads((d / "decontamination.json").read_text())
    assert report["dropped"] == len(report["items"]) > 0
    assert all("train_prompt" not in item and len(item["train_prompt_sha256"]) == 64 for item in report["items"])
    summary = json.loads((d / "training_summary.json").read_text())
    assert summary["data"]["prompts"] == len(index.embeddings)


def test_registered():
    reg = get_registry()
    assert "sw_ranking" in reg.names("routers") and "sw_ranking" in reg.names("trainers")


@needs_minilm
class TestDefaultRouterContract(RouterContractTests):
    def make_router(self):
        # zero config, as `routellm serve --routers sw_ranking` builds it
        return get_registry().create_router("sw_ranking", {})


@needs_minilm
def test_default_router_aliases_and_unknown_model():
    reg = get_registry()
    r = reg.create_router(
        "sw_ranking",
        {
            "strong_model": "openai/gpt-4o",
            "weak_model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
            "model_aliases": {"openai/gpt-4o": "gpt-4-1106-preview"},
        },
    )
    assert r.describe()["strong_model"] == "gpt-4-1106-preview"
    s = r.score(["hi", "Prove that there are infinitely many primes."])
    assert s.shape == (2,) and np.all((s > 0) & (s < 1))
    with pytest.raises(ConfigError) as err:
        reg.create_router("sw_ranking", {"strong_model": "openai/gpt-4o"})
    assert "gpt-4-1106-preview" in str(err.value) and "known models" in str(err.value)
