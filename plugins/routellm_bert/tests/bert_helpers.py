"""Small checkpoints for the bert plugin's tests: trained in a second on synthetic prompts, or built as
RouteLLM-style Hugging Face classifiers with a tiny encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from routellm_core.testing import shared_data_dir

HARD = [f"Prove theorem {i} about prime gaps and integrals with full rigour, step by step." for i in range(24)]
EASY = [f"Say hello number {i}." for i in range(24)]
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat"


def data_dir() -> Path | None:
    return shared_data_dir(Path(__file__).resolve().parents[3])


def write_score_matrix(path: Path) -> Path:
    """Hard prompts: the strong model right, the weak one wrong; easy prompts: both right."""
    rows = [{"question": p, "scores": {STRONG: 1.0, WEAK: 0.0, "llama": 0.0}} for p in HARD]
    rows += [{"question": p, "scores": {STRONG: 1.0, WEAK: 1.0, "llama": 1.0}} for p in EASY]
    path.write_text(json.dumps(rows))
    return path


def train_tiny(out: Path, seed: int = 0) -> Path:
    """A checkpoint in this package's format, trained for 3 epochs on the synthetic prompts."""
    from routellm_bert.classifier import WEIGHTS_FILE, ClassifierSpec
    from routellm_bert.train import soft_targets, train_classifier, trained_tensors
    from safetensors.torch import save_file

    spec = ClassifierSpec(strong_model=STRONG, weak_model=WEAK)
    targets = soft_targets(np.array([1.0] * len(HARD) + [0.5] * len(EASY)))
    model, _ = train_classifier(HARD + EASY, targets, spec, epochs=3, lr=1e-3, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    save_file(trained_tensors(model, spec), str(out / WEIGHTS_FILE))
    spec.save(out)
    return out


def tiny_hf_classifier(out: Path, num_labels: int = 3, model_type: str = "bert", seed: int = 0) -> Path:
    """A RouteLLM-layout Hugging Face directory: a tiny randomly initialised sequence classifier and its tokenizer."""
    import torch
    from routellm_bert.base import tokenizer_file
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    torch.manual_seed(seed)
    common = dict(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_labels=num_labels
    )
    if model_type == "roberta":
        model = RobertaForSequenceClassification(RobertaConfig(max_position_embeddings=66, pad_token_id=1, **common))
    else:
        model = BertForSequenceClassification(BertConfig(max_position_embeddings=64, **common))
    model.save_pretrained(str(out))
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file()),
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    tok.save_pretrained(str(out))
    return out
