"""The ``sw_ranking`` router: similarity-weighted Elo over model tiers, batched over prompts.

For a batch of prompts: one matrix product of their embeddings with the indexed prompts' embeddings,
the weights, one product of the weights with the indexed prompts' tier win tables, and a batched
Newton fit of ≤ 10 tier ratings per prompt. The score is ``P(strong tier beats weak tier)``.

N-model routing (:class:`~routellm_core.plugin_api.QualityRouter`): :meth:`SWRankingRouter.predict_quality`
gives each requested model a quality in [0, 1] per prompt, as the index's
:class:`~routellm_elo.index.QualitySettings` say: the similarity-weighted mean of the model's scores on
the nearest indexed prompts (an N-model index, ``routellm train sw_ranking --n-model``), or the model's
expected Elo win rate against the other requested models (any other index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import ConfigError, Embedder, EmbeddingCache, QualityRouter, Router, RoutingError, shared_embedder

from .config import SWRankingConfig
from .elo import fit_ratings, win_probability
from .index import DEFAULT_NUM_TIERS, SWIndex, Weighting, build_index, default_index_dir, load_index, log_chars, nmodel_index_dir

#: prompts scored per matrix product (bounds the similarity matrix's memory: chunk × indexed prompts)
CHUNK = 256
#: RouteLLM's default pair for sw_ranking (its Arena model names)
ROUTELLM_PAIR = ("gpt-4-1106-preview", "mixtral-8x7b-instruct-v0.1")


def pair_scores(
    index: SWIndex,
    vectors: np.ndarray,
    strong_tier: int,
    weak_tier: int,
    weighting: Weighting | None = None,
    log_chars: np.ndarray | None = None,
) -> np.ndarray:
    """P(strong tier beats weak tier) for each query vector (``(Q, D)`` embedder vectors), in chunks.
    ``log_chars``: ``ln(1 + characters)`` of each query (needed with a ``length_scale``)."""
    wt = weighting or index.weighting
    vectors = np.asarray(vectors, np.float32)
    out = np.empty(len(vectors), np.float64)
    for start in range(0, len(vectors), CHUNK):
        lengths = None if log_chars is None else log_chars[start : start + CHUNK]
        ratings = fit_ratings(index.query_tables(vectors[start : start + CHUNK], wt, lengths), ridge=wt.ridge)
        out[start : start + CHUNK] = win_probability(ratings[:, strong_tier], ratings[:, weak_tier])
    return out


def index_from_battles(battles_path: str, embeddings_path: str, num_tiers: int = DEFAULT_NUM_TIERS) -> SWIndex:
    """An index from RouteLLM's inputs: a battles file and a ``.npy`` of one embedding row per battle row."""
    from .battles import read_battles

    battles = read_battles(battles_path)
    path = Path(embeddings_path)
    if path.suffix.lower() != ".npy":
        raise ConfigError(f"sw_ranking: embeddings must be a .npy file, got {str(path)!r}")
    try:
        emb = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sw_ranking: cannot read embeddings {str(path)!r}: {exc}") from None
    if emb.ndim != 2 or len(emb) != len(battles.label):
        raise ConfigError(
            f"sw_ranking: {path} holds an array of shape {emb.shape}; expected one row per battle "
            f"({len(battles.label)} rows in {battles_path})"
        )
    emb = np.asarray(emb, np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    models: list[str] = []
    ids: dict[str, int] = {}
    for name in battles.model_a + battles.model_b:
        if name not in ids:
            ids[name] = len(models)
            models.append(name)
    a = np.asarray([ids[m] for m in battles.model_a])
    b = np.asarray([ids[m] for m in battles.model_b])
    keep = a != b
    rows = np.arange(len(a))
    # RouteLLM's weighting (10 · 10 ** (s / max s)), design matrix and default pair; a small ridge keeps ratings finite
    weighting = Weighting(sharpness=1.0, relative_to_max=True, same_tier="routellm")
    strong, weak = ROUTELLM_PAIR
    return build_index(
        emb,
        rows[keep],
        a[keep],
        b[keep],
        battles.label[keep],
        models,
        num_tiers=num_tiers,
        weighting=weighting,
        embedder={"name": "litellm", "kwargs": {"model": "text-embedding-3-small"}},
        default_strong=strong if strong in ids else None,
        default_weak=weak if weak in ids else None,
    )


class SWRankingRouter(Router, QualityRouter):
    """RouteLLM's similarity-weighted ranking router (``sw_ranking``), and an N-model quality predictor.

    ``config``: the settings, validated (:class:`~routellm_elo.config.SWRankingConfig`; ``None``: the defaults).
    ``embedder``: an :class:`~routellm_core.plugin_api.Embedder` instance to embed queries with, in place of
    the registered embedder named by the settings (Python API, e.g. a fake embedder in tests).
    """

    def __init__(self, config: SWRankingConfig | None = None, *, embedder: Embedder | None = None) -> None:
        cfg = config if config is not None else SWRankingConfig()
        self.config = cfg
        if embedder is not None and (cfg.embedder is not None or cfg.embedder_kwargs is not None):
            raise ConfigError("sw_ranking: give an embedder instance or the embedder/embedder_kwargs settings, not both")
        if cfg.battles is not None and cfg.embeddings is not None:
            self.index = index_from_battles(cfg.battles, cfg.embeddings, cfg.num_tiers or DEFAULT_NUM_TIERS)
            self._source = {"battles": str(cfg.battles), "embeddings": str(cfg.embeddings)}
        else:
            path = Path(cfg.index).expanduser() if cfg.index is not None else default_index_dir()
            self.index = load_index(path)
            self._source = {"index": str(path) if cfg.index is not None else "default"}
        idx = self.index
        base = idx.weighting
        self.weighting = Weighting(
            sharpness=base.sharpness if cfg.sharpness is None else cfg.sharpness,
            min_similarity=base.min_similarity if cfg.min_similarity is None else cfg.min_similarity,
            ridge=base.ridge if cfg.ridge is None else cfg.ridge,
            relative_to_max=base.relative_to_max if cfg.relative_to_max is None else cfg.relative_to_max,
            same_tier=base.same_tier if cfg.same_tier is None else cfg.same_tier,
            length_scale=base.length_scale if cfg.length_scale is None else cfg.length_scale,
        )
        if self.weighting.length_scale and idx.log_chars is None:
            raise ConfigError("sw_ranking: length_scale needs an index that stores prompt lengths (retrain it)")
        strong = cfg.strong_model or idx.default_strong
        weak = cfg.weak_model or idx.default_weak
        if not strong or not weak:
            raise ConfigError(
                f"sw_ranking: the index has no default model pair; set strong_model and weak_model "
                f"(known models: {', '.join(idx.models)})"
            )
        self.strong_model, self.weak_model = strong, weak
        resolved: list[int] = []
        for role, name in (("strong_model", strong), ("weak_model", weak)):
            try:
                resolved.append(idx.resolve(name, cfg.model_aliases))
            except KeyError:
                raise ConfigError(f"sw_ranking: unknown {role} {name!r}; known models: {', '.join(idx.models)}") from None
        self._strong_tier, self._weak_tier = idx.tier_of(resolved[0]), idx.tier_of(resolved[1])
        self._models = (idx.models[resolved[0]], idx.models[resolved[1]])
        if self._strong_tier == self._weak_tier:
            same = [m for m, t in zip(idx.models, idx.model_tiers, strict=True) if t == self._strong_tier]
            raise ConfigError(
                f"sw_ranking: {self._models[0]!r} and {self._models[1]!r} are in the same tier "
                f"({', '.join(same)}), so every prompt would score 0.5; choose models of different tiers"
            )
        if embedder is not None:
            self.embedder = embedder
        else:
            spec = idx.embedder
            embedder_name: str = cfg.embedder or spec.get("name") or "minilm-l3"
            kw: dict[str, Any] = (
                cfg.embedder_kwargs
                if cfg.embedder_kwargs is not None
                else (spec.get("kwargs") or {} if embedder_name == spec.get("name") else {})
            )
            self.embedder = shared_embedder(embedder_name, kw, user="sw_ranking")
        if self.embedder.dimension and self.embedder.dimension != idx.input_dim:
            raise ConfigError(
                f"sw_ranking: embedder {self.embedder.name!r} gives {self.embedder.dimension}-d vectors; "
                f"the index holds {idx.input_dim}-d embeddings"
            )
        self._cache = EmbeddingCache(self.embedder) if cfg.embedding_cache else None
        self._embedder_given = embedder

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        if self._cache is not None:
            return self._cache.embed(prompts)
        return self.embedder.embed(prompts)

    def score_embeddings(self, vectors: np.ndarray, prompts: Sequence[str] | None = None) -> np.ndarray:
        """Scores of prompts given their embedder vectors (``(Q, D)``) and texts (for the length term)."""
        lengths = log_chars(prompts) if prompts is not None else None
        return pair_scores(self.index, vectors, self._strong_tier, self._weak_tier, self.weighting, lengths)

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        prompts = [str(p) for p in prompts]
        if not prompts:
            return np.zeros(0, np.float64)
        return self.score_embeddings(self.embed(prompts), prompts)

    # -- N-model routing -------------------------------------------------------
    def quality_source(self) -> SWRankingRouter:
        """The router whose index predicts quality: this one, or with the shipped two-model index (which has
        no per-model scores and was built on files that are now N-model evaluation sets) the shipped N-model
        index, loaded on first use with the same settings."""
        if self._source.get("index") != "default":
            return self
        if not hasattr(self, "_nmodel"):
            settings = self.config.model_copy(update={"index": str(nmodel_index_dir()), "strong_model": None, "weak_model": None})
            self._nmodel = SWRankingRouter(settings, embedder=self._embedder_given)
        return self._nmodel

    @property
    def quality_models(self) -> tuple[str, ...]:
        source = self.quality_source()
        return tuple(source.index.models[j] for j in source.index.quality_model_ids())

    def resolve_quality_model(self, model: str) -> str:
        """The index's name for ``model``: a trained name, or an alias (the configured ones, then the index's)."""
        source = self.quality_source()
        known = self.quality_models
        try:
            name = source.index.models[source.index.resolve(model, self.config.model_aliases)]
        except KeyError:
            name = None
        if name is None or name not in known:
            raise RoutingError(f"sw_ranking: unknown model {model!r}; it predicts quality for: {', '.join(known)}")
        return name

    def quality_embeddings(self, vectors: np.ndarray, models: Sequence[str], prompts: Sequence[str] | None = None) -> np.ndarray:
        """``(Q, len(models))`` quality of each model for prompts given by their embedder vectors (and texts, for
        the length term)."""
        source = self.quality_source()
        ids = [source.index.models.index(self.resolve_quality_model(m)) for m in models]
        vectors = np.asarray(vectors, np.float32)
        lengths = log_chars(prompts) if prompts is not None else None
        out = np.empty((len(vectors), len(ids)), np.float64)
        for start in range(0, len(vectors), CHUNK):
            chunk_lengths = None if lengths is None else lengths[start : start + CHUNK]
            sims = source.index.similarities(vectors[start : start + CHUNK], source.weighting, chunk_lengths)
            out[start : start + CHUNK] = source.index.quality_for_similarities(sims, ids, source.weighting)
        return out

    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        prompts = [str(p) for p in prompts]
        models = list(models)
        for m in models:
            self.resolve_quality_model(m)  # unknown models fail before any embedding
        if not prompts:
            return np.zeros((0, len(models)), np.float64)
        source = self.quality_source()
        return self.quality_embeddings(source.embed(prompts), models, prompts)

    def describe(self) -> dict[str, Any]:
        return {
            "router": "sw_ranking",
            **self._source,
            "index_digest": self.checkpoint_digest(),
            "strong_model": self._models[0],
            "weak_model": self._models[1],
            "tiers": [self._strong_tier, self._weak_tier],
            "weighting": self.weighting.as_dict(),
            "embedder": self.embedder.describe(),
            **({"quality": self.index.quality.as_dict()} if self.index.quality is not None else {}),
            **(
                {"quality_index_digest": self.quality_source().checkpoint_digest()}
                if self._source.get("index") == "default"
                else {}
            ),
        }

    def checkpoint_digest(self) -> str | None:
        if not hasattr(self, "_digest"):
            self._digest = self.index.digest()
        return self._digest
