"""N-model routing with sw_ranking: the QualityRouter contract on small indexes, the --n-model trainer and the
shipped N-model index."""

import json

import numpy as np
import pytest
from elo_helpers import needs_minilm
from routellm_elo.config import SWRankingConfig
from routellm_elo.index import QualitySettings, SWIndexError, Weighting, build_index, load_index, nmodel_index_dir
from routellm_elo.router import SWRankingRouter
from test_router import EASY, HARD, MODELS, small_index

from routellm_core.cli import main
from routellm_core.errors import RoutingError
from routellm_core.model_choice import choose_many, predict_quality_checked, supports_quality
from routellm_core.plugins import get_registry
from routellm_core.testing import HashEmbedder

#: every model of the N-model evaluation sets (routerbench-zs: 11, llmrouter-dcrouter: 9)
ROUTERBENCH_MODELS = [
    "WizardLM/WizardLM-13B-V1.2",
    "claude-instant-v1",
    "claude-v1",
    "claude-v2",
    "gpt-3.5-turbo-1106",
    "gpt-4-1106-preview",
    "meta/code-llama-instruct-34b-chat",
    "meta/llama-2-70b-chat",
    "mistralai/mistral-7b-chat",
    "mistralai/mixtral-8x7b-chat",
    "zero-one-ai/Yi-34B-Chat",
]
DCROUTER_MODELS = [
    "qwen2.5-7b-instruct",
    "llama3-chatqa-1.5-8b",
    "llama-3.1-nemotron-51b-instruct",
    "llama3-chatqa-1.5-70b",
    "mistral-7b-instruct-v0.3",
    "gemma-2-9b-it",
    "codegemma-7b",
    "llama-3.1-8b-instruct",
    "llama-3.3-nemotron-super-49b-v1",
]
#: the N-model evaluation files: never training data of the shipped N-model index
EVAL_FILES = (
    "routerbench-zs/arc_challenge_test.csv",
    "routerbench-zs/mbpp_test.csv",
    "routerbench-zs/winograde_test.csv",
    "llmrouter-dcrouter/test.json",
)


def nmodel_small_index(method="neighbours", prior=1.0):
    """small_index()'s battles plus each prompt's scores: on hard prompts big 1, large 0.8, mid 0.5, small 0.2, tiny 0;
    on easy ones every model 1 (tiny 0.5); 'tiny' is not scored on the last easy prompt."""
    base = small_index()
    hard = np.array([1.0, 0.8, 0.5, 0.2, 0.0], np.float32)
    easy = np.array([1.0, 1.0, 1.0, 1.0, 0.5], np.float32)
    scores = np.stack([hard] * len(HARD) + [easy] * len(EASY))
    scores[-1, 4] = np.nan
    prompts = HARD + EASY
    emb = HashEmbedder(16).embed(prompts)
    pi, a, b, y = [], [], [], []
    for p in range(len(prompts)):
        for i in range(len(MODELS)):
            for j in range(i + 1, len(MODELS)):
                if np.isnan(scores[p, i]) or np.isnan(scores[p, j]):
                    continue
                pi.append(p), a.append(i), b.append(j), y.append((scores[p, i] - scores[p, j] + 1) / 2)
    return build_index(
        emb,
        np.array(pi),
        np.array(a),
        np.array(b),
        np.array(y),
        MODELS,
        num_tiers=5,
        labels="soft",
        weighting=base.weighting,
        embedder={"name": "hash"},
        default_strong="big",
        default_weak="small",
        aliases={"openai/gpt-4o": "big"},
        scores=scores,
        quality=QualitySettings(method=method, sharpness=2.0, min_similarity=0.0, prior=prior),
    )


@pytest.fixture(scope="module")
def nmodel_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("nidx")
    nmodel_small_index().save(d)
    return d


def make_router(directory, **settings):
    return SWRankingRouter(SWRankingConfig(index=str(directory), **settings), embedder=HashEmbedder(16))


PROMPTS = [HARD[1], EASY[2], "an unseen question about graphs", HARD[7], EASY[9], "hello"]


def test_quality_contract_shape_range_determinism_batching(nmodel_dir):
    router = make_router(nmodel_dir)
    assert supports_quality(router)
    assert router.quality_models == tuple(MODELS)
    q = predict_quality_checked(router, PROMPTS, MODELS)
    assert q.shape == (len(PROMPTS), len(MODELS)) and np.all((q >= 0) & (q <= 1))
    np.testing.assert_array_equal(make_router(nmodel_dir).predict_quality(PROMPTS, MODELS), q)  # a fresh instance
    one_by_one = np.vstack([router.predict_quality([p], MODELS) for p in PROMPTS])
    np.testing.assert_allclose(one_by_one, q, rtol=0, atol=1e-6)
    # a subset or another order of the models gives the same columns
    np.testing.assert_array_equal(router.predict_quality(PROMPTS, ["tiny", "big"]), q[:, [4, 0]])
    assert router.predict_quality([], MODELS).shape == (0, len(MODELS))


