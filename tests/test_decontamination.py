"""Decontamination: exact/normalised and embedding-cosine matches, benchmarks that fail to load, the report."""

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core import decontamination as D
from routellm_core.decontamination import (
    DecontaminationError,
    EvalPrompts,
    collect_eval_prompts,
    decontaminate,
    eval_prompts_from_dir,
    eval_prompts_from_registry,
    find_contaminated,
    normalise,
)
from routellm_core.errors import ConfigError
from routellm_core.training_data import Comparisons


def test_decontamination_exact_and_cosine():
    train = ["What is the capital of France?", "totally unrelated text about cooking pasta", "near duplicate"]
    emb = np.eye(3, 4, dtype=np.float32)
    emb[2] = [0.0, 0.0, 0.0, 1.0]
    eval_sets = {"mmlu": ["WHAT is the capital   of France?"], "gsm8k": ["other"]}
    eval_emb = {"mmlu": np.asarray([[0, 0, 0.6, 0.8]], np.float32), "gsm8k": np.asarray([[0, 0, 0.1, 0.995]], np.float32)}
    keep, report = find_contaminated(train, ["s"] * 3, emb, eval_sets, eval_emb, threshold=0.95)
    assert keep.tolist() == [False, True, False]
    reasons = {d["train_prompt"]: (d["reason"], d["benchmark"]) for d in report.dropped}
    assert reasons == {"What is the capital of France?": ("exact", "mmlu"), "near duplicate": ("cosine", "gsm8k")}
    assert "Dropped: **2**" in report.markdown()


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=40))
def test_normalise_idempotent(text):
    assert normalise(normalise(text)) == normalise(text)
    assert normalise(text.upper()) == normalise(text.lower()) or normalise(text.upper()) == normalise(text.upper().lower())


def write_eval_dir(d):
    ev = d / "routellm-evals"
    (ev / "mmlu" / "responses").mkdir(parents=True)
    (ev / "gsm8k").mkdir(parents=True)
    (ev / "mt_bench").mkdir(parents=True)
    with open(ev / "mmlu" / "responses" / "mmlu_geo.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"])
        w.writerow(["what is the   CAPITAL of france?", "True", "True"])
    with open(ev / "gsm8k" / "gsm8k_responses.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"])
        w.writerow(["Tom has 3 apples. How many?", "True", "True"])
    (ev / "gsm8k" / "test.jsonl").write_text(json.dumps({"question": "A train leaves at noon.", "answer": "1"}) + "\n")
    (ev / "mt_bench" / "question.jsonl").write_text(json.dumps({"question_id": 1, "turns": ["Write a poem.", "Shorter."]}) + "\n")
    return d


def test_eval_prompts_from_dir(tmp_path):
    sets = eval_prompts_from_dir(write_eval_dir(tmp_path))
    assert sets == {
        "mmlu": ["what is the   CAPITAL of france?"],
        "gsm8k": ["Tom has 3 apples. How many?", "A train leaves at noon."],
        "mt-bench": ["Write a poem.", "Shorter.", "Write a poem.\nShorter."],
    }
    assert eval_prompts_from_dir(tmp_path / "routellm-evals") == sets
    assert eval_prompts_from_dir(tmp_path / "empty") == {}


def test_eval_prompts_from_dir_bad_file_is_an_error(tmp_path):
    write_eval_dir(tmp_path)
    (tmp_path / "routellm-evals" / "mt_bench" / "question.jsonl").write_text('{"turns": "not a list"}\n')
    with pytest.raises(DecontaminationError, match=r"question.jsonl: line 1: 'turns' must be a list"):
        eval_prompts_from_dir(tmp_path)


def test_registered_benchmarks_that_fail_are_recorded_or_raised(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTELLM_DATA_DIR", raising=False)
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ROUTELLM_DOWNLOAD", raising=False)
    # no data anywhere: every built-in benchmark fails to load, and says so
    evals = eval_prompts_from_registry(tmp_path / "nothing")
    assert evals.sets == {} and not evals
    assert {"mmlu", "gsm8k", "mt-bench"} <= set(evals.skipped)
    assert "data not found" in evals.skipped["mmlu"]
    with pytest.raises(DecontaminationError, match="could not be loaded for decontamination"):
        eval_prompts_from_registry(tmp_path / "nothing", strict=True)
    # with a directory: its files are used, and the registered benchmarks that cannot load are still reported
    evals = collect_eval_prompts(write_eval_dir(tmp_path / "ev"))
    assert {"mmlu", "gsm8k", "mt-bench"} <= set(evals.sets)
    assert "mmlu" in evals.skipped  # no contaminated_prompts.jsonl in this directory
    keep, report = find_contaminated(
        ["x"], ["s"], np.ones((1, 2), np.float32) / np.sqrt(2), evals.sets, {}, skipped=evals.skipped
    )
    assert report.to_json()["skipped_benchmarks"] == evals.skipped
    assert "Not checked against" in report.markdown() and "mmlu" in report.markdown()


def test_unexpected_benchmark_errors_propagate(monkeypatch):
    from routellm_core.plugins import get_registry

    registry = get_registry()
    reg = registry.get("benchmarks", "gsm8k")

    def broken(data_dir=None):
        raise KeyError("a bug, not missing data")

    monkeypatch.setattr(reg, "factory", broken)
    with pytest.raises(KeyError, match="a bug"):
        eval_prompts_from_registry(None)


def test_decontaminate_subsets_data_and_embeddings(tmp_path):
    data = Comparisons()
    for i, text in enumerate(["What is the capital of France?", "cook pasta", "near"]):
        p = data.add_prompt(text, "src")
        data.add(p, data.model_id("a"), data.model_id("b"), i / 2)
    emb = np.asarray([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    evals = EvalPrompts(sets={"bench": ["what is the capital of  france?", "close"]}, skipped={"other": "no data"})
    table = {"what is the capital of  france?": [1, 0, 0], "close": [0, 0.1, 0.995]}
    kept, kept_emb, report = decontaminate(data, emb, evals, lambda texts: np.asarray([table[t] for t in texts], np.float32))
    assert kept.prompts == ["cook pasta"] and kept_emb.tolist() == [[0, 1, 0]] and kept.label == [0.5]
    assert report.dropped_count == 2 and report.skipped == {"other": "no data"}
    j = report.write(tmp_path)
    assert json.loads((tmp_path / "decontamination.json").read_text()) == j
    assert "train_prompt" not in j["items"][0] and len(j["items"][0]["train_prompt_sha256"]) == 64  # texts=False by default
    assert (tmp_path / "DECONTAMINATION.md").read_text().startswith("# Decontamination report")
    with pytest.raises(DecontaminationError, match=r"no evaluation prompts .*skipped: other: no data"):
        decontaminate(data, emb, EvalPrompts(skipped={"other": "no data"}), lambda t: np.zeros((len(t), 3)))


def test_error_types():
    assert issubclass(DecontaminationError, D.RoutellmError) and not issubclass(DecontaminationError, ConfigError)
