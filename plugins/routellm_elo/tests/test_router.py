"""The sw_ranking router on small indexes: contract, save/load, RouteLLM's inputs, bad input."""

import json

import numpy as np
import pytest
from pydantic import ValidationError
from routellm_elo.config import SWRankingConfig
from routellm_elo.index import SWIndexError, Weighting, build_index, load_index
from routellm_elo.router import SWRankingRouter

from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import HashEmbedder, RouterContractTests
from routellm_core.training_data import TrainingDataError

MODELS = ["big", "large", "mid", "small", "tiny"]
HARD = [f"Prove theorem {i} about prime gaps with full rigour." for i in range(12)]
EASY = [f"Say hello number {i}." for i in range(12)]


def small_index(dim=16, weighting=None):
    """Hard prompts: bigger models win; easy prompts: ties. Embeddings from HashEmbedder(dim)."""
    prompts = HARD + EASY
    emb = HashEmbedder(dim).embed(prompts)
    pi, a, b, y = [], [], [], []
    for p, text in enumerate(prompts):
        for i in range(len(MODELS)):
            for j in range(i + 1, len(MODELS)):
                pi.append(p), a.append(i), b.append(j)
                y.append(1.0 if text in HARD else 0.5)
    pi[0], y[0] = 0, 0.0  # one upset keeps every rating finite
    return build_index(
        emb,
        np.array(pi),
        np.array(a),
        np.array(b),
        np.array(y),
        MODELS,
        num_tiers=5,
        weighting=weighting or Weighting(sharpness=2.0, min_similarity=0.0),
        embedder={"name": "hash"},
        default_strong="big",
        default_weak="small",
        aliases={"openai/gpt-4o": "big"},
    )


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("idx")
    small_index().save(d, dtype="float32")
    return d


class TestSmallIndexContract(RouterContractTests):
    _dir = None

    def make_router(self):
        import tempfile
        from pathlib import Path

        if TestSmallIndexContract._dir is None:
            TestSmallIndexContract._dir = Path(tempfile.mkdtemp()) / "idx"
            small_index().save(TestSmallIndexContract._dir)
        return SWRankingRouter(SWRankingConfig(index=str(self._dir)), embedder=HashEmbedder(16))


def test_hard_prompts_score_higher(index_dir):
    router = SWRankingRouter(SWRankingConfig(index=str(index_dir)), embedder=HashEmbedder(16))
    hard, easy = router.score([HARD[3], EASY[3]])
    assert hard > 0.5 > easy or hard > easy + 0.1


def test_save_load_round_trip(tmp_path):
    index = small_index()
    index.save(tmp_path / "f32", dtype="float32")
    index.save(tmp_path / "f16", dtype="float16")
    q = HashEmbedder(16).embed(["a query", HARD[0]])
    exact = index.tier_ratings(q)
    np.testing.assert_allclose(load_index(tmp_path / "f32").tier_ratings(q), exact, atol=1e-6)
    np.testing.assert_allclose(load_index(tmp_path / "f16").tier_ratings(q), exact, atol=1.0)  # Elo points
    cfg = json.loads((tmp_path / "f32" / "config.json").read_text())
    assert cfg["format"] == "routellm-elo" and cfg["model_tiers"]["big"] == 0


def test_projection_to_fewer_dimensions():
    full, reduced = small_index(), None
    prompts = HARD + EASY
    emb = HashEmbedder(16).embed(prompts)
    reduced = build_index(emb, *[np.asarray(x) for x in _battles_of(full)], MODELS, num_tiers=5, dim=6, weighting=full.weighting)
    assert reduced.embeddings.shape == (24, 6) and reduced.input_dim == 16
    assert np.allclose(np.linalg.norm(reduced.project(emb), axis=1), 1.0, atol=1e-5)


def _battles_of(index):
    """(prompt_idx, a, b, y) of the synthetic battles behind small_index()."""
    pi, a, b, y = [], [], [], []
    for p, text in enumerate(HARD + EASY):
        for i in range(len(MODELS)):
            for j in range(i + 1, len(MODELS)):
                pi.append(p), a.append(i), b.append(j)
                y.append(1.0 if text in HARD else 0.5)
    pi[0], y[0] = 0, 0.0
    return pi, a, b, y


