"""``routellm train causal_llm``: the grade mapping and a tiny training run on a tiny local Llama."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from routellm_llm.train import grade_distribution, grade_of_ten, grade_targets, graded_sources, pairwise_auc, subsample

from routellm_core.cli import main
from routellm_core.training_data import Comparisons, load_files


@pytest.mark.parametrize(
    ("w", "s", "expected"),
    [
        (0.0, 1.0, [1, 0, 0, 0, 0]),  # weak wrong, strong right
        (0.0, 0.0, [0.5, 0, 0, 0.5, 0]),  # both wrong
        (1.0, 1.0, [0, 0, 0.5, 0, 0.5]),  # both right
        (1.0, 0.0, [0, 0, 0, 0, 1]),  # weak right, strong wrong
    ],
)
def test_grade_distribution_of_correctness(w, s, expected):
    target = grade_distribution((s - w + 1) / 2, w)
    np.testing.assert_allclose(target, expected)
    assert target[3:].sum() == pytest.approx(1 - (s - w + 1) / 2)  # the router's score is trained towards the soft label


def test_grade_of_ten():
    assert [grade_of_ten(g) for g in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def _write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return path


def test_grade_targets_uses_the_pair_grades_and_tiers(tmp_path):
    graded = _write(
        tmp_path,
        "arena.json",
        [
            {"question": "q1", "scores": {"gpt4": 1.0, "mixtral": 0.3, "other": 0.5}},
            {"question": "q2", "scores": {"gpt4": 0.9, "mixtral": 0.8, "other": 0.1}},
        ],
    )
    correctness = _write(
        tmp_path,
        "matrix.json",
        [
            {"question": "q3", "scores": {"a": 1.0, "b": 0.0, "c": 0.0}},
            {"question": "q4", "scores": {"a": 1.0, "b": 1.0, "c": 1.0}},
        ],
    )
    data = load_files([graded, correctness], tier_pairs=True)
    assert graded_sources(data) == {"arena"}
    out = grade_targets(data, [("gpt4", "mixtral"), ("tier:strong", "tier:weak")])
    assert out["counts"] == {"graded": 2, "score matrix": 2, "battles": 0}
    by_prompt = {data.prompts[p]: t for p, t in zip(out["prompt"], out["target"], strict=True)}
    np.testing.assert_allclose(by_prompt["q1"], [0, 1, 0, 0, 0])  # Mixtral 3/10 -> grade 2
    np.testing.assert_allclose(by_prompt["q2"], [0, 0, 0, 1, 0])  # Mixtral 8/10 -> grade 4
    # matrix.json: best model a (mean 1.0), median b or c (both 0.5 -> sorted by name: b)
    np.testing.assert_allclose(by_prompt["q3"], [1, 0, 0, 0, 0])
    np.testing.assert_allclose(by_prompt["q4"], [0, 0, 0.5, 0, 0.5])


def test_battles_get_the_outcome_with_an_unknown_weak_score():
    data = Comparisons()
    p = data.add_prompt("q", "battles")
    data.add(p, data.model_id("big"), data.model_id("small"), 1.0)
    out = grade_targets(data, [("big", "small")])
    np.testing.assert_allclose(out["target"][0], [0.5, 0, 0.5, 0, 0])
    assert out["counts"]["battles"] == 1


def test_subsample_is_seeded_and_capped():
    sources = ["a"] * 10 + ["b"] * 3
    one = subsample(sources, 0, per_file_cap=4, max_prompts=None)
    assert len(one) == 7 and np.array_equal(one, subsample(sources, 0, 4, None))
    assert len(subsample(sources, 0, None, 5)) == 5


def test_pairwise_auc():
    assert pairwise_auc(np.array([0.1, 0.5, 0.9]), np.array([0.0, 0.5, 1.0])) == 1.0
    assert pairwise_auc(np.array([0.9, 0.5, 0.1]), np.array([0.0, 0.5, 1.0])) == 0.0


def _train(tmp_path, base, out, data):
    return main(
        [
            "train",
            "causal_llm",
            "--data",
            str(data),
            "--output",
            str(out),
            "--base-model",
            str(base),
            "--no-decontaminate",
            "--pair",
            "big,small",
            "--max-prompt-tokens",
            "24",
            "--head-tokens",
            "8",
            "--batch-size",
            "4",
            "--lr",
            "0.01",
            "--label-lr",
            "0.01",
            "--epochs",
            "2",
            "--quiet",
        ]
    )


def test_tiny_training_run_is_deterministic_and_loads(tmp_path, monkeypatch, tiny_base):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    rows = []
    for i in range(16):
        hard = i % 2 == 0
        question = f"Prove theorem {i} about primes, with every step." if hard else f"Say hi {i}."
        rows.append({"question": question, "scores": {"big": 1.0, "small": 0.0 if hard else 1.0, "mid": 0.5}})
    data = _write(tmp_path, "scores.json", rows)
    assert _train(tmp_path, tiny_base, tmp_path / "a", data) == 0
    assert _train(tmp_path, tiny_base, tmp_path / "b", data) == 0
    names = ["router.json", "adapter_config.json", "adapter_model.safetensors", "label_head.safetensors"]
    for name in names:
        a, b = ((tmp_path / d / name).read_bytes() for d in "ab")
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), f"{name} differs between identical runs"
    out = tmp_path / "a"
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pkl")) and not list(out.glob("*.pt"))
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["command"].startswith("routellm train causal_llm --data")
    assert summary["training"]["labels"]["rules"]["score matrix"] == 16
    assert summary["training"]["validation_prompts"] == 2 and summary["training"]["steps"] == 8
    assert (out / "TRAINING_DATA.md").is_file()

    from routellm_llm.plugin import CausalLLMConfig
    from routellm_llm.router import CausalLLMRouter

    router = CausalLLMRouter(CausalLLMConfig(checkpoint=str(out)))
    scores = router.score(["Prove theorem 3 about primes, with every step.", "Say hi 5."])
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert router.describe()["max_prompt_tokens"] == 24


def test_bad_pair_flag_is_a_config_error(tmp_path, capsys, tiny_base):
    data = _write(tmp_path, "s.json", [{"question": "q", "scores": {"big": 1.0, "small": 0.0}}])
    rc = main(["train", "causal_llm", "--data", str(data), "--output", str(tmp_path / "o"), "--pair", "big", "--quiet"])
    assert rc == 2 and "--pair" in capsys.readouterr().err
    rc = main(["train", "causal_llm", "--data", str(data), "--output", str(tmp_path / "o"), "--label-lr", "nan", "--quiet"])
    assert rc == 2 and "--label-lr must be a finite number >= 0, got nan" in capsys.readouterr().err


def test_max_steps_stops_training_and_keeps_the_best_step(tiny_base):
    from routellm_llm.model import PromptFormat
    from routellm_llm.train import train_adapter

    texts = ["Prove it.", "hi", "What is 2 + 2?", "Parse this."] * 3
    targets = np.tile(np.eye(5, dtype=np.float32)[[0, 4, 4, 0]], (3, 1))
    _, info = train_adapter(
        texts,
        targets,
        np.array([1.0, 0.0, 0.0, 1.0] * 3),
        base_model=str(tiny_base),
        prompt_format=PromptFormat(max_prompt_tokens=16, head_tokens=4),
        epochs=5,
        max_steps=3,
        batch_size=2,
        val_fraction=0.25,
        progress=False,
        log=lambda *a: None,
    )
    assert info["steps"] == 3 and info["history"][-1]["step"] == 3
    assert info["best"]["step"] in {h["step"] for h in info["history"]}
