"""Registers the ``sw_ranking`` router and the ``sw_ranking`` trainer. Imports nothing heavy: numpy loads with the router."""

from __future__ import annotations

from routellm_core.plugin_api import RegisterRouter, RegisterTrainer, hookimpl, lazy

from .config import SWRankingConfig


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "sw_ranking",
        lazy("routellm_elo.router:SWRankingRouter"),
        config=SWRankingConfig,
        description="similarity-weighted Elo over model tiers (RouteLLM's sw_ranking); default index + local MiniLM embeddings",
    )


@hookimpl
def routellm_register_trainers(register: RegisterTrainer) -> None:
    register(
        "sw_ranking",
        add_arguments=lazy("routellm_elo.train:add_arguments"),
        run=lazy("routellm_elo.train:run"),
        description="build a sw_ranking index from battles or per-prompt score matrices",
    )
