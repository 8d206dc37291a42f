"""The causal_llm router on tiny local models: contract, scoring rule, both checkpoint layouts, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from routellm_llm.model import LABELS, PromptFormat, load_scoring_model
from routellm_llm.plugin import CausalLLMConfig
from routellm_llm.router import BATCH_ATOL, CausalLLMRouter

from routellm_core.errors import ConfigError
from routellm_core.testing import RouterContractTests, check_config_model


class TestRouteLLMLayoutContract(RouterContractTests):
    batch_atol = BATCH_ATOL

    @pytest.fixture(autouse=True)
    def _checkpoint(self, routellm_layout):
        self.checkpoint = str(routellm_layout)

    def make_router(self):
        return CausalLLMRouter(CausalLLMConfig(checkpoint=self.checkpoint, batch_size=3))


class TestAdapterContract(RouterContractTests):
    batch_atol = BATCH_ATOL

    @pytest.fixture(autouse=True)
    def _checkpoint(self, tiny_adapter):
        self.checkpoint = str(tiny_adapter)

    def make_router(self):
        return CausalLLMRouter(CausalLLMConfig(checkpoint=self.checkpoint, batch_size=3))


def _reference_score(directory, prompt: str) -> float:
    """RouteLLM's rule, computed the slow way: full forward of one unpadded sequence, all logits, pick the labels."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory).eval()
    ids = PromptFormat().encode(tok, [prompt])[0]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1].double()
    label_ids = [tok.convert_tokens_to_ids(t) for t in LABELS]
    p = torch.softmax(logits[label_ids], dim=0)
    return float(1.0 - p[3] - p[4])


def test_score_is_one_minus_p4_p5_over_the_five_tokens(routellm_layout):
    prompts = ["What is 2 + 2?", "Prove that there are infinitely many primes."]
    scores = CausalLLMRouter(CausalLLMConfig(checkpoint=str(routellm_layout))).score(prompts)
    expected = [_reference_score(routellm_layout, p) for p in prompts]
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_cached_template_prefix_gives_the_full_forward_scores(routellm_layout):
    """Prompts of different lengths in one batch: padding sits between the cached prefix and each prompt, masked out."""
    prompts = ["hi", "What is 2 + 2?", "Prove that there are infinitely many primes, then say why the proof works. " * 3]
    scorer = CausalLLMRouter(CausalLLMConfig(checkpoint=str(routellm_layout), batch_size=3)).scorer
    ids = scorer.encode(prompts)
    prefix = scorer.prefix_ids()
    assert prefix and all(x[: len(prefix)] == prefix for x in ids)
    cached = scorer.score_ids(ids, batch_size=3, score_threshold=4)
    scorer.cache_prefix = False
    try:
        full = scorer.score_ids(ids, batch_size=3, score_threshold=4)
    finally:
        scorer.cache_prefix = True
    np.testing.assert_allclose(cached, full, atol=1e-6)
    np.testing.assert_allclose(cached, [_reference_score(routellm_layout, p) for p in prompts], atol=1e-5)


def test_score_threshold_moves_the_cut(routellm_layout):
    prompt = ["What is 2 + 2?"]
    s3, s4, s5 = (
        CausalLLMRouter(CausalLLMConfig(checkpoint=str(routellm_layout), score_threshold=k)).score(prompt)[0] for k in (3, 4, 5)
    )
    assert s3 < s4 < s5


def test_routellm_prompt_files_are_used(tmp_path, routellm_layout):
    import shutil

    d = tmp_path / "ckpt"
    shutil.copytree(routellm_layout, d)
    (d / "system_ft_v5.txt").write_text("Grade it.")
    (d / "classifier_ft_v5.txt").write_text("Q: {question}\nGrade:")
    scorer = load_scoring_model(str(d))
    assert scorer.prompt_format.system_message == "Grade it."
    assert scorer.prompt_format.user_template == "Q: {question}\nGrade:"


def test_tokenizer_without_the_label_tokens_is_a_clear_error(tiny_base):
    with pytest.raises(ConfigError) as err:
        CausalLLMRouter(CausalLLMConfig(checkpoint=str(tiny_base)))
    assert all(label in str(err.value) for label in LABELS)


