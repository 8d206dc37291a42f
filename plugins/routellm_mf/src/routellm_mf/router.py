"""The ``mf`` router: P(strong beats weak | prompt) from a matrix-factorisation checkpoint, and, for
N-model routing, a predicted quality in [0, 1] per model from a checkpoint with a quality head."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import (
    ConfigError,
    Embedder,
    EmbeddingCache,
    QualityRouter,
    Router,
    RoutingError,
    resolve_checkpoint,
    shared_embedder,
)

from .checkpoint import (
    TIER_PREFIX,
    MFCheckpoint,
    UnknownModelError,
    default_checkpoint_dir,
    default_quality_checkpoint_dir,
    load_checkpoint,
)
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


@dataclass(frozen=True)
class QualityHead:
    """What N-model prediction needs, built once: the checkpoint, its embedder and per-model weight vectors."""

    checkpoint: MFCheckpoint
    embed: Callable[[Sequence[str]], np.ndarray]  # texts -> embeddings (the router's own embed when the embedders agree)
    vectors: np.ndarray  # (models, text_in) float64: logit(quality) = vectors[m] . z
    models: tuple[str, ...]  # the real models (virtual tier:* models left out), in checkpoint order
    index: dict[str, int]
    aliases: dict[str, str]  # the checkpoint's aliases, then the router's model_aliases


class MFRouter(Router, QualityRouter):
    """Matrix-factorisation router (RouteLLM's ``mf``).

    Two-model routing scores P(strong beats weak). N-model routing (:class:`~routellm_core.plugin_api.QualityRouter`)
    predicts each model's quality from a checkpoint with a quality head: ``quality_checkpoint`` when configured,
    else the router's checkpoint when it has one, else (shipped checkpoint) the shipped N-model checkpoint,
    loaded on first use.

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
        self._embedder_given = embedder is not None
        self._quality: QualityHead | None = None
        self._quality_lock = threading.Lock()

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

    # -- N-model routing -------------------------------------------------------------------------
    def quality_head(self) -> QualityHead:
        """The quality head (loaded on first use); ConfigError when the configured checkpoints have none."""
        head = self._quality
        if head is None:
            with self._quality_lock:
                if self._quality is None:
                    self._quality = self._load_quality_head()
                head = self._quality
        return head

    def _load_quality_head(self) -> QualityHead:
        location = self.config.quality_checkpoint
        if location is not None:
            ckpt = load_checkpoint(resolve_checkpoint_path(location))
            if not ckpt.has_quality:
                raise ConfigError(
                    f"mf quality_checkpoint {location!r} was trained on pairwise comparisons and has no quality head; "
                    "give a checkpoint trained with `routellm train mf --quality`"
                )
        elif self.checkpoint.has_quality:
            ckpt = self.checkpoint
        elif self.config.checkpoint_location is None:
            if not (default_quality_checkpoint_dir() / "config.json").is_file():
                raise ConfigError(f"the shipped N-model MF checkpoint is missing from {default_quality_checkpoint_dir()}")
            ckpt = load_checkpoint(default_quality_checkpoint_dir())
        else:
            raise ConfigError(
                f"the MF checkpoint {self.config.checkpoint_location!r} was trained on pairwise comparisons and predicts no "
                "per-model quality: set the mf router's quality_checkpoint (a checkpoint trained with `routellm train mf "
                "--quality`), or leave checkpoint unset to use the shipped ones"
            )
        embed: Callable[[Sequence[str]], np.ndarray]
        if ckpt is self.checkpoint or self._embedder_given or self.config.embedder is not None:
            embed = self.embed  # one embedding pass serves both heads
            embedder = self.embedder
        else:
            spec = ckpt.embedder
            embedder = shared_embedder(spec.get("name", "minilm"), spec.get("kwargs") or {}, user="MF router")
            if embedder is self.embedder:
                embed = self.embed
            else:
                cache = EmbeddingCache(embedder) if self.config.embedding_cache else None
                embed = cache.embed if cache is not None else embedder.embed
        if embedder.dimension and embedder.dimension != ckpt.text_dim:
            raise ConfigError(
                f"embedder {embedder.name!r} gives {embedder.dimension}-d vectors; "
                f"the MF quality checkpoint expects {ckpt.text_dim}-d"
            )
        models = tuple(m for m in ckpt.models if not m.startswith(TIER_PREFIX))
        index = {m: ckpt.models.index(m) for m in models}
        return QualityHead(ckpt, embed, ckpt.quality_vectors(), models, index, {**ckpt.aliases, **self.model_aliases})

    @property
    def quality_models(self) -> tuple[str, ...]:
        return self.quality_head().models

    def resolve_quality_model(self, model: str) -> str:
        head = self.quality_head()
        table = head.aliases
        name = table.get(model, model)
        if name in head.index:
            return name
        alias_note = f"; aliases: {', '.join(f'{a} -> {t}' for a, t in sorted(table.items()))}" if table else ""
        raise RoutingError(
            f"unknown model {model!r} for the mf router; it predicts quality for: {', '.join(head.models)}{alias_note} "
            "(map a deployment name to one of them with model_aliases)"
        )

    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        head = self.quality_head()
        columns = [head.index[self.resolve_quality_model(m)] for m in models]
        prompts = [str(p) for p in prompts]
        if not prompts:
            return np.zeros((0, len(columns)), dtype=np.float64)
        z = head.checkpoint.text_input(head.embed(prompts), prompts).astype(np.float64)
        logits = z @ head.vectors[columns].T
        quality: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
        return quality

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
            **self._describe_quality(),
        }

    def _describe_quality(self) -> dict[str, Any]:
        """The quality checkpoint's digest (cache keys of N-model evaluations), when the router has one."""
        try:
            head = self.quality_head()
        except ConfigError:
            if self.config.quality_checkpoint is not None:
                raise
            return {}
        return {"quality_checkpoint": head.checkpoint.digest()}

    def checkpoint_digest(self) -> str | None:
        return self.checkpoint.digest()
