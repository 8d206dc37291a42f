"""The shipped N-model checkpoint (``default_nmodel/``): files, models, data card, decontamination, predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from routellm_mf.checkpoint import default_quality_checkpoint_dir, load_checkpoint
from test_default_router import needs_minilm

from routellm_core.errors import RoutingError
from routellm_core.plugins import get_registry
from routellm_core.testing.shipped import check_shipped_decontamination

ROUTERBENCH = (
    "WizardLM/WizardLM-13B-V1.2",
    "claude-instant-v1",
    "claude-v1",
    "claude-v2",
    "gpt-3.5-turbo-1106",
    "gpt-4-1106-preview",
    "meta/code-llama-instruct-34b-chat",
    "meta/llama-2-70b-chat",
    "mistralai/mistral-7b-chat",
    "mistralai/mixtral-8x7b-chat",
    "zero-one-ai/Yi-34B-Chat",
)
DCROUTER = (
    "qwen2.5-7b-instruct",
    "llama3-chatqa-1.5-8b",
    "llama-3.1-nemotron-51b-instruct",
    "llama3-chatqa-1.5-70b",
    "mistral-7b-instruct-v0.3",
    "gemma-2-9b-it",
    "codegemma-7b",
    "llama-3.1-8b-instruct",
    "llama-3.3-nemotron-super-49b-v1",
)
#: the N-model evaluation files: never trained on
EVALUATION_FILES = (
    "train/routerbench-zs/arc_challenge_test.csv",
    "train/routerbench-zs/mbpp_test.csv",
    "train/routerbench-zs/winograde_test.csv",
    "train/llmrouter-dcrouter/test.json",
)
#: files without a licence that allows shipping a model trained on them (see the data README), and evaluation data
NOT_TRAINED_ON = ("routerdc-split2", "routellm-evals", *EVALUATION_FILES)


def test_files_and_size():
    d = default_quality_checkpoint_dir()
    for name in ("config.json", "model.safetensors", "DATA_CARD.md", "TRAINING_DATA.md", "training_summary.json"):
        assert (d / name).is_file(), name
    for name in ("DECONTAMINATION.md", "decontamination.json"):
        assert (d / name).is_file(), name
    assert sum(f.stat().st_size for f in d.iterdir()) < 2_000_000


def test_covers_every_evaluation_model():
    ck = load_checkpoint(default_quality_checkpoint_dir())
    assert ck.has_quality and ck.embedder == {"name": "minilm-l3", "kwargs": {"head_tokens": 32}}
    missing = [m for m in (*ROUTERBENCH, *DCROUTER) if m not in ck.models]
    assert not missing
    assert ck.default_strong == "gpt-4-1106-preview" and ck.default_weak == "mistralai/mixtral-8x7b-chat"


def test_trained_on_none_of_the_evaluation_files():
    d = default_quality_checkpoint_dir()
    summary = json.loads((d / "training_summary.json").read_text())
    trained = [f["path"] for f in summary["files"]]
    assert trained and not [f for f in trained if any(x in f for x in NOT_TRAINED_ON)]
    assert "--quality" in summary["command"]
    card = (d / "DATA_CARD.md").read_text()
    table = card.split("## Training data", 1)[1].split("\n## ", 1)[0]
    for f in trained:  # the data card lists exactly the training files
        assert f.removeprefix("train/") in table or f in table, f
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows and not [r for r in rows if any(x.removeprefix("train/") in r.split("|")[1] for x in NOT_TRAINED_ON)]
    for f in EVALUATION_FILES:  # named as held out, with the reason
        assert f.removeprefix("train/") in card


def test_decontamination_is_recorded():
    d = default_quality_checkpoint_dir()
    report = json.loads((d / "decontamination.json").read_text())
    assert sorted(report["held_out_files"]) == sorted(EVALUATION_FILES)
    assert report["dropped"] == len(report["items"]) > 0
    assert all("train_prompt" not in item and len(item["train_prompt_sha256"]) == 64 for item in report["items"])
    assert {item["reason"] for item in report["items"]} <= {"exact", "cosine", "question"}
    text = (d / "DECONTAMINATION.md").read_text()
    assert "Held-out evaluation files" in text
    summary = json.loads((d / "training_summary.json").read_text())
    assert summary["decontamination"]["dropped"] == report["dropped"]


def test_no_kept_training_prompt_equals_an_evaluation_prompt(shared_data):
    summary = check_shipped_decontamination(default_quality_checkpoint_dir(), shared_data)
    from routellm_mf.heldout import normalise, read_eval_prompts

    evaluation = {normalise(p) for f in EVALUATION_FILES for p in read_eval_prompts(shared_data / f)}
    from routellm_core.hashing import sha256_text
    from routellm_core.training_data import load_files

    d = default_quality_checkpoint_dir()
    dropped = {i["train_prompt_sha256"] for i in json.loads((d / "decontamination.json").read_text())["items"]}
    data = load_files([shared_data / f["path"] for f in summary["files"]])
    kept = [p for p in data.prompts if sha256_text(p) not in dropped]
    assert not [p for p in kept if normalise(p) in evaluation]


@needs_minilm
def test_default_router_predicts_for_all_evaluation_models():
    router = get_registry().create_router("mf", {})
    prompts = [
        "Which of these is an example of condensation?\nA) dew on grass\nB) a puddle drying",
        "Write a python function to reverse a string.",
        "hi",
    ]
    models = [*ROUTERBENCH, *DCROUTER]
    q = router.predict_quality(prompts, models)
    assert q.shape == (3, 20) and np.all(np.isfinite(q)) and np.all((q >= 0) & (q <= 1))
    single = np.concatenate([router.predict_quality([p], models) for p in prompts])
    np.testing.assert_allclose(q, single, rtol=1e-9, atol=1e-12)
    assert router.resolve_quality_model("openai/gpt-4-1106-preview") == "gpt-4-1106-preview"
    with pytest.raises(RoutingError, match="gpt-4-1106-preview"):
        router.predict_quality(["hi"], ["not-a-model"])
    assert "quality_checkpoint" in router.describe()
