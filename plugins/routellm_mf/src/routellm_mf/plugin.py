"""Registers the ``mf`` router and the ``mf`` trainer. Imports nothing heavy: numpy/torch load in the factories."""

from __future__ import annotations

from routellm_core.hookspecs import hookimpl


def make_router(
    checkpoint=None,
    checkpoint_path=None,
    strong_model=None,
    weak_model=None,
    model_aliases=None,
    embedder=None,
    embedder_kwargs=None,
    embedding_cache=False,
):
    from .router import MFRouter

    return MFRouter(checkpoint=checkpoint, checkpoint_path=checkpoint_path, strong_model=strong_model,
                    weak_model=weak_model, model_aliases=model_aliases, embedder=embedder,
                    embedder_kwargs=embedder_kwargs, embedding_cache=embedding_cache)


def _add_arguments(parser):
    from .train import add_arguments

    add_arguments(parser)


def _run(args):
    from .train import run

    return run(args)


@hookimpl
def routellm_register_routers(register):
    register("mf", make_router, description="matrix factorisation (RouteLLM's mf); default checkpoint + local MiniLM embeddings")


@hookimpl
def routellm_register_trainers(register):
    register("mf", factory=_run, description="train an MF router from battles or per-prompt score matrices",
             add_arguments=_add_arguments)
