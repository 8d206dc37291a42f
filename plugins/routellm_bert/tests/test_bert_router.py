"""The bert router: contract, both checkpoint formats, truncation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from bert_helpers import EASY, HARD, tiny_hf_classifier, train_tiny
from hypothesis import given, settings
from hypothesis import strategies as st
from routellm_bert.classifier import load_classifier, strong_win_probability, truncate, width_batches
from routellm_bert.plugin import BertConfig
from routellm_bert.router import BertRouter

from routellm_core.errors import ConfigError
from routellm_core.plugins import get_registry
from routellm_core.testing import RouterContractTests
from routellm_core.testing.contract import check_config_model


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("bert") / "ckpt")


class TestBertContract(RouterContractTests):
    @pytest.fixture(autouse=True)
    def _checkpoint(self, tiny_checkpoint):
        self.checkpoint = tiny_checkpoint

    def make_router(self):
        return BertRouter(BertConfig(checkpoint=str(self.checkpoint)))


def test_trained_checkpoint_separates_hard_from_easy(tiny_checkpoint):
    router = BertRouter(BertConfig(checkpoint=str(tiny_checkpoint)))
    hard, easy = router.score(HARD[:6]), router.score(EASY[:6])
    assert hard.min() > easy.max()
    assert router.describe()["format"] == "routellm-bert/1"
    assert router.checkpoint_digest() == router.describe()["checkpoint_sha256"]


def test_score_is_routellms_rule():
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(strong_win_probability(logits), 1 - (p[:, 1] + p[:, 2]))


@pytest.mark.parametrize("model_type", ["bert", "roberta"])
def test_routellm_hf_layout_loads_and_scores_with_the_same_rule(tmp_path, model_type):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = tiny_hf_classifier(tmp_path / "hf", model_type=model_type)
    router = BertRouter(BertConfig(checkpoint=str(directory)))
    prompts = ["What is 2 + 2?", "Explain the proof of Fermat's last theorem in detail."]
    model = AutoModelForSequenceClassification.from_pretrained(str(directory)).eval()
    tok = AutoTokenizer.from_pretrained(str(directory))
    expected = []
    with torch.no_grad():
        for prompt in prompts:
            p = torch.softmax(model(**tok(prompt, return_tensors="pt")).logits[0].double(), dim=0).numpy()
            expected.append(1 - (p[1] + p[2]))
    np.testing.assert_allclose(router.score(prompts), expected, rtol=1e-5, atol=1e-6)
    assert router.describe()["format"] == "huggingface"
    assert router.score(["word " * 5000]).shape == (1,)  # longer than the tiny model's 64 positions: truncated


def test_a_classifier_with_other_than_3_labels_is_refused(tmp_path):
    directory = tiny_hf_classifier(tmp_path / "two", num_labels=2)
    with pytest.raises(ConfigError, match="2 labels; the bert router needs 3"):
        BertRouter(BertConfig(checkpoint=str(directory)))


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not a bert router checkpoint"):
        BertRouter(BertConfig(checkpoint=str(tmp_path)))


def test_weights_that_do_not_match_the_spec_are_refused(tiny_checkpoint, tmp_path):
    import json
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_checkpoint, bad)
    spec = json.loads((bad / "routellm_bert.json").read_text())
    spec["trained_layers"] = 2
    (bad / "routellm_bert.json").write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match="tensors do not match"):
        BertRouter(BertConfig(checkpoint=str(bad)))


def test_very_long_and_odd_prompts_score(tiny_checkpoint):
    router = BertRouter(BertConfig(checkpoint=str(tiny_checkpoint)))
    prompts = ["x " * 20000, "", "\ud800 surrogate", "数学の問題を解いてください。" * 300, "\x00\x01"]
    scores = router.score(prompts)
    assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))


def test_truncation_setting_changes_what_is_read(tiny_checkpoint):
    router = BertRouter(BertConfig(checkpoint=str(tiny_checkpoint), max_length=16, head_tokens=4))
    rows = router.classifier.encode(["one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"])
    assert len(rows[0]) == 16
    with pytest.raises(ConfigError, match="head_tokens"):
        BertRouter(BertConfig(checkpoint=str(tiny_checkpoint), max_length=16, head_tokens=15))


def test_trainer_reads_texts_as_the_router_does(tiny_checkpoint):
    from routellm_bert.classifier import ClassifierSpec
    from routellm_bert.train import encode_with_lengths

    texts = ["\ud800 lone surrogate", "word " * 400, "What is 2 + 2?"]
    router = BertRouter(BertConfig(checkpoint=str(tiny_checkpoint)))
    rows, lengths = encode_with_lengths(texts, ClassifierSpec())
    expected_rows, expected_lengths = router.classifier.encode_with_lengths(texts)
    assert rows == expected_rows and lengths.tolist() == expected_lengths
    assert max(len(r) for r in rows) == 128 and lengths[1] > 400


def test_length_head_reads_what_truncation_hides(tiny_checkpoint, tmp_path):
    """Two prompts that truncate to the same word pieces score alike, unless the checkpoint reads length."""
    import shutil

    import torch
    from routellm_bert.classifier import SPEC_FILE, WEIGHTS_FILE, ClassifierSpec
    from safetensors.torch import load_file, save_file

    short = "alpha " + "filler " * 150 + "omega"
    long = "alpha " + "filler " * 600 + "omega"
    plain = BertRouter(BertConfig(checkpoint=str(tiny_checkpoint)))
    assert plain.classifier.encode([short]) == plain.classifier.encode([long])
    assert plain.score([short])[0] == plain.score([long])[0]
    with_length = tmp_path / "with_length"
    shutil.copytree(tiny_checkpoint, with_length)
    spec = ClassifierSpec.load(with_length)
    spec.length_feature = True
    spec.save(with_length)
    tensors = load_file(str(with_length / WEIGHTS_FILE))
    tensors["length_head.weight"] = torch.tensor([[1.0], [0.0], [-1.0]], dtype=torch.float16)
    save_file(tensors, str(with_length / WEIGHTS_FILE))
    router = BertRouter(BertConfig(checkpoint=str(with_length)))
    assert router.describe()["length_feature"] is True
    s_short, s_long = router.score([short, long])
    assert s_long > s_short
    spec.length_scale = "linear"
    spec.save(with_length)
    linear = BertRouter(BertConfig(checkpoint=str(with_length)))
    assert linear.describe()["length_scale"] == "linear"
    l_short, l_long = linear.score([short, long])
    assert l_long > l_short and (l_short, l_long) != (s_short, s_long)
    spec.length_scale = "cubic"
    spec.save(with_length)
    with pytest.raises(ConfigError, match=f"{SPEC_FILE}: length_scale must be one of log, linear, got 'cubic'"):
        BertRouter(BertConfig(checkpoint=str(with_length)))
    spec.length_scale = "log"
    spec.save(with_length)
    tensors.pop("length_head.weight")
    save_file(tensors, str(with_length / WEIGHTS_FILE))  # the spec asks for a length head the weights lack
    with pytest.raises(ConfigError, match="length_head"):
        BertRouter(BertConfig(checkpoint=str(with_length)))
    assert (with_length / SPEC_FILE).is_file()


def test_length_input_scales():
    from routellm_bert.classifier import length_input

    n = [64, 128, 256, 1024]
    np.testing.assert_allclose(length_input(n).numpy()[:, 0], np.log(np.array(n) / 128), rtol=1e-6)
    np.testing.assert_allclose(length_input(n, "linear").numpy()[:, 0], [-0.5, 0.0, 1.0, 7.0], rtol=1e-6)
    with pytest.raises(ConfigError, match="length_scale"):
        length_input(n, "Linear")


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 400), st.integers(3, 64), st.data())
def test_truncate_keeps_specials_head_and_tail(n, max_length, data):
    head = data.draw(st.integers(0, max_length - 2))
    ids = list(range(n))
    out = truncate(ids, max_length, head)
    assert len(out) == min(n, max_length)
    assert out[0] == ids[0] and out[-1] == ids[-1]
    if n > max_length:
        body = out[1:-1]
        assert body[:head] == ids[1 : 1 + head]
        tail = max_length - 2 - head
        assert body[head:] == (ids[-1 - tail : -1] if tail else [])


@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=6), max_size=40), st.integers(1, 8))
def test_width_batches_cover_every_row_once_with_equal_widths(rows, batch_size):
    batches = width_batches(rows, batch_size)
    assert sorted(i for b in batches for i in b) == list(range(len(rows)))
    for b in batches:
        assert 1 <= len(b) <= batch_size and len({len(rows[i]) for i in b}) == 1


def test_config_model_mirrors_the_factory():
    check_config_model(BertConfig, BertRouter)


@pytest.mark.parametrize(
    "settings, message",
    [({"max_length": 2}, "max_length"), ({"batch_size": 0}, "batch_size"), ({"checkpoint": ""}, "checkpoint")],
)
def test_bad_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        get_registry().create_router("bert", settings)


def test_load_classifier_is_deterministic(tiny_checkpoint):
    a = load_classifier(tiny_checkpoint).score(HARD[:3] + EASY[:3])
    b = load_classifier(tiny_checkpoint).score(HARD[:3] + EASY[:3])
    np.testing.assert_array_equal(a, b)


def test_first_token_shortcut_equals_the_full_model():
    import torch
    from routellm_bert.classifier import ClassifierSpec, bottom_hidden, build_base_model, top_logits
    from routellm_bert.train import encode_prompts

    spec = ClassifierSpec()
    model = build_base_model(spec).eval()
    for row in encode_prompts(["What is 2 + 2?", "Explain, step by step, why the sky looks blue at noon."], spec):
        ids = torch.tensor([row])
        with torch.no_grad():
            full = model(input_ids=ids).logits
            for first in range(model.config.num_hidden_layers + 1):
                torch.testing.assert_close(top_logits(model, bottom_hidden(model, ids, first), first), full, rtol=1e-5, atol=1e-6)
