"""The sw_ranking router's settings: every key, its default and its checks, declared once.

Imports pydantic and the plugin API only (no numpy), so registering the router stays light.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from routellm_core.plugin_api import PluginConfig

#: how battles between two models of one tier count (see :class:`routellm_elo.index.Weighting`)
SameTier = Literal["routellm", "ignore"]


class SWRankingConfig(PluginConfig):
    """Settings of the ``sw_ranking`` router (YAML: ``sw_ranking: {key: value}``).

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
            ``text-embedding-3-small``, RouteLLM's, for battles + embeddings). In Python, an embedder instance
            is given to :class:`~routellm_elo.router.SWRankingRouter` itself (``embedder=``), not here.
        embedding_cache: keep query embeddings in the on-disk cache (repeated evaluation).
    Weighting (unset: the index's; see :class:`routellm_elo.index.Weighting`):
        sharpness, min_similarity, ridge, relative_to_max, same_tier, length_scale.
    """

    index: str | None = Field(
        default=None,
        min_length=1,
        description="index directory written by `routellm train sw_ranking` (default: the shipped one)",
    )
    battles: str | None = Field(default=None, min_length=1, description="RouteLLM's battles file (goes with embeddings)")
    embeddings: str | None = Field(default=None, min_length=1, description=".npy with one embedding row per battle row")
    num_tiers: int | None = Field(default=None, ge=2, description="tiers fitted from battles + embeddings (default 10)")
    strong_model: str | None = Field(default=None, min_length=1, description="trained model name or alias (default: the index's)")
    weak_model: str | None = Field(default=None, min_length=1, description="trained model name or alias (default: the index's)")
    model_aliases: dict[str, str] | None = Field(default=None, description="deployment name -> trained model name")
    embedder: str | None = Field(default=None, min_length=1, description="registered embedder name (default: the index's)")
    embedder_kwargs: dict[str, Any] | None = Field(default=None, description="the embedder's settings (default: the index's)")
    embedding_cache: bool = Field(default=False, description="keep query embeddings in the on-disk embedding cache")
    sharpness: float | None = Field(default=None, ge=0.0, description="weight 10 ** (sharpness * (similarity - 1))")
    min_similarity: float | None = Field(default=None, ge=-1.0, description="similarity floor of every indexed battle")
    ridge: float | None = Field(default=None, ge=0.0, description="L2 penalty on a query's tier ratings")
    relative_to_max: bool | None = Field(default=None, description="similarities relative to the best match (RouteLLM's)")
    same_tier: SameTier | None = Field(default=None, description="battles within one tier: as RouteLLM counts them, or ignored")
    length_scale: float | None = Field(default=None, ge=0.0, description="less similarity between prompts of different length")

    @model_validator(mode="after")
    def _one_index(self) -> SWRankingConfig:
        if self.index is not None and (self.battles is not None or self.embeddings is not None):
            raise ValueError("give either index, or battles and embeddings, not both")
        if (self.battles is None) != (self.embeddings is None):
            raise ValueError("battles and embeddings go together (a battles file and a .npy with one row per battle)")
        if self.num_tiers is not None and self.battles is None:
            raise ValueError("num_tiers applies to battles + embeddings; an index has its tiers")
        return self
