"""`routellm train mf` end to end on a tiny synthetic dataset."""

import csv
import json

import pytest

HARD = [
    "Prove that the sum of the reciprocals of the primes diverges, with full detail.",
    "Derive the Black-Scholes equation from first principles and solve it.",
    "Implement a lock-free concurrent hash map in C++ and argue its correctness.",
    "Compute the homology groups of the real projective plane.",
    "Explain the proof of Fermat's last theorem at a graduate level.",
    "Write a compiler for a small Lisp to x86 assembly.",
]
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


def test_train_cli_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main
    from routellm_core.plugins import get_registry

    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    files = write_data(tmp_path / "data")
    write_eval_dir(tmp_path / "evals")
    out = tmp_path / "out"
    rc = main(
        [
            "train",
            "mf",
            "--data",
            *map(str, files),
            "--output",
            str(out),
            "--eval-data-dir",
            str(tmp_path / "evals"),
            "--dim",
            "8",
            "--members",
            "2",
            "--epochs",
            "40",
            "--patience",
            "40",
            "--lr",
            "0.02",
            "--val-fraction",
            "0.1",
            "--default-strong",
            "big",
            "--default-weak",
            "small",
            "--alias",
            "openai/gpt-4o=big",
            "--quiet",
            "--report-texts",
        ]
    )
    assert rc == 0
    for name in (
        "config.json",
        "model.safetensors",
        "training_summary.json",
        "decontamination.json",
        "DECONTAMINATION.md",
        "TRAINING_DATA.md",
    ):
        assert (out / name).is_file(), name
    report = json.loads((out / "decontamination.json").read_text())
    assert [d["train_prompt"] for d in report["items"]] == ["What is the capital of France?"]
    assert report["items"][0]["index"] == 36 and report["items"][0]["reason"] == "exact"
    # the built-in benchmarks cannot load from this partial directory: recorded in the report, not silently dropped
    assert {"mmlu", "gsm8k", "mt-bench"} <= set(report["skipped_benchmarks"])
    assert "Not checked against" in (out / "DECONTAMINATION.md").read_text()
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
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main

    rc = main(["train", "mf", "--data", str(tmp_path / "missing.json"), "--output", str(tmp_path / "o"), "--quiet"])
    assert rc == 2
    assert "no such file" in capsys.readouterr().err
    files = write_data(tmp_path / "data")
    rc = main(["train", "mf", "--data", str(files[0]), "--output", str(tmp_path / "o"), "--quiet", "--alias", "nonsense"])
    assert rc == 2 and "--alias wants DEPLOYMENT=MODEL" in capsys.readouterr().err
    rc = main(["train", "mf", "--data", str(files[0]), "--output", str(tmp_path / "o"), "--quiet", "--lr", "-0.1"])
    assert rc == 2 and "--lr must be a finite number >= 0, got -0.1" in capsys.readouterr().err


def test_train_cli_without_evaluation_prompts_fails(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main
    from routellm_core.embedders import Embedder

    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ROUTELLM_DATA_DIR", raising=False)
    monkeypatch.delenv("ROUTELLM_DOWNLOAD", raising=False)
    files = write_data(tmp_path / "data")
    (tmp_path / "empty").mkdir()

    class Tiny(Embedder):
        name, dimension = "tiny", 4

        def _embed_batch(self, texts):
            return [[len(t), 1.0, 0.0, 0.0] for t in texts]

    from routellm_core.plugins import get_registry

    monkeypatch.setattr(get_registry().get("embedders", "minilm-l3"), "factory", lambda config=None: Tiny())
    rc = main(
        [
            "train",
            "mf",
            "--data",
            *map(str, files),
            "--output",
            str(tmp_path / "o"),
            "--quiet",
            "--eval-data-dir",
            str(tmp_path / "empty"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "no evaluation prompts to decontaminate against" in err
    assert "warning: not decontaminating against benchmark 'mmlu'" in err