def test_quality_follows_the_neighbours(nmodel_dir):
    router = make_router(nmodel_dir)
    q = router.predict_quality([HARD[2], EASY[2]], MODELS)
    assert list(np.argsort(-q[0])) == [0, 1, 2, 3, 4]  # hard prompt: the bigger, the better
    assert q[0, 0] > q[1, 4] and q[1, 3] > q[0, 3]  # easy prompt: the small models do well
    # with a light prior an indexed prompt's own scores dominate
    light = nmodel_small_index()
    light.quality = QualitySettings(method="neighbours", sharpness=60.0, min_similarity=0.0, prior=1e-6)
    sims = light.similarities(HashEmbedder(16).embed([HARD[2]]))
    np.testing.assert_allclose(light.quality_for_similarities(sims, range(5))[0], [1.0, 0.8, 0.5, 0.2, 0.0], atol=0.05)


def test_choice_along_the_knob(nmodel_dir):
    router = make_router(nmodel_dir)
    cost = np.array([10.0, 5.0, 2.0, 1.0, 0.5])
    q = router.predict_quality([HARD[0], EASY[0]], MODELS)
    at0, at1 = choose_many(q, cost, 0.0), choose_many(q, cost, 1.0)
    assert at0[0] == 0 and at1.tolist() == [4, 4]
    mid = choose_many(q, cost, 0.2)
    assert cost[mid[0]] > cost[mid[1]]  # the hard prompt buys a dearer model than the easy one


def test_aliases_and_unknown_models(nmodel_dir):
    router = make_router(nmodel_dir, model_aliases={"cheap": "tiny"})
    q = router.predict_quality(PROMPTS[:2], ["openai/gpt-4o", "cheap"])
    np.testing.assert_array_equal(q, router.predict_quality(PROMPTS[:2], ["big", "tiny"]))
    assert router.resolve_quality_model("cheap") == "tiny" and router.resolve_quality_model("openai/gpt-4o") == "big"
    with pytest.raises(RoutingError) as err:
        router.predict_quality(PROMPTS[:2], ["big", "gpt-9"])
    assert "gpt-9" in str(err.value) and "big, large, mid, small, tiny" in str(err.value)
    with pytest.raises(RoutingError):
        predict_quality_checked(router, PROMPTS[:1], ["nope"])


def test_save_load_predicts_the_same(tmp_path):
    index = nmodel_small_index()
    index.save(tmp_path / "n")
    loaded = load_index(tmp_path / "n")
    q = HashEmbedder(16).embed(PROMPTS)
    np.testing.assert_array_equal(np.isnan(loaded.scores), np.isnan(index.scores))
    np.testing.assert_allclose(
        loaded.quality_for_similarities(loaded.similarities(q), range(5)),
        index.quality_for_similarities(index.similarities(q), range(5)),
        atol=2e-3,  # float16 embeddings on disk
    )
    assert loaded.quality == index.quality and loaded.digest() != small_index().digest()
    cfg = json.loads((tmp_path / "n" / "config.json").read_text())
    assert cfg["quality"] == {"method": "neighbours", "sharpness": 2.0, "min_similarity": 0.0, "prior": 1.0}


def test_two_model_index_predicts_elo_win_rates(tmp_path):
    """An index without scores (every two-model index) predicts a model's expected Elo win rate among the requested
    models; models of one tier are equal; the two-model scores are unchanged by the N-model code."""
    index = small_index()
    assert index.scores is None and index.quality_settings.method == "elo"
    index.save(tmp_path / "two")
    router = make_router(tmp_path / "two")
    q = predict_quality_checked(router, [HARD[0], EASY[0]], MODELS)
    assert q[0, 0] > q[0, 4] and abs(q[1, 0] - q[1, 4]) < q[0, 0] - q[0, 4]
    assert router.predict_quality([HARD[0]], ["big"]).tolist() == [[0.5]]  # alone: no one to beat
    # the same Bradley-Terry fit as the two-model score: P(big beats small) from two models' win rates
    s = router.score([HARD[0]])
    pair = router.predict_quality([HARD[0]], ["big", "small"])
    np.testing.assert_allclose(pair[0, 0], s[0], atol=1e-9)


