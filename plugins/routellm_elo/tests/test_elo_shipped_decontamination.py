"""The shipped index's training data against the evaluation prompts (needs ../shared/data; skips otherwise)."""

import hashlib
import json

from routellm_elo.index import default_index_dir

from routellm_core.decontamination import eval_prompts_from_dir, normalise
from routellm_core.training_data import load_files


def test_no_shipped_training_prompt_equals_an_evaluation_prompt(shared_data):
    d = default_index_dir()
    summary = json.loads((d / "training_summary.json").read_text())
    files = [shared_data / f["path"] for f in summary["files"]]
    for f, meta in zip(files, summary["files"], strict=True):
        assert hashlib.sha256(f.read_bytes()).hexdigest() == meta["sha256"], f"{f} changed since training"
    data = load_files(files)
    dropped = {item["train_prompt_sha256"] for item in json.loads((d / "decontamination.json").read_text())["items"]}
    kept = [p for p in data.prompts if hashlib.sha256(p.encode("utf-8", "surrogatepass")).hexdigest() not in dropped]
    assert len(kept) == summary["data"]["prompts"]
    eval_sets = eval_prompts_from_dir(shared_data)
    assert len(eval_sets["mmlu"]) == 12560 and len(eval_sets["mt-bench"]) == 240
    eval_norm = {normalise(p) for prompts in eval_sets.values() for p in prompts}
    assert not [p for p in kept if normalise(p) in eval_norm]
