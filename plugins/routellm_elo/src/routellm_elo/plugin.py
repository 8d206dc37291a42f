"""Registers the ``sw_ranking`` router and the ``sw_ranking`` trainer. Imports nothing heavy: numpy loads in the factories."""

from __future__ import annotations

from routellm_core.plugin_api import hookimpl, lazy


def make_router(
    index=None,
    battles=None,
    embeddings=None,
    num_tiers=None,
    strong_model=None,
    weak_model=None,
    model_aliases=None,
    embedder=None,
    embedder_kwargs=None,
    embedding_cache=False,
    sharpness=None,
    min_similarity=None,
    ridge=None,
    relative_to_max=None,
    same_tier=None,
    length_scale=None,
):
    """Keys and checks: :class:`routellm_elo.config.SWRankingConfig`."""
    from .router import SWRankingRouter

    return SWRankingRouter(
        index=index,
        battles=battles,
        embeddings=embeddings,
        num_tiers=num_tiers,
        strong_model=strong_model,
        weak_model=weak_model,
        model_aliases=model_aliases,
        embedder=embedder,
        embedder_kwargs=embedder_kwargs,
        embedding_cache=embedding_cache,
        sharpness=sharpness,
        min_similarity=min_similarity,
        ridge=ridge,
        relative_to_max=relative_to_max,
        same_tier=same_tier,
        length_scale=length_scale,
    )


@hookimpl
def routellm_register_routers(register):
    register(
        "sw_ranking",
        make_router,
        description="similarity-weighted Elo over model tiers (RouteLLM's sw_ranking); default index + local MiniLM embeddings",
    )


@hookimpl
def routellm_register_trainers(register):
    register(
        "sw_ranking",
        add_arguments=lazy("routellm_elo.train:add_arguments"),
        run=lazy("routellm_elo.train:run"),
        description="build a sw_ranking index from battles or per-prompt score matrices",
    )
