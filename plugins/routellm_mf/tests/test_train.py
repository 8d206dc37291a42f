"""`routellm train mf` end to end on a tiny synthetic dataset, decontamination, data formats."""

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from routellm_mf.data import TrainingDataError, load_files
from routellm_mf.decontaminate import find_contaminated, normalise

HARD = ["Prove that the sum of the reciprocals of the primes diverges, with full detail.",
        "Derive the Black-Scholes equation from first principles and solve it.",
        "Implement a lock-free concurrent hash map in C++ and argue its correctness.",
        "Compute the homology groups of the real projective plane.",
        "Explain the proof of Fermat's last theorem at a graduate level.",
        "Write a compiler for a small Lisp to x86 assembly."]
EASY = ["What is 2 + 2?", "Say hello.", "What colour is the sky?", "Name a fruit.", "Is water wet?", "Spell cat."]


def write_data(d):
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, p in enumerate(HARD * 3):
        rows.append({"question": f"{p} (variant {i})", "scores": {"big": 1.0, "small": 0.0, "mid": 0.5}})
    for i, p in enumerate(EASY * 3):
        rows.append({"question": f"{p} (variant {i})", "scores": {"big": 1.0, "small": 1.0, "mid": 1.0}})
    rows.append({"question": "What is the capital of France?", "scores": {"big": 1.0, "small": 1.0}})  # contaminated
    (d / "scores.json").write_text(json.dumps(rows))
    battles = [{"prompt": p, "model_a": "big", "model_b": "small", "winner": "model_a"} for p in HARD]
    battles += [{"prompt": p, "model_a": "small", "model_b": "big", "winner": "tie"} for p in EASY]
    (d / "battles.jsonl").write_text("\n".join(json.dumps(b) for b in battles) + "\n")
    with open(d / "bench.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "big", "small", "big|model_response"])
        for p in HARD:
            w.writerow([p + " Explain.", "True", "False", "..."])
        for p in EASY:
            w.writerow([p + " Quickly.", "True", "True", "..."])
    return [d / "scores.json", d / "battles.jsonl", d / "bench.csv"]


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
        w.writerow(["Tom has 3 apples and buys 2 more. How many apples does he have?", "True", "True"])
    (ev / "mt_bench" / "question.jsonl").write_text(json.dumps({"question_id": 1, "turns": ["Write a poem.", "Shorter."]}) + "\n")
    return d


def test_load_formats(tmp_path):
    data = load_files(write_data(tmp_path))
    assert set(data.models) == {"big", "small", "mid"}
    s = data.summary()
    assert s["files"][0]["kind"] == "score matrix (json)" and s["files"][1]["kind"] == "battles"
    assert s["files"][2]["kind"] == "score matrix (csv)" and s["files"][2]["comparisons"] == 12  # '|' column ignored
    labels = np.asarray(data.label)
    assert set(np.unique(labels)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_routerbench_list_prompts_are_unwrapped(tmp_path):
    with open(tmp_path / "rb.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "big", "small"])
        w.writerow([repr(["Example question?\nAnswer:\nA", "Real question?\nAnswer:"]), "1", "0"])
        w.writerow(["['not a list repr' plus text", "1", "1"])
        w.writerow(["[1, 2, 3]", "0", "1"])
    data = load_files([tmp_path / "rb.csv"])
    assert data.prompts == ["Example question?\nAnswer:\nA\n\nReal question?\nAnswer:", "['not a list repr' plus text",
                            "[1, 2, 3]"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_list_repr_round_trip(turns):
    from routellm_mf.data import _unwrap_list_repr

    assert _unwrap_list_repr(repr(turns)) == "\n\n".join(turns)


def test_bad_files(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([{"foo": 1}]))
    with pytest.raises(TrainingDataError):
        load_files([tmp_path / "x.json"])
    (tmp_path / "y.jsonl").write_text(json.dumps({"prompt": "p", "model_a": "a", "model_b": "b", "winner": "??"}))
    with pytest.raises(TrainingDataError, match="winner"):
        load_files([tmp_path / "y.jsonl"])


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


def test_train_cli_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main
    from routellm_core.plugins import get_registry

    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    files = write_data(tmp_path / "data")
    write_eval_dir(tmp_path / "evals")
    out = tmp_path / "out"
    rc = main(["train", "mf", "--data", *map(str, files), "--output", str(out), "--eval-data-dir", str(tmp_path / "evals"),
               "--dim", "8", "--members", "2", "--epochs", "40", "--patience", "40", "--lr", "0.02", "--val-fraction", "0.1",
               "--default-strong", "big", "--default-weak", "small", "--alias", "openai/gpt-4o=big", "--quiet", "--report-texts"])
    assert rc == 0
    for name in ("config.json", "model.safetensors", "training_summary.json", "decontamination.json", "DECONTAMINATION.md",
                 "TRAINING_DATA.md"):
        assert (out / name).is_file(), name
    report = json.loads((out / "decontamination.json").read_text())
    assert [d["train_prompt"] for d in report["items"]] == ["What is the capital of France?"]
    assert report["items"][0]["index"] == 36 and report["items"][0]["reason"] == "exact"
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["data"]["prompts"] == 3 * len(HARD) + 3 * len(EASY) + 2 * (len(HARD) + len(EASY))
    assert all(len(f["sha256"]) == 64 for f in summary["files"])
    assert (tmp_path / "cache" / "embeddings").is_dir()

    router = get_registry().create_router("mf", {"checkpoint": str(out), "strong_model": "openai/gpt-4o"})
    hard, easy = router.score(["Prove the prime number theorem with full rigour.", "What is 1 + 1?"])
    assert hard > easy
    with pytest.raises(Exception, match="known models"):
        get_registry().create_router("mf", {"checkpoint": str(out), "weak_model": "nope"})


def test_train_cli_bad_input(tmp_path, capsys):
    from routellm_core.cli import main

    rc = main(["train", "mf", "--data", str(tmp_path / "missing.json"), "--output", str(tmp_path / "o"), "--quiet"])
    assert rc == 2


def test_tier_pairs(tmp_path):
    files = write_data(tmp_path)
    plain = load_files(files)
    tiered = load_files(files, tier_pairs=True)
    assert "tier:strong" in tiered.models and "tier:weak" in tiered.models and "tier:strong" not in plain.models
    s, w = tiered.models.index("tier:strong"), tiered.models.index("tier:weak")
    pi, a, b, y = tiered.arrays()
    tier = (a == s) & (b == w)
    # at most one virtual comparison per score-matrix prompt (json + csv files; none for battles): the
    # json file's median model "mid" is missing on one prompt, which then gets none
    assert tier.sum() == len([p for p, src in zip(tiered.prompts, tiered.sources, strict=True) if src != "battles"]) - 1
    assert np.all((y[tier] >= 0) & (y[tier] <= 1))