def test_quality_settings_checked(tmp_path):
    with pytest.raises(ValueError, match="quality method"):
        QualitySettings(method="magic")
    with pytest.raises(ValueError, match="prior"):
        QualitySettings(prior=0.0)
    index = small_index()
    index.quality = QualitySettings(method="neighbours")
    with pytest.raises(SWIndexError, match="--n-model"):
        index.quality_for_similarities(index.similarities(HashEmbedder(16).embed(["x"])), [0, 1])
    bad = nmodel_small_index()
    bad.save(tmp_path / "bad")
    cfg = json.loads((tmp_path / "bad" / "config.json").read_text())
    cfg["quality"]["method"] = "magic"
    (tmp_path / "bad" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SWIndexError, match="quality"):
        load_index(tmp_path / "bad")


def test_elo_quality_on_an_nmodel_index(nmodel_dir):
    index = load_index(nmodel_dir)
    index.quality = QualitySettings(method="elo")
    q = index.quality_for_similarities(index.similarities(HashEmbedder(16).embed([HARD[0]])), range(5), Weighting(2.0, 0.0))
    assert q.shape == (1, 5) and q[0, 0] >= q[0, 4]


# -- the trainer ---------------------------------------------------------------------------------------


def write_nmodel_data(d):
    d.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"{p} (variant {i})", "scores": {"big": 1.0, "mid": 0.5, "small": 0.0}} for i, p in enumerate(HARD)]
    rows += [{"question": f"{p} (variant {i})", "scores": {"big": 1.0, "mid": 1.0, "small": 1.0}} for i, p in enumerate(EASY)]
    rows.append({"question": "An evaluation question that leaked into training.", "scores": {"big": 1.0, "small": 0.0}})
    (d / "train.json").write_text(json.dumps(rows))
    (d / "test.json").write_text(
        json.dumps([{"question": "an evaluation question that leaked   into training.", "scores": {"big": 1.0, "small": 1.0}}])
    )
    return d / "train.json", d / "test.json"


def write_eval_dir(d):
    from test_elo_train import write_eval_dir as write

    return write(d)


@needs_minilm
def test_train_n_model_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    train, test = write_nmodel_data(tmp_path / "data")
    write_eval_dir(tmp_path / "evals")
    argv = ["train", "sw_ranking", "--data", str(train), "--eval-data-dir", str(tmp_path / "evals"), "--num-tiers", "3"]
    argv += ["--default-strong", "big", "--default-weak", "small", "--n-model", "--quality-prior", "0.5", "--quiet"]
    argv += ["--exclude-eval", str(test), "--output", str(tmp_path / "out")]
    assert main(argv) == 0
    out = tmp_path / "out"
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["quality"] == {"method": "neighbours", "sharpness": 5.0, "min_similarity": -1.0, "prior": 0.5}
    extra = json.loads((out / "decontamination_extra.json").read_text())
    assert extra["dropped"] == 1 and extra["evaluation_prompts"] == {"data/test.json": 1}
    assert "train_prompt" not in extra["items"][0]  # digests only
    assert (out / "DECONTAMINATION_EXTRA.md").is_file()
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["data"]["prompts"] == len(HARD) + len(EASY)
    assert summary["excluded_evaluation"]["dropped"] == 1 and "--n-model" in summary["command"]
    assert "--exclude-eval" in summary["command"] and summary["index"]["quality"]["models"] == ["big", "mid", "small"]
    index = load_index(out)
    assert index.scores is not None and index.scores.shape == (len(HARD) + len(EASY), 3)
    router = get_registry().create_router("sw_ranking", {"index": str(out)})
    q = router.predict_quality(["Prove the prime number theorem with full rigour.", "Say hello number 3."], ["big", "small"])
    assert q.shape == (2, 2) and q[0, 0] - q[0, 1] > q[1, 0] - q[1, 1]


def test_train_quality_flags_need_n_model(tmp_path, capsys):
    train, _ = write_nmodel_data(tmp_path / "data")
    argv = ["train", "sw_ranking", "--data", str(train), "--output", str(tmp_path / "o"), "--quiet", "--quality-prior", "2"]
    assert main(argv) != 0
    assert "--quality-prior applies to an N-model index: add --n-model" in capsys.readouterr().err
    assert main([*argv, "--n-model", "--quality-prior", "0"]) != 0
    assert "prior" in capsys.readouterr().err


# -- the shipped N-model index -------------------------------------------------------------------------


