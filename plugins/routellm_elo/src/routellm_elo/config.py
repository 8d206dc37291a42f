"""The sw_ranking router's configuration: every key, its type and its checks, in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from routellm_core.plugin_api import ConfigError


@dataclass(frozen=True)
class SWRankingConfig:
    """Keyword arguments of the ``sw_ranking`` router (YAML: ``sw_ranking: {key: value}``).

    Index (one of):
        index: directory written by ``routellm train sw_ranking`` (default: the index shipped in the package).
        battles + embeddings: RouteLLM's inputs, no training: a battles file (Arena JSON/JSONL/CSV rows with
            ``model_a``, ``model_b``, ``winner``, or ``winner_model_a/_b/_tie``) and a ``.npy`` with one
            embedding row per battle row, any dimension; ``num_tiers`` (default 10) tiers are fitted at load.
    Models:
        strong_model, weak_model: trained model names or aliases (default: the index's pair).
        model_aliases: deployment name -> trained model name.
    Embeddings of the queries:
        embedder, embedder_kwargs: a registered embedder (default: the index's; ``litellm`` with
            ``text-embedding-3-small``, RouteLLM's, for battles + embeddings).
        embedding_cache: keep query embeddings in the on-disk cache (repeated evaluation).
    Weighting (default: the index's; see :class:`routellm_elo.index.Weighting`):
        sharpness, min_similarity, ridge, relative_to_max, same_tier, length_scale.
    """

    index: str | None = None
    battles: str | None = None
    embeddings: str | None = None
    num_tiers: int | None = None
    strong_model: str | None = None
    weak_model: str | None = None
    model_aliases: dict[str, str] = field(default_factory=dict)
    embedder: Any = None
    embedder_kwargs: dict[str, Any] | None = None
    embedding_cache: bool = False
    sharpness: float | None = None
    min_similarity: float | None = None
    ridge: float | None = None
    relative_to_max: bool | None = None
    same_tier: str | None = None
    length_scale: float | None = None

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> SWRankingConfig:
        """Checked configuration; :class:`~routellm_core.errors.ConfigError` names the first bad key."""
        unknown = sorted(set(kwargs) - set(cls.keys()))
        if unknown:
            raise ConfigError(f"sw_ranking: unknown config key(s) {', '.join(unknown)}; accepted: {', '.join(cls.keys())}")
        k = dict(kwargs)
        for key in ("index", "battles", "embeddings", "strong_model", "weak_model"):
            if k.get(key) is not None and (not isinstance(k[key], str) or not k[key]):
                raise ConfigError(f"sw_ranking: {key} must be a non-empty string, got {k[key]!r}")
        if k.get("index") is not None and (k.get("battles") is not None or k.get("embeddings") is not None):
            raise ConfigError("sw_ranking: give either index, or battles and embeddings, not both")
        if (k.get("battles") is None) != (k.get("embeddings") is None):
            raise ConfigError(
                "sw_ranking: battles and embeddings go together (a battles file and a .npy with one row per battle)"
            )
        if k.get("num_tiers") is not None:
            if k.get("battles") is None:
                raise ConfigError("sw_ranking: num_tiers applies to battles + embeddings; an index has its tiers")
            if isinstance(k["num_tiers"], bool) or not isinstance(k["num_tiers"], int) or k["num_tiers"] < 2:
                raise ConfigError(f"sw_ranking: num_tiers must be an integer >= 2, got {k['num_tiers']!r}")
        aliases = k.get("model_aliases") or {}
        if not isinstance(aliases, dict) or not all(isinstance(a, str) and isinstance(b, str) for a, b in aliases.items()):
            raise ConfigError("sw_ranking: model_aliases must map deployment names (strings) to trained model names (strings)")
        k["model_aliases"] = dict(aliases)
        if k.get("embedder") is not None and not isinstance(k["embedder"], str) and not hasattr(k["embedder"], "embed"):
            raise ConfigError(f"sw_ranking: embedder must be a registered embedder name, got {k['embedder']!r}")
        if k.get("embedder_kwargs") is not None and not isinstance(k["embedder_kwargs"], dict):
            raise ConfigError("sw_ranking: embedder_kwargs must be a mapping")
        for key in ("embedding_cache", "relative_to_max"):
            if k.get(key) is not None and not isinstance(k[key], bool):
                raise ConfigError(f"sw_ranking: {key} must be true or false, got {k[key]!r}")
        for key, low in (("sharpness", 0.0), ("ridge", 0.0), ("min_similarity", -1.0), ("length_scale", 0.0)):
            value = k.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
                raise ConfigError(f"sw_ranking: {key} must be a finite number >= {low:g}, got {value!r}")
            k[key] = float(value)
        if k.get("same_tier") is not None and k["same_tier"] not in ("routellm", "ignore"):
            raise ConfigError(f"sw_ranking: same_tier must be 'routellm' or 'ignore', got {k['same_tier']!r}")
        if k.get("embedding_cache") is None:
            k.pop("embedding_cache", None)
        return cls(**k)
