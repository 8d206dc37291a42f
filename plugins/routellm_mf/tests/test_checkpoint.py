"""Checkpoint formats: the project's own and RouteLLM's published one (created locally)."""

import json

import numpy as np
import pytest
from routellm_mf.checkpoint import ROUTELLM_MODELS, MFCheckpoint, load_checkpoint
from routellm_mf.plugin import MFConfig
from routellm_mf.router import MFRouter

from routellm_core.testing import HashEmbedder, RouterContractTests


def make_routellm_checkpoint(directory, dim=16, num_models=64, text_dim=1536, seed=0, fmt="safetensors"):
    """A checkpoint laid out like routellm/mf_gpt4_augmented on the Hugging Face hub."""
    rng = np.random.default_rng(seed)
    tensors = {
        "P.weight": rng.standard_normal((num_models, dim)).astype(np.float32),
        "text_proj.0.weight": (rng.standard_normal((dim, text_dim)) / np.sqrt(text_dim)).astype(np.float32),
        "classifier.0.weight": rng.standard_normal((1, dim)).astype(np.float32),
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(
        json.dumps({"dim": dim, "num_models": num_models, "text_dim": text_dim, "num_classes": 1, "use_proj": True})
    )
    if fmt == "safetensors":
        from safetensors.numpy import save_file

        save_file(tensors, str(directory / "model.safetensors"))
    else:
        torch = pytest.importorskip("torch", reason="writing a pytorch_model.bin needs torch (routellm-mf[train])")
        torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, str(directory / "pytorch_model.bin"))
    return tensors


def reference_win_rate(tensors, a, b, x):
    """RouteLLM's MFModel.pred_win_rate, written out in numpy."""
    P = tensors["P.weight"] / np.linalg.norm(tensors["P.weight"], axis=1, keepdims=True)
    u = tensors["text_proj.0.weight"] @ x
    c = tensors["classifier.0.weight"][0]
    la, lb = c @ (P[a] * u), c @ (P[b] * u)
    return 1 / (1 + np.exp(-(la - lb)))


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_routellm_format_loads_and_scores(tmp_path, fmt):
    tensors = make_routellm_checkpoint(tmp_path / "mf_gpt4_augmented", fmt=fmt)
    emb = HashEmbedder(1536)
    router = MFRouter(MFConfig(checkpoint_path=str(tmp_path / "mf_gpt4_augmented")), embedder=emb)
    assert router.checkpoint.source_format == "routellm"
    assert router.checkpoint.embedder["name"] == "litellm"  # RouteLLM used OpenAI embeddings
    prompts = ["What is the capital of France?", "Prove the Riemann hypothesis."]
    scores = router.score(prompts)
    x = emb.embed(prompts)
    s, w = ROUTELLM_MODELS.index("gpt-4-1106-preview"), ROUTELLM_MODELS.index("mixtral-8x7b-instruct-v0.1")
    expected = [reference_win_rate(tensors, s, w, xi) for xi in x]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_routellm_format_any_pair_and_aliases(tmp_path):
    make_routellm_checkpoint(tmp_path / "ck")
    r = MFRouter(
        MFConfig(
            checkpoint=str(tmp_path / "ck"),
            strong_model="openai/gpt-4o",
            weak_model="llama-2-70b-chat",
            model_aliases={"openai/gpt-4o": "gpt-4-0613"},
        ),
        embedder=HashEmbedder(1536),
    )
    assert r.describe()["strong_model"] == "gpt-4-0613"
    assert r.score(["hi"]).shape == (1,)


def test_unknown_model_lists_known(tmp_path):
    make_routellm_checkpoint(tmp_path / "ck")
    with pytest.raises(ValueError) as err:
        MFRouter(MFConfig(checkpoint=str(tmp_path / "ck"), strong_model="gpt-99"), embedder=HashEmbedder(1536))
    assert "gpt-99" in str(err.value) and "gpt-4-1106-preview" in str(err.value) and "model_aliases" in str(err.value)


def test_wrong_embedding_dimension(tmp_path):
    make_routellm_checkpoint(tmp_path / "ck")
    with pytest.raises(ValueError, match="1536"):
        MFRouter(MFConfig(checkpoint=str(tmp_path / "ck")), embedder=HashEmbedder(384))


def test_own_format_roundtrip(tmp_path):
    rng = np.random.default_rng(1)
    ck = MFCheckpoint(
        P=rng.standard_normal((3, 4, 8)),
        text_proj=rng.standard_normal((3, 8, 34)),
        classifier=rng.standard_normal((3, 8)),
        models=["a", "b", "c", "d"],
        features=["log_chars", "bias"],
        feature_mean=[5.0, 0.0],
        feature_std=[1.0, 1.0],
        default_strong="a",
        default_weak="d",
        aliases={"openai/gpt-4o": "a"},
        embedder={"name": "hash", "kwargs": {}},
    )
    ck.save(tmp_path / "own")
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.bin"))
    back = load_checkpoint(tmp_path / "own")
    assert back.digest() == ck.digest() and back.models == ck.models and back.aliases == ck.aliases
    emb = HashEmbedder(32)
    r = MFRouter(MFConfig(checkpoint=str(tmp_path / "own"), strong_model="openai/gpt-4o"), embedder=emb)
    x = emb.embed(["hello"])
    z = np.concatenate([x[0], [(np.log1p(5) - 5.0), 1.0]])
    P = ck.P / np.linalg.norm(ck.P, axis=2, keepdims=True)
    logit = np.mean([ck.classifier[k] @ ((P[k, 0] - P[k, 3]) * (ck.text_proj[k] @ z)) for k in range(3)])
    np.testing.assert_allclose(r.score(["hello"]), [1 / (1 + np.exp(-logit))], rtol=1e-5)


def test_missing_checkpoint_is_config_error(tmp_path):
    from routellm_core.errors import ConfigError

    with pytest.raises(ConfigError):
        MFRouter(MFConfig(checkpoint=str(tmp_path / "nope")), embedder=HashEmbedder(384))


class TestRouteLLMCheckpointContract(RouterContractTests):
    _dir = None

    def make_router(self):
        import tempfile
        from pathlib import Path

        if TestRouteLLMCheckpointContract._dir is None:
            d = Path(tempfile.mkdtemp()) / "ck"
            make_routellm_checkpoint(d)
            TestRouteLLMCheckpointContract._dir = d
        return MFRouter(MFConfig(checkpoint=str(self._dir)), embedder=HashEmbedder(1536))


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    from routellm_core.errors import ConfigError, MissingDependencyError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises((ConfigError, MissingDependencyError)) as err:
        MFRouter(MFConfig(checkpoint_path="routellm/mf_gpt4_augmented_not_here"), embedder=HashEmbedder(1536))
    assert "mf_gpt4_augmented_not_here" in str(err.value) or "huggingface_hub" in str(err.value)


def test_bad_config_values(tmp_path):
    from routellm_core.errors import ConfigError
    from routellm_core.plugins import get_registry

    make_routellm_checkpoint(tmp_path / "ck")
    with pytest.raises(ConfigError, match="model_aliases: Input should be a valid dictionary"):
        get_registry().create_router("mf", {"checkpoint": str(tmp_path / "ck"), "model_aliases": ["x"]})
    with pytest.raises(ValueError, match="same trained model"):
        MFRouter(
            MFConfig(
                checkpoint=str(tmp_path / "ck"),
                strong_model="gpt-4-0613",
                weak_model="gpt4",
                model_aliases={"gpt4": "gpt-4-0613"},
            ),
            embedder=HashEmbedder(1536),
        )
