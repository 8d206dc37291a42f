"""``routellm train bert``: a tiny run end to end through the CLI, its outputs, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bert_helpers import EASY, HARD, STRONG, WEAK, write_score_matrix
from routellm_bert.plugin import BertConfig
from routellm_bert.router import BertRouter
from routellm_bert.train import make_targets, routing_pairs, soft_targets

from routellm_core.cli import main
from routellm_core.training_data import TIER_STRONG, TIER_WEAK, load_files

TINY = ["--epochs", "2", "--lr", "1e-3", "--no-decontaminate", "--quiet"]


def test_cli_trains_a_checkpoint_the_router_loads(tmp_path):
    data = write_score_matrix(tmp_path / "scores.json")
    out = tmp_path / "ckpt"
    assert main(["train", "bert", "--data", str(data), "--output", str(out), *TINY]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"routellm_bert.json", "trained.safetensors", "training_summary.json", "TRAINING_DATA.md"} <= names
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["labels"]["prompts"] == len(HARD) + len(EASY)
    assert summary["command"].startswith("routellm train bert --data")
    router = BertRouter(BertConfig(checkpoint=str(out)))
    assert router.score(HARD[:4]).mean() > router.score(EASY[:4]).mean()
    again = tmp_path / "again"
    assert main(["train", "bert", "--data", str(data), "--output", str(again), *TINY]) == 0
    assert (again / "trained.safetensors").read_bytes() == (out / "trained.safetensors").read_bytes()


def test_cli_labels_prompts_without_the_pair_by_difficulty(tmp_path):
    data = write_score_matrix(tmp_path / "scores.json")
    other = tmp_path / "other.json"  # no routing pair: labelled from its own models' scores
    other.write_text(json.dumps([{"question": p, "scores": {"llama": 0.0, "phi": 0.0}} for p in HARD[:3]]))
    out = tmp_path / "ckpt"
    args = ["train", "bert", "--data", str(data), str(other), "--output", str(out), "--matrix-label", "difficulty", *TINY]
    assert main(args) == 0
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["labels"]["routing_pair"] == len(HARD) + len(EASY)
    assert summary["labels"]["score_matrix"] == 3
    assert "--matrix-label difficulty" in summary["command"]


@pytest.mark.parametrize("scale", ["log", "linear"])
def test_cli_length_feature_learns_that_longer_prompts_need_the_strong_model(tmp_path, scale):
    long_hard = [p + " Justify every step and cite the lemma used." * 30 for p in HARD]  # far beyond 128 word pieces
    rows = [{"question": p, "scores": {STRONG: 1.0, WEAK: 0.0}} for p in long_hard]
    rows += [{"question": p, "scores": {STRONG: 1.0, WEAK: 1.0}} for p in EASY]
    data = tmp_path / "scores.json"
    data.write_text(json.dumps(rows))
    out = tmp_path / "ckpt"
    args = ["--length-feature", "--length-scale", scale, "--length-lr", "0.05", *TINY]
    assert main(["train", "bert", "--data", str(data), "--output", str(out), *args]) == 0
    summary = json.loads((out / "training_summary.json").read_text())
    assert "--length-feature" in summary["command"] and "--length-lr 0.05" in summary["command"]
    spec = json.loads((out / "routellm_bert.json").read_text())
    assert spec["length_feature"] is True and spec["length_scale"] == scale
    assert f"--length-scale {scale}" in summary["command"]
    router = BertRouter(BertConfig(checkpoint=str(out)))
    assert router.describe()["length_feature"] is True
    weight = router.classifier.model.length_head.weight.detach().numpy()[:, 0]
    assert weight[0] > 0 > weight[1]  # (strong wins, tie, weak wins): longer leans to the strong model, not a tie
    prompts = [long_hard[0], EASY[0], long_hard[1] + " more" * 50]
    np.testing.assert_allclose(router.score(prompts), np.concatenate([router.score([t]) for t in prompts]), rtol=1e-5, atol=1e-6)


def test_unknown_routing_model_lists_the_known_ones(tmp_path, capsys):
    data = write_score_matrix(tmp_path / "scores.json")
    code = main(["train", "bert", "--data", str(data), "--output", str(tmp_path / "o"), "--strong-model", "gpt-5", *TINY])
    assert code == 2
    err = capsys.readouterr().err
    assert "'gpt-5' is not a model of the training data" in err and STRONG in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--max-length", "16", "--head-tokens", "15"], "head_tokens"),
        (["--alias", "nonsense"], "--alias wants NAME=MODEL"),
        (["--val-fraction", "1.5"], "--val-fraction"),
        (["--lr", "-1"], "--lr must be a finite number >= 0"),
        (["--length-feature", "--length-lr", "-0.1"], "--length-lr must be a finite number >= 0"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number >= 0"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, extra, message):
    data = write_score_matrix(tmp_path / "scores.json")
    assert main(["train", "bert", "--data", str(data), "--output", str(tmp_path / "o"), *TINY, *extra]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["train", "bert", "--data", str(tmp_path / "nope.json"), "--output", str(tmp_path / "o"), *TINY]) == 2
    assert "no such file" in capsys.readouterr().err


def test_soft_targets_map_outcomes_to_three_labels():
    np.testing.assert_allclose(soft_targets(np.array([1.0, 0.5, 0.0, 0.75])), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]])


def test_targets_prefer_the_routing_pair_then_the_tier_pair(tmp_path):
    path = tmp_path / "m.json"
    rows = [
        {"question": "pair", "scores": {STRONG: 1.0, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0.0, "llama": 0.5}},
        {"question": "tier only", "scores": {STRONG: 1.0, "llama": 0.0, "phi": 0.5}},  # tier: STRONG vs llama
    ]
    path.write_text(json.dumps(rows))
    data = load_files([path], tier_pairs=True)
    pairs = routing_pairs(STRONG, WEAK, {"mistralai/Mixtral-8x7B-Instruct-v0.1": WEAK}, tier=True)
    assert pairs[-1] == (TIER_STRONG, TIER_WEAK)
    labelled = make_targets(data, pairs)
    rows = zip(labelled.prompts, labelled.targets, labelled.from_pair, strict=True)
    got = {data.prompts[p]: (t.tolist(), bool(r)) for p, t, r in rows}
    assert got["pair"] == ([1.0, 0.0, 0.0], True)
    assert got["tier only"] == ([1.0, 0.0, 0.0], False)
    only = make_targets(data, routing_pairs(STRONG, WEAK, {"mistralai/Mixtral-8x7B-Instruct-v0.1": WEAK}, tier=False))
    assert [data.prompts[p] for p in only.prompts] == ["pair"]


def test_targets_of_prompts_without_the_pair_can_come_from_difficulty(tmp_path):
    path = tmp_path / "m.json"
    rows = [
        {"question": "pair", "scores": {STRONG: 1.0, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0.0, "llama": 0.5}},
        {"question": "hard for all", "scores": {"llama": 0.0, "phi": 0.0}},
        {"question": "easy for one", "scores": {"llama": 1.0, "phi": 0.0}},
    ]
    path.write_text(json.dumps(rows))
    data = load_files([path])
    pairs = routing_pairs(STRONG, WEAK, {"mistralai/Mixtral-8x7B-Instruct-v0.1": WEAK}, tier=False)
    labelled = make_targets(data, pairs, "difficulty")
    rows = zip(labelled.prompts, labelled.targets, labelled.from_pair, strict=True)
    got = {data.prompts[p]: (t.tolist(), bool(r)) for p, t, r in rows}
    assert got == {
        "pair": ([1.0, 0.0, 0.0], True),  # the routing pair's outcome wins over the matrix rule
        "hard for all": ([1.0, 0.0, 0.0], False),  # nobody answers: the strong model is needed
        "easy for one": ([0.5, 0.5, 0.0], False),  # mean 0.5: half a win, half a tie
    }
    assert list(labelled.prompts) == sorted(labelled.prompts)
