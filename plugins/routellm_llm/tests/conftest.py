import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from llm_helpers import tiny_llama  # noqa: E402


@pytest.fixture(scope="session")
def routellm_layout(tmp_path_factory):
    """RouteLLM's layout: a causal LM whose tokenizer has the five added label tokens."""
    return tiny_llama(tmp_path_factory.mktemp("routellm_layout"), labels=True)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A base model without label tokens (what an adapter is trained on)."""
    return tiny_llama(tmp_path_factory.mktemp("tiny_base"), labels=False, seed=1)


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory, tiny_base):
    """An adapter on the tiny base: two training steps, so LoRA and label rows are not at their initial values."""
    import numpy as np
    from routellm_llm.model import PromptFormat
    from routellm_llm.train import save_adapter, train_adapter

    texts = ["Prove that there are infinitely many primes.", "hi", "What is 2 + 2?", "Write a parser, with tests."] * 4
    targets = np.tile(np.eye(5, dtype=np.float32)[[0, 4, 4, 0]], (4, 1))
    fmt = PromptFormat(max_prompt_tokens=24, head_tokens=8)
    artefacts, _ = train_adapter(
        texts,
        targets,
        np.array([1.0, 0.0, 0.0, 1.0] * 4),
        base_model=str(tiny_base),
        prompt_format=fmt,
        batch_size=8,
        lr=1e-2,
        label_lr=1e-2,
        val_fraction=0.25,
        progress=False,
        log=lambda *a: None,
    )
    out = tmp_path_factory.mktemp("tiny_adapter")
    save_adapter(out, artefacts, fmt, str(tiny_base))
    return out
