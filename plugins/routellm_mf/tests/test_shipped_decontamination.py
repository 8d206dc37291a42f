"""The shipped checkpoint's training data against the evaluation prompts (needs ../shared/data; skips otherwise)."""

import hashlib
import json

from routellm_mf.checkpoint import default_checkpoint_dir

from routellm_core.decontamination import eval_prompts_from_dir, normalise
from routellm_core.training_data import load_files


def test_eval_prompts_found(shared_data):
    sets = eval_prompts_from_dir(shared_data)
    assert len(sets["mmlu"]) == 12560 and len(sets["gsm8k"]) >= 1319 and len(sets["mt-bench"]) == 240


def test_no_shipped_training_prompt_equals_an_evaluation_prompt(shared_data):
    d = default_checkpoint_dir()
    summary = json.loads((d / "training_summary.json").read_text())
    files = [shared_data / f["path"] for f in summary["files"]]
    for f, meta in zip(files, summary["files"], strict=True):
        assert hashlib.sha256(f.read_bytes()).hexdigest() == meta["sha256"], f"{f} changed since training"
    data = load_files(files)
    dropped = {item["train_prompt_sha256"] for item in json.loads((d / "decontamination.json").read_text())["items"]}
    kept = [p for p in data.prompts if hashlib.sha256(p.encode("utf-8", "surrogatepass")).hexdigest() not in dropped]
    assert len(kept) == summary["data"]["prompts"]
    eval_norm = {normalise(p) for prompts in eval_prompts_from_dir(shared_data).values() for p in prompts}
    assert not [p for p in kept if normalise(p) in eval_norm]
