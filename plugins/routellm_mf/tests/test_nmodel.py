"""N-model routing with mf: the QualityRouter contract, quality checkpoints, and the two-model path left unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from routellm_mf.checkpoint import MFCheckpoint, default_checkpoint_dir, load_checkpoint
from routellm_mf.heldout import find_held_out, question_of, split_question
from routellm_mf.plugin import MFConfig
from routellm_mf.router import MFRouter

from routellm_core.errors import ConfigError, RoutingError
from routellm_core.model_choice import choose, predict_quality_checked, supports_quality
from routellm_core.testing import HashEmbedder

MODELS = ["big", "mid", "small", "tier:strong"]
PROMPTS = [
    "hi",
    "What is 2 + 2?",
    "Prove that there are infinitely many primes, then generalise the argument.",
    "",
    "Ünïcödé ✓ 数学 🙂",
    "Summarise the causes of the First World War in three paragraphs. " * 20,
]


def make_quality_checkpoint(directory, text_dim=32, members=3, seed=0, **extra):
    rng = np.random.default_rng(seed)
    ck = MFCheckpoint(
        P=rng.standard_normal((members, len(MODELS), 8)),
        text_proj=rng.standard_normal((members, 8, text_dim + 2)),
        classifier=rng.standard_normal((members, 8)),
        models=list(MODELS),
        features=["log_chars", "bias"],
        feature_mean=[4.0, 0.0],
        feature_std=[1.5, 1.0],
        embedder={"name": "hash", "kwargs": {}},
        aliases={"openai/gpt-4o": "big"},
        default_strong="big",
        default_weak="small",
        head="quality",
        **extra,
    )
    ck.save(directory)
    return ck


def make_pairwise_checkpoint(directory, text_dim=32):
    rng = np.random.default_rng(1)
    ck = MFCheckpoint(
        P=rng.standard_normal((2, 3, 8)),
        text_proj=rng.standard_normal((2, 8, text_dim)),
        classifier=rng.standard_normal((2, 8)),
        models=["big", "mid", "small"],
        embedder={"name": "hash", "kwargs": {}},
        default_strong="big",
        default_weak="small",
    )
    ck.save(directory)
    return ck


@pytest.fixture
def quality_router(tmp_path):
    make_quality_checkpoint(tmp_path / "q")
    return MFRouter(MFConfig(checkpoint=str(tmp_path / "q")), embedder=HashEmbedder(32))


# -- the QualityRouter contract ------------------------------------------------------------------


def test_is_a_quality_router(quality_router):
    assert supports_quality(quality_router)
    assert quality_router.quality_models == ("big", "mid", "small")  # virtual tier:* models are not deployable


def test_shape_range_and_dtype(quality_router):
    q = quality_router.predict_quality(PROMPTS, ["small", "big"])
    assert q.shape == (len(PROMPTS), 2) and q.dtype == np.float64
    assert np.all(np.isfinite(q)) and np.all((q >= 0) & (q <= 1))
    assert predict_quality_checked(quality_router, PROMPTS, ["big", "mid", "small"]).shape == (len(PROMPTS), 3)
    assert quality_router.predict_quality([], ["big"]).shape == (0, 1)


def test_matches_the_formula(tmp_path):
    ck = make_quality_checkpoint(tmp_path / "q")
    emb = HashEmbedder(32)
    router = MFRouter(MFConfig(checkpoint=str(tmp_path / "q")), embedder=emb)
    prompt = "Compute the homology of the torus."
    z = np.concatenate([emb.embed([prompt])[0], [(np.log1p(len(prompt)) - 4.0) / 1.5, 1.0]])
    logit = np.mean([ck.classifier[k] @ (ck.P[k, 1] * (ck.text_proj[k] @ z)) for k in range(3)])  # "mid", not normalised
    np.testing.assert_allclose(router.predict_quality([prompt], ["mid"]), [[1 / (1 + np.exp(-logit))]], rtol=1e-6)
    # a pair's score from a quality checkpoint: sigmoid of the difference of the two quality logits
    lb = np.mean([ck.classifier[k] @ (ck.P[k, 0] * (ck.text_proj[k] @ z)) for k in range(3)])
    ls = np.mean([ck.classifier[k] @ (ck.P[k, 2] * (ck.text_proj[k] @ z)) for k in range(3)])
    np.testing.assert_allclose(router.score([prompt]), [1 / (1 + np.exp(-(lb - ls)))], rtol=1e-5)


def test_deterministic_across_instances(tmp_path):
    make_quality_checkpoint(tmp_path / "q")
    a = MFRouter(MFConfig(checkpoint=str(tmp_path / "q")), embedder=HashEmbedder(32)).predict_quality(PROMPTS, ["big", "mid"])
    b = MFRouter(MFConfig(checkpoint=str(tmp_path / "q")), embedder=HashEmbedder(32)).predict_quality(PROMPTS, ["big", "mid"])
    np.testing.assert_array_equal(a, b)


def test_batch_equals_one_by_one_and_column_order(quality_router):
    models = ["big", "mid", "small"]
    batch = quality_router.predict_quality(PROMPTS, models)
    single = np.concatenate([quality_router.predict_quality([p], models) for p in PROMPTS])
    np.testing.assert_allclose(batch, single, rtol=1e-12, atol=1e-15)
    reordered = quality_router.predict_quality(PROMPTS, ["small", "big"])
    np.testing.assert_array_equal(reordered, batch[:, [2, 0]])


def test_aliases_from_checkpoint_and_config(tmp_path):
    make_quality_checkpoint(tmp_path / "q")
    router = MFRouter(
        MFConfig(checkpoint=str(tmp_path / "q"), model_aliases={"groq/llama-3.1-8b-instant": "small"}),
        embedder=HashEmbedder(32),
    )
    assert router.resolve_quality_model("openai/gpt-4o") == "big"
    assert router.resolve_quality_model("groq/llama-3.1-8b-instant") == "small"
    assert router.resolve_quality_model("mid") == "mid"
    np.testing.assert_array_equal(
        router.predict_quality(PROMPTS, ["openai/gpt-4o", "groq/llama-3.1-8b-instant"]),
        router.predict_quality(PROMPTS, ["big", "small"]),
    )


def test_unknown_model_names_the_valid_ones(quality_router):
    for call in (
        lambda: quality_router.resolve_quality_model("gpt-99"),
        lambda: quality_router.predict_quality(["hi"], ["big", "gpt-99"]),
        lambda: predict_quality_checked(quality_router, ["hi"], ["gpt-99"]),
    ):
        with pytest.raises(RoutingError) as err:
            call()
        message = str(err.value)
        assert "gpt-99" in message and "big, mid, small" in message and "openai/gpt-4o -> big" in message
        assert "tier:strong" not in message.split("aliases")[0]


def test_knob_choice_is_monotone_on_predictions(quality_router):
    q = quality_router.predict_quality(PROMPTS, ["big", "mid", "small"])
    cost = np.array([10.0, 1.0, 0.1])
    for row in q:
        costs = [cost[choose(row, cost, w)] for w in np.linspace(0, 1, 21)]
        assert all(a >= b for a, b in zip(costs, costs[1:], strict=False))
        assert choose(row, cost, 0.0) == int(np.argmax(row)) or row[choose(row, cost, 0.0)] == row.max()


# -- which checkpoint predicts quality ------------------------------------------------------------


def test_pairwise_checkpoint_without_quality_is_a_clear_error(tmp_path):
    make_pairwise_checkpoint(tmp_path / "p")
    router = MFRouter(MFConfig(checkpoint=str(tmp_path / "p")), embedder=HashEmbedder(32))
    with pytest.raises(ConfigError, match="quality_checkpoint"):
        router.predict_quality(["hi"], ["big"])
    assert "quality_checkpoint" not in router.describe()  # two-model use is unaffected
    assert router.score(["hi"]).shape == (1,)


def test_quality_checkpoint_beside_a_pairwise_one(tmp_path):
    make_pairwise_checkpoint(tmp_path / "p")
    ck = make_quality_checkpoint(tmp_path / "q")
    router = MFRouter(MFConfig(checkpoint=str(tmp_path / "p"), quality_checkpoint=str(tmp_path / "q")), embedder=HashEmbedder(32))
    own = MFRouter(MFConfig(checkpoint=str(tmp_path / "q")), embedder=HashEmbedder(32))
    np.testing.assert_array_equal(router.predict_quality(PROMPTS, ["big"]), own.predict_quality(PROMPTS, ["big"]))
    assert router.describe()["quality_checkpoint"] == ck.digest()
    with pytest.raises(ConfigError, match="no quality head"):
        MFRouter(
            MFConfig(checkpoint=str(tmp_path / "p"), quality_checkpoint=str(tmp_path / "p")), embedder=HashEmbedder(32)
        ).predict_quality(["hi"], ["big"])


def test_quality_checkpoint_format(tmp_path):
    ck = make_quality_checkpoint(tmp_path / "q")
    cfg = json.loads((tmp_path / "q" / "config.json").read_text())
    assert cfg["version"] == 2 and cfg["head"] == "quality"  # readers of version 1 refuse it instead of misreading it
    back = load_checkpoint(tmp_path / "q")
    assert back.has_quality and back.digest() == ck.digest()
    make_pairwise_checkpoint(tmp_path / "p")
    cfg = json.loads((tmp_path / "p" / "config.json").read_text())
    assert cfg["version"] == 1 and "head" not in cfg  # pairwise checkpoints are written as before
    with pytest.raises(ValueError, match="no per-model quality head"):
        load_checkpoint(tmp_path / "p").quality_vectors()


def test_shipped_two_model_checkpoint_is_unchanged():
    ck = load_checkpoint(default_checkpoint_dir())
    assert not ck.has_quality
    assert ck.digest() == "d63938831a33663133288432c6d9f9195172302687d1bb4b7404c2e9271103c9"


# -- held-out evaluation files --------------------------------------------------------------------

DEMOS = "\n\n".join(
    f"Worked example {i}: which gas do plants take in to make their food during the day?\n"
    "A) oxygen\nB) carbon dioxide\nAnswer:\nB"
    for i in range(3)
)


def few_shot(question: str) -> str:
    return f"{DEMOS}\n\n{question}\nA) evaporation\nB) dew forming on grass\nPrint only a single choice.\nAnswer:"


def test_question_of_a_few_shot_prompt():
    q = "Which of these is an example of condensation in everyday life at home?"
    assert question_of(few_shot(q)) == q
    assert question_of(f"Question:{q}\nAnswer:") == q
    preamble, _ = split_question("Clue one is long enough.\n\nClue two.\n\nWhat is the number of the house?")
    assert preamble.startswith("Clue one")


def test_find_held_out_rules():
    question = "Which of these is an example of condensation in everyday life at home?"
    evals = {"bench/test.csv": [few_shot(question), few_shot("Which planet in our solar system has the most moons today?")]}
    evals["bench/test.csv"] += [few_shot(f"Filler question number {i} about weather and clouds and rain.") for i in range(8)]
    train = [
        f"Question:{question}\nAnswer:",  # the same question in another wrapper
        few_shot(question).upper(),  # exact after normalisation
        "Which animal is the largest mammal living in the oceans today?",  # unrelated
        DEMOS,  # only the shared worked examples: template, not the question
    ]
    emb = np.eye(len(train), 16, dtype=np.float32)

    embed = HashEmbedder(64).embed  # equal questions have cosine 1, others far less

    keep, report = find_held_out(train, ["a"] * len(train), emb, evals, embed)
    assert keep.tolist() == [False, False, True, True]
    reasons = {d["index"]: d["reason"] for d in report.dropped}
    assert reasons == {0: "cosine", 1: "exact"}  # the same question (cosine of the questions: 1)
    keep, report = find_held_out(train, ["a"] * len(train), emb, evals, embed, threshold=1.01)  # the word rule alone
    assert keep.tolist() == [False, False, True, True] and report.dropped[0]["reason"] == "question"
    assert all(len(item["train_prompt_sha256"]) == 64 and "train_prompt" not in item for item in report.items())


def test_find_held_out_puzzles_need_their_clues():
    clues = [
        "\n".join(f"{k}. The person who likes colour {c}{k} lives in house number {k} of the long street." for k in range(4))
        for c in "abcdefgh"
    ]
    ask = "What is the number of the house where the person who likes yellow lives?"
    evals = {"dc/test.json": [f"{clues[0]}\n\n{ask}"]}
    train = [f"{clues[1]}\n\n{ask}", f"Solve this puzzle.\n\n{clues[0]}\n\n{ask}"]
    emb = np.eye(2, 8, dtype=np.float32)
    keep, _ = find_held_out(train, ["t", "t"], emb, evals, lambda t: np.zeros((len(t), 8), np.float32))
    assert keep.tolist() == [True, False]  # same question, other clues: kept; same puzzle: dropped