def test_unknown_models_list_the_known_ones(index_dir):
    with pytest.raises(ConfigError) as err:
        SWRankingRouter(SWRankingConfig(index=str(index_dir), strong_model="gpt-9"), embedder=HashEmbedder(16))
    assert "gpt-9" in str(err.value) and "big, large, mid, small, tiny" in str(err.value)
    with pytest.raises(ConfigError, match="weak_model 'nope'.*known models"):
        SWRankingRouter(SWRankingConfig(index=str(index_dir), weak_model="nope"), embedder=HashEmbedder(16))
    r = SWRankingRouter(
        SWRankingConfig(index=str(index_dir), strong_model="openai/gpt-4o", weak_model="cheap", model_aliases={"cheap": "tiny"}),
        embedder=HashEmbedder(16),
    )
    assert r.describe()["strong_model"] == "big" and r.describe()["weak_model"] == "tiny"


def test_dimension_mismatch_names_both(index_dir):
    with pytest.raises(ConfigError) as err:
        SWRankingRouter(SWRankingConfig(index=str(index_dir)), embedder=HashEmbedder(384))
    assert "384" in str(err.value) and "16" in str(err.value)


def test_config_errors(index_dir, tmp_path):
    reg = get_registry()
    for bad in (
        {"sharpness": -1},
        {"min_similarity": "x"},
        {"min_similarity": -2},
        {"index": str(index_dir), "battles": "b.jsonl", "embeddings": "e.npy"},
        {"battles": "b.jsonl"},
        {"same_tier": "maybe"},
        {"model_aliases": ["x"]},
        {"num_tiers": 5},
        {"relative_to_max": "yes"},
    ):
        # refused by the settings model, before anything is built: through the registry and in Python
        with pytest.raises(ConfigError, match="invalid config for router 'sw_ranking'"):
            reg.create_router("sw_ranking", {"index": str(index_dir), **bad})
        with pytest.raises(ValidationError):
            SWRankingConfig.model_validate({"index": str(index_dir), **bad})
    with pytest.raises(ConfigError, match="accepted keys"):
        reg.create_router("sw_ranking", {"sharpnes": 3})
    with pytest.raises(ConfigError, match="not both"):  # an Embedder instance is the Python API's, not a setting's
        SWRankingRouter(SWRankingConfig(index=str(index_dir), embedder="minilm-l3"), embedder=HashEmbedder(16))
    with pytest.raises(SWIndexError):
        load_index(tmp_path)


def test_same_tier_pair_is_refused(index_dir):
    index = load_index(index_dir)
    assert index.num_tiers == 5  # one model per tier here; merge two by asking for fewer tiers
    prompts = HARD + EASY
    pi, a, b, y = _battles_of(index)
    two = build_index(HashEmbedder(16).embed(prompts), pi, a, b, y, MODELS, num_tiers=2)
    two.save(index_dir.parent / "two")
    same = [m for m in MODELS if two.tier_of(MODELS.index(m)) == two.tier_of(0)]
    with pytest.raises(ConfigError, match="same tier"):
        SWRankingRouter(
            SWRankingConfig(
                index=str(index_dir.parent / "two"),
                strong_model=same[0],
                weak_model=same[-1] if len(same) > 1 else same[0],
            ),
            embedder=HashEmbedder(16),
        )


