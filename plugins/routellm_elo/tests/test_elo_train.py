"""`routellm train sw_ranking` end to end on tiny synthetic files: formats, decontamination, determinism."""

import csv
import json

import numpy as np
import pytest
from elo_helpers import needs_minilm
from routellm_elo.train import merge_models

from routellm_core.cli import main
from routellm_core.plugins import get_registry

HARD = [
    "Prove that the sum of the reciprocals of the primes diverges, with full detail.",
    "Derive the Black-Scholes equation from first principles and solve it.",
    "Implement a lock-free concurrent hash map in C++ and argue its correctness.",
    "Compute the homology groups of the real projective plane.",
]
EASY = ["What is 2 + 2?", "Say hello.", "What colour is the sky?", "Name a fruit."]


def write_data(d):
    """The three input kinds: a JSON score matrix, Arena battles (JSONL) and a CSV score matrix."""
    d.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"{p} (variant {i})", "scores": {"big": 1.0, "mid": 0.5, "small": 0.0}} for i, p in enumerate(HARD * 2)]
    rows += [{"question": f"{p} (variant {i})", "scores": {"big": 1.0, "mid": 1.0, "small": 1.0}} for i, p in enumerate(EASY * 2)]
    rows.append({"question": "What is the capital of France?", "scores": {"big": 1.0, "small": 1.0}})  # an evaluation prompt
    (d / "scores.json").write_text(json.dumps(rows))
    battles = [{"prompt": p, "model_a": "Big-Model", "model_b": "small", "winner": "model_a"} for p in HARD]
    battles += [{"prompt": p, "model_a": "small", "model_b": "Big-Model", "winner": "tie (bothbad)"} for p in EASY]
    battles.append({"prompt": HARD[0], "model_a": "small", "model_b": "mid", "winner": "model_b"})
    (d / "battles.jsonl").write_text("".join(json.dumps(b) + "\n" for b in battles))
    with open(d / "bench.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "big", "small", "tiny", "big|model_response"])
        for p in HARD:
            w.writerow([p + " Explain.", "True", "False", "False", "..."])
        for p in EASY:
            w.writerow([p + " Quickly.", "True", "True", "False", "..."])
    return [d / "scores.json", d / "battles.jsonl", d / "bench.csv"]


def write_eval_dir(d):
    ev = d / "routellm-evals"
    (ev / "mmlu" / "responses").mkdir(parents=True)
    (ev / "mt_bench").mkdir(parents=True)
    with open(ev / "mmlu" / "responses" / "mmlu_geo.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"])
        w.writerow(["what is the   CAPITAL of france?", "True", "True"])
    (ev / "mt_bench" / "question.jsonl").write_text(json.dumps({"question_id": 1, "turns": ["Write a poem.", "Shorter."]}) + "\n")
    return d


def test_merge_models():
    models, a, b = merge_models(["x", "X-alias", "y"], np.array([0, 1]), np.array([2, 2]), {"X-alias": "x"})
    assert models == ["x", "y"] and a.tolist() == [0, 0] and b.tolist() == [1, 1]


@needs_minilm
def test_train_cli_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    files = write_data(tmp_path / "data")
    write_eval_dir(tmp_path / "evals")
    argv = [
        "train",
        "sw_ranking",
        "--data",
        *map(str, files),
        "--eval-data-dir",
        str(tmp_path / "evals"),
        "--num-tiers",
        "3",
        "--sharpness",
        "8",
        "--min-similarity",
        "0.2",
        "--default-strong",
        "big",
        "--default-weak",
        "small",
        "--alias",
        "Big-Model=big",
        "--quiet",
        "--report-texts",
    ]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    for name in (
        "config.json",
        "index.safetensors",
        "training_summary.json",
        "decontamination.json",
        "DECONTAMINATION.md",
        "TRAINING_DATA.md",
    ):
        assert (out / name).is_file(), name
    report = json.loads((out / "decontamination.json").read_text())
    assert [d["train_prompt"] for d in report["items"]] == ["What is the capital of France?"]
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["data"]["prompts"] == 2 * len(HARD) + 2 * len(EASY) + 2 * (len(HARD) + len(EASY))
    cfg = json.loads((out / "config.json").read_text())
    assert "Big-Model" not in cfg["models"] and cfg["aliases"] == {"Big-Model": "big"}
    assert cfg["model_tiers"]["big"] == 0 and cfg["model_tiers"]["tiny"] == 2
    assert (tmp_path / "cache" / "embeddings").is_dir()
    # deterministic: a second run writes the same index
    assert main([*argv, "--output", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "index.safetensors").read_bytes() == (out / "index.safetensors").read_bytes()
    assert (tmp_path / "again" / "config.json").read_text() == (out / "config.json").read_text()

    router = get_registry().create_router("sw_ranking", {"index": str(out), "strong_model": "Big-Model"})
    hard, easy = router.score(["Prove the prime number theorem with full rigour.", "What is 1 + 1?"])
    assert hard > easy
    with pytest.raises(Exception, match="known models"):
        get_registry().create_router("sw_ranking", {"index": str(out), "weak_model": "nope"})


def test_train_cli_bad_input(tmp_path, capsys):
    assert (
        main(["train", "sw_ranking", "--data", str(tmp_path / "missing.json"), "--output", str(tmp_path / "o"), "--quiet"]) != 0
    )
    (tmp_path / "b.jsonl").write_text(json.dumps({"prompt": "p", "model_a": "a", "model_b": "b", "winner": "??"}) + "\n")
    assert main(["train", "sw_ranking", "--data", str(tmp_path / "b.jsonl"), "--output", str(tmp_path / "o"), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "b.jsonl: line 1" in err and "??" in err
