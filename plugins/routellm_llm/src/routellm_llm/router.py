"""The ``causal_llm`` router: 1 - P(weak model's grade >= 4), read from a causal LM's next-token distribution."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import Router

from .model import ScoringModel, load_scoring_model
from .plugin import CausalLLMConfig

#: batch == one-by-one tolerance: the same prompt in a padded batch and alone goes through matrix products of
#: different shapes, so float32 rounding differs (measured below 1e-5 on SmolLM2; the contract test uses this)
BATCH_ATOL = 1e-4


class CausalLLMRouter(Router):
    """RouteLLM's causal-LLM classifier router.

    ``config``: :class:`~routellm_llm.plugin.CausalLLMConfig` (default: its defaults, i.e. the shipped adapter
    on SmolLM2-135M-Instruct), which says what each setting means and checks them.
    """

    def __init__(self, config: CausalLLMConfig | None = None) -> None:
        self.config = config if config is not None else CausalLLMConfig()
        if self.config.num_threads is not None:
            import torch

            torch.set_num_threads(self.config.num_threads)
        self.batch_size = self.config.batch_size
        self.score_threshold = self.config.score_threshold
        checkpoint = self.config.checkpoint if self.config.checkpoint is not None else self.config.checkpoint_path
        prompt = {"max_prompt_tokens": self.config.max_prompt_tokens, "head_tokens": self.config.head_tokens}
        self.scorer: ScoringModel = load_scoring_model(
            checkpoint, base_model=self.config.base_model, labels=self.config.labels, prompt=prompt
        )
        self._checkpoint = checkpoint

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        prompts = list(prompts)
        if not prompts:
            return np.zeros(0, np.float64)
        ids = self.scorer.encode(prompts)
        return self.scorer.score_ids(ids, batch_size=self.batch_size, score_threshold=self.score_threshold)

    def describe(self) -> dict[str, Any]:
        return {
            "router": self.name or "causal_llm",
            "checkpoint": self._checkpoint or "default",
            "checkpoint_digest": self.scorer.digest,
            **self.scorer.source,
            **self.scorer.prompt_format.describe(),
            "labels": list(self.scorer.labels),
            "score_threshold": self.score_threshold,
        }

    def checkpoint_digest(self) -> str | None:
        return self.scorer.digest