def test_over_long_prompts_keep_head_and_tail(routellm_layout):
    router = CausalLLMRouter(CausalLLMConfig(checkpoint=str(routellm_layout), max_prompt_tokens=20, head_tokens=5))
    fmt, tok = router.scorer.prompt_format, router.scorer.tokenizer
    long_prompt = "START " + "word " * 5000 + "THE QUESTION IS HERE"
    ids = fmt.encode(tok, [long_prompt, ""])
    prefix_suffix = len(ids[1])
    ellipsis = len(tok("\n...\n", add_special_tokens=False)["input_ids"])
    assert len(ids[0]) == prefix_suffix + 20 + ellipsis
    text = tok.decode(ids[0])
    assert "START" in text and "IS HERE" in text and "word word word word" not in text
    scores = router.score([long_prompt, "hi"])
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_special_token_strings_in_a_prompt_are_plain_text(routellm_layout):
    router = CausalLLMRouter(CausalLLMConfig(checkpoint=str(routellm_layout)))
    ids = router.scorer.encode(["[[5]] <|im_end|>"])[0]
    label_ids = {router.scorer.tokenizer.convert_tokens_to_ids(t) for t in LABELS}
    prefix = router.scorer.encode([""])[0]
    assert not label_ids & set(ids[len(prefix) - 6 :])  # none in the user's text (the system message may name them)


def test_adapter_scores_differ_from_base_initialisation(tiny_adapter):
    router = CausalLLMRouter(CausalLLMConfig(checkpoint=str(tiny_adapter)))
    scores = router.score(["Prove that there are infinitely many primes.", "hi"])
    assert scores[0] > scores[1]  # trained: grade 1 for the proof, 5 for the greeting


def test_describe_and_digest(tiny_adapter):
    router = CausalLLMRouter(CausalLLMConfig(checkpoint=str(tiny_adapter)))
    d = router.describe()
    assert d["layout"] == "adapter" and d["max_prompt_tokens"] == 24 and d["head_tokens"] == 8
    assert router.checkpoint_digest() == d["checkpoint_digest"] and len(d["checkpoint_digest"]) == 64
    json.dumps(d)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"score_threshold": 6}, r"score_threshold must be in \[1, 5\], got 6"),
        ({"num_outputs": 4}, "num_outputs is 4 but there are 5 special_tokens"),
        ({"special_tokens": ["[[1]]", "[[2]]"]}, r"score_threshold must be in \[1, 2\], got 4"),
        ({"special_tokens": ["[[1]]"]}, "special_tokens"),
        ({"batch_size": 0}, "batch_size"),
        ({"checkpoint_path": "elsewhere"}, "give checkpoint or checkpoint_path, not both"),
    ],
)
def test_bad_settings_are_config_errors(routellm_layout, settings, message):
    from routellm_core.plugins import get_registry

    with pytest.raises(ConfigError, match=message):  # refused by CausalLLMConfig, before any model loads
        get_registry().create_router("causal_llm", {"checkpoint": str(routellm_layout), **settings})
    with pytest.raises(ValueError, match=message):
        CausalLLMConfig(checkpoint=str(routellm_layout), **settings)


def test_a_missing_checkpoint_is_a_config_error():
    with pytest.raises(ConfigError, match="not found"):
        CausalLLMRouter(CausalLLMConfig(checkpoint="./no/such/dir"))


def test_config_model_mirrors_the_factory():
    check_config_model(CausalLLMConfig, CausalLLMRouter)


def test_routellm_config_keys_through_the_registry(routellm_layout):
    from routellm_core.plugins import get_registry

    settings = {
        "checkpoint_path": str(routellm_layout),
        "score_threshold": 4,
        "special_tokens": list(LABELS),
        "num_outputs": 5,
        "model_type": "causal",
        "model_id": "meta-llama/Meta-Llama-3-8B",
        "flash_attention_2": False,
    }
    router = get_registry().create_router("causal_llm", settings)
    assert router.score(["hi"]).shape == (1,)


def test_plugin_module_imports_no_torch():
    code = "import sys, routellm_llm.plugin; print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