def write_routellm_battles(d, n=300, dim=1536, flags=False):
    """An Arena-style battles file and one embedding row per battle, as RouteLLM's datasets hold them."""
    rng = np.random.default_rng(0)
    names = ["gpt-4-1106-preview", "claude-2.1", "mixtral-8x7b-instruct-v0.1", "llama-2-13b-chat", "vicuna-7b"]
    skill = np.array([2.0, 1.5, 0.5, -0.5, -1.5])
    rows = []
    for _ in range(n):
        i, j = rng.choice(5, 2, replace=False)
        p = 1 / (1 + np.exp(skill[j] - skill[i]))
        u = rng.random()
        winner = "model_a" if u < 0.8 * p else "model_b" if u > 1 - 0.8 * (1 - p) else "tie"
        row = {"model_a": names[i], "model_b": names[j], "prompt": json.dumps(["hello"])}
        if flags:
            row.update(
                winner_model_a=int(winner == "model_a"), winner_model_b=int(winner == "model_b"), winner_tie=int(winner == "tie")
            )
        else:
            row["winner"] = winner
        rows.append(row)
    (d / "battles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    np.save(d / "embeddings.npy", rng.standard_normal((n, dim)).astype(np.float32))
    return d / "battles.jsonl", d / "embeddings.npy"


@pytest.mark.parametrize("flags", [False, True])
def test_routellm_inputs_build_a_router_without_training(tmp_path, flags):
    battles, emb = write_routellm_battles(tmp_path, flags=flags)
    config = get_registry().validated_config(
        "routers",
        "sw_ranking",
        {
            "battles": str(battles),
            "embeddings": str(emb),
            "strong_model": "gpt-4-1106-preview",
            "weak_model": "mixtral-8x7b-instruct-v0.1",
        },
    )
    assert isinstance(config, SWRankingConfig)
    router = SWRankingRouter(config, embedder=HashEmbedder(1536))
    s = router.score(["What is 2+2?", "Prove Fermat's last theorem."])
    assert s.shape == (2,) and np.all((s > 0.5) & (s < 1))  # the strong tier is better overall
    assert router.index.weighting.relative_to_max and router.index.input_dim == 1536
    assert router.describe()["battles"] == str(battles)


def test_routellm_inputs_bad_rows(tmp_path):
    battles, emb = write_routellm_battles(tmp_path, n=20)
    lines = battles.read_text().splitlines()
    lines[6] = json.dumps({**json.loads(lines[6]), "winner": "model_c"})
    battles.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrainingDataError) as err:
        SWRankingRouter(SWRankingConfig(battles=str(battles), embeddings=str(emb)), embedder=HashEmbedder(1536))
    assert "battles.jsonl: line 7" in str(err.value) and "model_c" in str(err.value)
    battles2, _ = write_routellm_battles(tmp_path, n=20)
    np.save(tmp_path / "short.npy", np.zeros((5, 1536), np.float32))
    with pytest.raises(ConfigError, match="one row per battle"):
        SWRankingRouter(
            SWRankingConfig(battles=str(battles2), embeddings=str(tmp_path / "short.npy")), embedder=HashEmbedder(1536)
        )
    with pytest.raises(ConfigError, match="1536-d embeddings"):
        SWRankingRouter(
            SWRankingConfig(
                battles=str(battles2), embeddings=str(emb), strong_model="gpt-4-1106-preview", weak_model="vicuna-7b"
            ),
            embedder=HashEmbedder(64),
        )


def test_length_scale_needs_lengths_and_prefers_prompts_of_similar_length(tmp_path):
    prompts = HARD + EASY
    pi, a, b, y = _battles_of(None)
    emb = HashEmbedder(16).embed(prompts)
    plain = build_index(
        emb, pi, a, b, y, MODELS, num_tiers=5, embedder={"name": "hash"}, default_strong="big", default_weak="small"
    )
    plain.save(tmp_path / "plain")
    with pytest.raises(ConfigError, match="prompt lengths"):
        SWRankingRouter(SWRankingConfig(index=str(tmp_path / "plain"), length_scale=1.0), embedder=HashEmbedder(16))
    with_len = build_index(
        emb,
        pi,
        a,
        b,
        y,
        MODELS,
        num_tiers=5,
        embedder={"name": "hash"},
        default_strong="big",
        default_weak="small",
        prompts=prompts,
        weighting=Weighting(sharpness=4.0, length_scale=2.0),
    )
    with_len.save(tmp_path / "len")
    router = SWRankingRouter(SWRankingConfig(index=str(tmp_path / "len")), embedder=HashEmbedder(16))
    assert router.weighting.length_scale == 2.0
    # unrelated texts: the length term decides; hard prompts here are the long ones
    long_q, short_q = router.score(["x" * len(HARD[0]), "x" * len(EASY[0])])
    assert long_q > short_q


def test_large_batch_equals_one_by_one(index_dir):
    """Batches above SMALL_BATCH take the BLAS path, single prompts numpy's own loops: the same scores."""
    router = SWRankingRouter(SWRankingConfig(index=str(index_dir)), embedder=HashEmbedder(16))
    prompts = [f"prompt number {i}" for i in range(40)] + HARD[:5]
    batch = router.score(prompts)
    single = np.array([router.score([p])[0] for p in prompts])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-6)


def test_settings_are_declared_once():
    """The registry validates against SWRankingConfig and hands the instance to SWRankingRouter itself."""
    from routellm_core.testing import check_config_model

    registration = get_registry().get("routers", "sw_ranking")
    assert registration.config is SWRankingConfig
    check_config_model(SWRankingConfig, SWRankingRouter)
    assert SWRankingConfig().model_aliases is None and SWRankingConfig().embedding_cache is False


def test_registering_imports_no_router_code():
    import subprocess
    import sys

    code = (
        "import sys; import routellm_elo.plugin; "
        "loaded = sorted(m for m in sys.modules if m.startswith('routellm_elo.') and m not in "
        "('routellm_elo.plugin', 'routellm_elo.config')); assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