def test_nmodel_index_files():
    d = nmodel_index_dir()
    index = load_index(d)
    assert index.scores is not None and index.quality is not None and index.quality.method in ("neighbours", "elo")
    known = {index.models[j] for j in index.quality_model_ids()}
    assert set(ROUTERBENCH_MODELS + DCROUTER_MODELS) <= known
    assert index.embedder["name"] == "minilm-l3" and index.input_dim == 384
    assert sum(f.stat().st_size for f in d.iterdir()) < 3_000_000
    for name in (
        "DATA_CARD.md",
        "DECONTAMINATION.md",
        "decontamination.json",
        "DECONTAMINATION_EXTRA.md",
        "decontamination_extra.json",
        "training_summary.json",
        "TRAINING_DATA.md",
    ):
        assert (d / name).is_file(), name
    summary = json.loads((d / "training_summary.json").read_text())
    trained = [f["path"] for f in summary["files"]]
    card = (d / "DATA_CARD.md").read_text()
    for path in trained:
        assert path in card, path  # the card lists every training file
    for path in EVAL_FILES:
        assert path not in trained  # and no N-model evaluation file is training data
        assert path in summary["command"].split("--exclude-eval", 1)[1]  # they are decontaminated against
    assert not any(p.startswith("routerdc-split2/") for p in trained)
    extra = json.loads((d / "decontamination_extra.json").read_text())
    assert set(extra["evaluation_prompts"]) == set(EVAL_FILES)
    assert extra["dropped"] == len(extra["items"]) and all("train_prompt" not in i for i in extra["items"])
    assert summary["data"]["prompts"] == len(index.embeddings)


@needs_minilm
def test_nmodel_index_predicts_for_every_evaluation_model():
    router = get_registry().create_router("sw_ranking", {"index": str(nmodel_index_dir())})
    models = ROUTERBENCH_MODELS + DCROUTER_MODELS
    prompts = ["Write a Python function that reverses a linked list.", "What is 17 * 23?", "hi"]
    q = predict_quality_checked(router, prompts, models)
    assert q.shape == (3, 20) and np.all((q >= 0) & (q <= 1))
    np.testing.assert_allclose(np.vstack([router.predict_quality([p], models) for p in prompts]), q, atol=1e-6)
    # the two-model score of the same router works on this index too
    assert router.score(prompts).shape == (3,)


def test_shipped_nmodel_training_data_is_decontaminated(shared_data):
    """Re-read the N-model index's training files (sha256 unchanged), drop what both reports list, and check that no
    kept prompt equals a prompt of RouteLLM's evaluation sets or of the N-model evaluation files."""
    from routellm_core.decontamination import eval_prompts_from_dir, normalise
    from routellm_core.hashing import sha256_file, sha256_text
    from routellm_core.training_data import load_files

    d = nmodel_index_dir()
    summary = json.loads((d / "training_summary.json").read_text())
    train_dir = shared_data / "train"
    files = [train_dir / f["path"] for f in summary["files"]]
    for f, meta in zip(files, summary["files"], strict=True):
        assert sha256_file(f) == meta["sha256"], f"{f} changed since training"
    data = load_files(files)
    dropped = set()
    for report in ("decontamination.json", "decontamination_extra.json"):
        dropped |= {i["train_prompt_sha256"] for i in json.loads((d / report).read_text())["items"]}
    kept = [p for p in data.prompts if sha256_text(p) not in dropped]
    assert len(kept) == summary["data"]["prompts"]
    evals = load_files([train_dir / f for f in EVAL_FILES])
    eval_norm = {normalise(p) for p in evals.prompts}
    eval_norm |= {normalise(p) for prompts in eval_prompts_from_dir(shared_data).values() for p in prompts}
    assert not [p for p in kept if normalise(p) in eval_norm]


@needs_minilm
def test_default_router_predicts_quality_from_the_shipped_nmodel_index():
    """The shipped two-model index was built on files that are now N-model evaluation sets: the default router's
    N-model predictions come from the N-model index, and its two-model scores from the two-model index."""
    default = get_registry().create_router("sw_ranking", {})
    explicit = get_registry().create_router("sw_ranking", {"index": str(nmodel_index_dir())})
    models = ["gpt-4-1106-preview", "llama-3.1-8b-instruct", "mistralai/mixtral-8x7b-chat"]
    prompts = [EASY[0], HARD[0]]
    assert np.array_equal(default.predict_quality(prompts, models), explicit.predict_quality(prompts, models))
    assert default.quality_models == explicit.quality_models
    assert default.describe()["quality_index_digest"] == explicit.checkpoint_digest()
    assert default.describe()["index"] == "default"
