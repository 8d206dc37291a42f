"""Registers the ``mf`` router and the ``mf`` trainer. Imports nothing heavy: numpy/torch load in the factories."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from routellm_core.plugin_api import PluginConfig, RegisterRouter, RegisterTrainer, hookimpl, lazy


class MFConfig(PluginConfig):
    """Settings of the ``mf`` router (see :class:`routellm_mf.router.MFRouter` for their meaning)."""

    checkpoint: str | None = Field(None, min_length=1, description="checkpoint directory or Hugging Face repo id")
    checkpoint_path: str | None = Field(None, min_length=1, description="RouteLLM's name for checkpoint")
    strong_model: str | None = Field(None, min_length=1)
    weak_model: str | None = Field(None, min_length=1)
    model_aliases: dict[str, str] | None = Field(None, description="deployment name -> trained model id")
    embedder: str | None = Field(None, min_length=1, description="registered embedder name (default: the checkpoint's)")
    embedder_kwargs: dict[str, Any] | None = Field(None, description="the embedder's settings (default: the checkpoint's)")
    embedding_cache: bool = Field(False, description="keep prompt embeddings in the on-disk embedding cache")

    @model_validator(mode="after")
    def _one_checkpoint(self) -> MFConfig:
        if self.checkpoint is not None and self.checkpoint_path is not None and self.checkpoint != self.checkpoint_path:
            raise ValueError("give checkpoint or checkpoint_path, not both")
        return self


def make_router(**settings: Any):
    from .router import MFRouter

    return MFRouter(**settings)


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "mf",
        make_router,
        config=MFConfig,
        description="matrix factorisation (RouteLLM's mf); default checkpoint + local MiniLM embeddings",
    )


@hookimpl
def routellm_register_trainers(register: RegisterTrainer) -> None:
    register(
        "mf",
        add_arguments=lazy("routellm_mf.train:add_arguments"),
        run=lazy("routellm_mf.train:run"),
        description="train an MF router from battles or per-prompt score matrices",
    )
