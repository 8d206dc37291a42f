"""`routellm train mf --quality` end to end on a tiny dataset, with a held-out evaluation file."""

import json

import pytest
from test_train import write_data, write_eval_dir

OZONE = "Which layer of the atmosphere contains the ozone layer that absorbs most ultraviolet light from the sun?"
DEMO = "Which gas do plants take in from the air to make their food?\nA) oxygen\nB) carbon dioxide\nAnswer:\nB"


def test_train_quality_cli_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main
    from routellm_core.plugins import get_registry

    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    files = write_data(tmp_path / "data")
    (tmp_path / "data" / "science.json").write_text(
        json.dumps([{"question": f"Question:{OZONE}\nAnswer:", "scores": {"big": 1.0, "mid": 0.0, "small": 0.0}}])
    )
    held = tmp_path / "held"
    held.mkdir()
    # the same question, few-shot with options: neither equal to the training prompt nor close in embedding
    rows = [{"question": f"{DEMO}\n\n{OZONE}\nA) stratosphere\nB) troposphere\nAnswer:", "scores": {"big": 1, "small": 0}}]
    (held / "test.json").write_text(json.dumps(rows))
    write_eval_dir(tmp_path / "evals")
    out = tmp_path / "out"
    args = ["train", "mf", "--quality", "--data", *map(str, files), str(tmp_path / "data" / "science.json")]
    args += ["--output", str(out), "--eval-data-dir", str(tmp_path / "evals"), "--decontaminate-against", str(held / "test.json")]
    args += ["--dim", "4", "--members", "2", "--epochs", "40", "--patience", "40", "--lr", "0.03", "--quiet"]
    assert main(args) == 0

    config = json.loads((out / "config.json").read_text())
    assert config["head"] == "quality" and config["version"] == 2
    assert config["models"] == ["big", "mid", "small"]  # sorted; battles give no per-model level
    assert (config["default_strong"], config["default_weak"]) == ("big", "small")  # highest and lowest mean score
    report = json.loads((out / "decontamination.json").read_text())
    reasons = {(item["benchmark"], item["reason"]) for item in report["items"]}
    # the held-out question in another wrapper: its question embeds alike (cosine) and has the same words (question)
    assert ("held/test.json", "cosine") in reasons or ("held/test.json", "question") in reasons
    assert any(item["reason"] == "exact" for item in report["items"])  # the core's rule still ran
    assert report["held_out_files"] == ["held/test.json"] and report["dropped"] == len(report["items"])
    assert "Held-out evaluation files" in (out / "DECONTAMINATION.md").read_text()
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["decontamination"]["held_out_files"] == ["held/test.json"]
    assert "--quality" in summary["command"] and "--decontaminate-against" in summary["command"]
    assert summary["training"]["hyperparameters"]["weighting"] == "cell"
    assert "Held-out evaluation files" in (out / "TRAINING_DATA.md").read_text()

    router = get_registry().create_router("mf", {"checkpoint": str(out)})
    assert router.quality_models == ("big", "mid", "small")
    q = router.predict_quality(["Prove the prime number theorem with full rigour.", "What is 1 + 1?"], ["big", "small"])
    assert q.shape == (2, 2)
    assert q[0, 0] > q[0, 1]  # hard prompt: big is better
    assert q[1, 1] > q[0, 1]  # small does better on the easy prompt
    assert router.score(["What is 1 + 1?"]).shape == (1,)  # two-model use: the default pair


def test_quality_rejects_pairwise_only_options(tmp_path, capsys):
    pytest.importorskip("torch", reason="training needs routellm-mf[train]")
    from routellm_core.cli import main

    files = write_data(tmp_path / "data")
    rc = main(["train", "mf", "--quality", "--tier-pairs", "--data", str(files[0]), "--output", str(tmp_path / "o"), "--quiet"])
    assert rc == 2 and "--tier-pairs and --task-effects are for pairwise training" in capsys.readouterr().err
    rc = main(
        ["train", "mf", "--data", str(files[0]), "--output", str(tmp_path / "o"), "--quiet"]
        + ["--decontaminate-against", str(tmp_path / "missing.json"), "--no-decontaminate"]
    )
    assert rc == 2 and "no such file" in capsys.readouterr().err
