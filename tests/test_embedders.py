"""Embedder base class, on-disk embedding cache and the litellm embedder (no network: litellm is stubbed)."""

import hashlib
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.embedders import Embedder, EmbeddingCache, length_sorted_batches
from routellm_core.errors import ConfigError
from routellm_core.paths import user_cache_dir


class FakeEmbedder(Embedder):
    name = "fake"
    dimension = 8
    batch_size = 3

    def __init__(self):
        self.batches = []

    def _embed_batch(self, texts):
        self.batches.append(list(texts))
        return np.asarray(
            [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], np.uint8).astype(np.float32) + 1 for t in texts]
        )


def test_embed_normalised_in_input_order_and_length_sorted_batches():
    e = FakeEmbedder()
    texts = ["ccc", "a", "bbbbbb", "dd", "e" * 10]
    vecs = e.embed(texts)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(vecs, np.concatenate([e.embed([t]) for t in texts]), rtol=1e-6)
    assert e.batches[0] == ["a", "dd", "ccc"]  # shortest first
    assert e.embed([]).shape == (0, 8)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=30), st.integers(1, 7))
def test_length_sorted_batches_cover_everything(texts, size):
    seen = np.concatenate(list(length_sorted_batches(texts, size))) if texts else np.zeros(0, int)
    assert sorted(seen.tolist()) == list(range(len(texts)))


def test_cache_reuses_and_survives_new_instance(tmp_path):
    e = FakeEmbedder()
    first = EmbeddingCache(e, root=tmp_path).embed(["x", "y", "x"])
    assert sum(len(b) for b in e.batches) == 2  # duplicates embedded once
    e.batches.clear()
    again = EmbeddingCache(e, root=tmp_path).embed(["y", "z", "x"])
    assert e.batches == [["z"]]
    np.testing.assert_array_equal(again[[0, 2]], first[[1, 0]])
    files = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert files <= {".npy", ".json"}


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path))
    assert user_cache_dir() == tmp_path


def test_litellm_embedder_registered_and_batches(monkeypatch):
    from routellm_core.default_plugins.litellm_embedder import LiteLLMEmbedder, LiteLLMEmbedderConfig
    from routellm_core.plugins import get_registry

    assert "litellm" in get_registry().names("embedders")
    calls = []

    def fake_embedding(model, input, **kwargs):  # noqa: A002 - litellm's argument name
        calls.append((model, list(input)))
        data = [{"index": i, "embedding": [float(len(t)), 1.0, 0.0]} for i, t in enumerate(input)]
        return types.SimpleNamespace(data=list(reversed(data)))

    import litellm

    monkeypatch.setattr(litellm, "embedding", fake_embedding)
    e = LiteLLMEmbedder(LiteLLMEmbedderConfig(model="my-embed", batch_size=2))
    assert e.dimension == 0  # unknown model: learnt from the first response
    vecs = e.embed(["abc", "a", "ab"])
    assert vecs.shape == (3, 3) and e.dimension == 3
    assert vecs[0, 0] > vecs[1, 0]
    assert [len(c[1]) for c in calls] == [2, 1] and calls[0][0] == "my-embed"
    with pytest.raises(
        ConfigError, match="invalid config for embedder 'litellm': model: String should have at least 1 character"
    ):
        get_registry().create_embedder("litellm", {"model": ""})


class UndeclaredDimension(FakeEmbedder):
    """An embedder that does not declare its dimension (like a remote model): it is learnt from the first batch."""

    name = "undeclared"
    dimension = 0


@pytest.mark.parametrize("progress", [False, True])
def test_cache_with_an_embedder_that_declares_no_dimension(tmp_path, progress):
    texts = [f"text {i}" * (i % 5 + 1) for i in range(300)]  # > 256: the progress path embeds in chunks
    e = UndeclaredDimension()
    vecs = EmbeddingCache(e, root=tmp_path).embed(texts, progress=progress)
    assert vecs.shape == (300, 8) and vecs.dtype == np.float32 and e.dimension == 8
    np.testing.assert_allclose(vecs, FakeEmbedder().embed(texts), rtol=1e-6)
    # a fresh embedder, still without a dimension, served from the cache (its key is taken before it learns one)
    e2 = UndeclaredDimension()
    again = EmbeddingCache(e2, root=tmp_path).embed(texts[:5] + ["new one"], progress=progress)
    assert again.shape == (6, 8)
    np.testing.assert_array_equal(again[:5], vecs[:5])
    assert EmbeddingCache(UndeclaredDimension(), root=tmp_path).embed([]).shape == (0, 0)
