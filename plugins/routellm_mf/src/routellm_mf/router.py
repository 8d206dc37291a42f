"""The ``mf`` router: P(strong beats weak | prompt) from a matrix-factorisation checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import Embedder, EmbeddingCache, Router, resolve_checkpoint, shared_embedder

from .checkpoint import MFCheckpoint, UnknownModelError, default_checkpoint_dir, load_checkpoint
from .plugin import MFConfig


def resolve_checkpoint_path(path: str | None) -> Path:
    """A local directory, or a Hugging Face repo id (``routellm/mf_gpt4_augmented``) fetched with huggingface_hub."""
    return resolve_checkpoint(
        path,
        default=default_checkpoint_dir,
        what="MF checkpoint",
        install_hint="pip install 'routellm-mf[hub]'",
        allow_patterns=["config.json", "*.safetensors", "*.bin"],
    )


class MFRouter(Router):
    """Matrix-factorisation router (RouteLLM's ``mf``).

    Args:
        config: the validated settings (:class:`routellm_mf.plugin.MFConfig`, where each one is described);
            None: the defaults (the shipped checkpoint, its default pair(s) and its embedder).
        embedder: an :class:`~routellm_core.plugin_api.Embedder` instance to use instead of the registered
            embedder ``config.embedder`` names (Python API, e.g. a fake embedder in tests).
    """

    def __init__(self, config: MFConfig | None = None, *, embedder: Embedder | None = None) -> None:
        self.config = config = config or MFConfig()
        self.checkpoint: MFCheckpoint = load_checkpoint(resolve_checkpoint_path(config.checkpoint_location))
        self.model_aliases = dict(config.model_aliases or {})
        pairs: list[tuple[str, str]]
        if config.strong_model is None and config.weak_model is None and self.checkpoint.default_pairs:
            pairs = [(s, w) for s, w in self.checkpoint.default_pairs]
        else:
            strong = config.strong_model or self.checkpoint.default_strong
            weak = config.weak_model or self.checkpoint.default_weak
            if not strong or not weak:
                raise ValueError(
                    f"the checkpoint has no default model pair; set strong_model and weak_model "
                    f"(known models: {', '.join(self.checkpoint.models)})"
                )
            pairs = [(strong, weak)]
        self._pairs: list[tuple[int, int]] = []
        for strong, weak in pairs:
            try:
                s_idx = self.checkpoint.resolve(strong, self.model_aliases)
                w_idx = self.checkpoint.resolve(weak, self.model_aliases)
            except UnknownModelError as exc:
                raise ValueError(str(exc)) from None
            if s_idx == w_idx:
                raise ValueError(
                    f"strong_model and weak_model resolve to the same trained model {self.checkpoint.models[s_idx]!r}"
                )
            self._pairs.append((s_idx, w_idx))
        self._strong, self._weak = self._pairs[0]
        self.strong_model, self.weak_model = pairs[0]
        # the pairs' weights, precomputed and averaged: scoring is embed + one matrix product
        self._w: np.ndarray = np.mean([self.checkpoint.pair_vector(s, w).astype(np.float64) for s, w in self._pairs], axis=0)
        if embedder is not None:
            self.embedder = embedder
        else:
            spec = self.checkpoint.embedder
            name = config.embedder or spec.get("name", "minilm")
            kwargs = (
                config.embedder_kwargs
                if config.embedder_kwargs is not None
                else (spec.get("kwargs") or {} if name == spec.get("name") else {})
            )
            self.embedder = shared_embedder(name, kwargs, user="MF router")
        if self.embedder.dimension and self.embedder.dimension != self.checkpoint.text_dim:
            raise ValueError(
                f"embedder {self.embedder.name!r} gives {self.embedder.dimension}-d vectors; "
                f"the checkpoint expects {self.checkpoint.text_dim}-d"
            )
        self._cache = EmbeddingCache(self.embedder) if config.embedding_cache else None

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        if self._cache is not None:
            return self._cache.embed(prompts)
        return self.embedder.embed(prompts)

    def score_embeddings(self, embeddings: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        z = self.checkpoint.text_input(embeddings, prompts).astype(np.float64)
        logits = (z @ self._w.T).mean(axis=1)
        scores: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
        return scores

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        prompts = [str(p) for p in prompts]
        if not prompts:
            return np.zeros(0, dtype=np.float64)
        return self.score_embeddings(self.embed(prompts), prompts)

    def describe(self) -> dict[str, Any]:
        return {
            "router": "mf",
            "checkpoint": self.checkpoint_digest(),
            "strong_model": self.checkpoint.models[self._strong],
            "weak_model": self.checkpoint.models[self._weak],
            **(
                {"pairs": [[self.checkpoint.models[s], self.checkpoint.models[w]] for s, w in self._pairs]}
                if len(self._pairs) > 1
                else {}
            ),
            "embedder": self.embedder.describe(),
        }

    def checkpoint_digest(self) -> str | None:
        return self.checkpoint.digest()
