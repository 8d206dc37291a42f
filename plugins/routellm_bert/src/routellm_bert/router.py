"""The ``bert`` router: a 3-label classifier's P(strong wins) per prompt (RouteLLM's ``BERTRouter``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import Router

from .classifier import Classifier, load_classifier
from .plugin import BertConfig

DEFAULT_CHECKPOINT = Path(__file__).parent / "default_checkpoint"


class BertRouter(Router):
    """Scores prompts with a fine-tuned sequence classifier; batched by exact word-piece count.

    ``config`` (:class:`~routellm_bert.plugin.BertConfig`, default: its defaults): ``checkpoint`` is a
    directory in this package's format or a Hugging Face classifier directory in RouteLLM's layout (default:
    the shipped checkpoint); ``max_length`` / ``head_tokens`` override the checkpoint's truncation;
    ``num_threads`` sets torch's CPU threads.
    """

    def __init__(self, config: BertConfig | None = None) -> None:
        self.config = config if config is not None else BertConfig()
        if self.config.num_threads is not None:
            import torch

            torch.set_num_threads(self.config.num_threads)
        self.checkpoint = self.config.checkpoint if self.config.checkpoint is not None else str(DEFAULT_CHECKPOINT)
        self.batch_size = self.config.batch_size
        self.classifier: Classifier = load_classifier(self.checkpoint, self.config.max_length, self.config.head_tokens)

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        return self.classifier.score([str(p) for p in prompts], self.batch_size)

    def describe(self) -> dict[str, Any]:
        return {"router": self.name or "bert", "checkpoint_sha256": self.classifier.digest, **self.classifier.description}

    def checkpoint_digest(self) -> str | None:
        return self.classifier.digest
