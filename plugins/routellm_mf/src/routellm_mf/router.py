"""The ``mf`` router: P(strong beats weak | prompt) from a matrix-factorisation checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import Embedder, EmbeddingCache, Router, resolve_checkpoint, shared_embedder

from .checkpoint import MFCheckpoint, UnknownModelError, default_checkpoint_dir, load_checkpoint


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

    Settings from a config file are validated by :class:`routellm_mf.plugin.MFConfig` before this is called.

    Args:
        checkpoint: directory of a checkpoint (project or RouteLLM format) or a Hugging Face repo id;
            default: the checkpoint shipped in ``routellm_mf/default_checkpoint``.
        checkpoint_path: RouteLLM's name for ``checkpoint`` (its config files use it).
        strong_model, weak_model: trained model ids or aliases; default: the checkpoint's default pair(s).
            A checkpoint may name several ``default_pairs`` (e.g. the strong/weak pair it was trained on and
            the generic ``tier:strong``/``tier:weak`` pair); without an explicit pair their logits are averaged.
        model_aliases: deployment name -> trained model id, e.g. ``{"openai/gpt-4o": "gpt-4-1106-preview"}``.
        embedder: registered embedder name (default: the one the checkpoint was trained with), or an
            :class:`~routellm_core.embedders.Embedder` instance (Python API).
        embedder_kwargs: keyword arguments for the embedder (default: the checkpoint's).
        embedding_cache: keep prompt embeddings in the on-disk embedding cache (for repeated evaluation).
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        checkpoint_path: str | None = None,
        strong_model: str | None = None,
        weak_model: str | None = None,
        model_aliases: dict[str, str] | None = None,
        embedder: str | Embedder | None = None,
        embedder_kwargs: dict[str, Any] | None = None,
        embedding_cache: bool = False,
    ) -> None:
        path = resolve_checkpoint_path(checkpoint if checkpoint is not None else checkpoint_path)
        self.checkpoint: MFCheckpoint = load_checkpoint(path)
        self.model_aliases = dict(model_aliases or {})
        if strong_model is None and weak_model is None and self.checkpoint.default_pairs:
            pairs = [tuple(p) for p in self.checkpoint.default_pairs]
        else:
            strong = strong_model or self.checkpoint.default_strong
            weak = weak_model or self.checkpoint.default_weak
            if not strong or not weak:
                raise ValueError(
                    f"the checkpoint has no default model pair; set strong_model and weak_model "
                    f"(known models: {', '.join(self.checkpoint.models)})"
                )
            pairs = [(strong, weak)]
        self._pairs = []
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
        self._w = np.mean([self.checkpoint.pair_vector(s, w).astype(np.float64) for s, w in self._pairs], axis=0)
        if isinstance(embedder, Embedder):
            self.embedder = embedder
        else:
            spec = self.checkpoint.embedder
            name = embedder or spec.get("name", "minilm")
            kwargs = (
                embedder_kwargs if embedder_kwargs is not None else (spec.get("kwargs") or {} if name == spec.get("name") else {})
            )
            self.embedder = shared_embedder(name, kwargs, user="MF router")
        if self.embedder.dimension and self.embedder.dimension != self.checkpoint.text_dim:
            raise ValueError(
                f"embedder {self.embedder.name!r} gives {self.embedder.dimension}-d vectors; "
                f"the checkpoint expects {self.checkpoint.text_dim}-d"
            )
        self._cache = EmbeddingCache(self.embedder) if embedding_cache else None

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        if self._cache is not None:
            return self._cache.embed(prompts)
        return self.embedder.embed(prompts)

    def score_embeddings(self, embeddings: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        z = self.checkpoint.text_input(embeddings, prompts).astype(np.float64)
        logits = (z @ self._w.T).mean(axis=1)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        prompts = [str(p) for p in prompts]
        if not prompts:
            return np.zeros(0, dtype=np.float64)
        return self.score_embeddings(self.embed(prompts), prompts)

    def describe(self) -> dict:
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
