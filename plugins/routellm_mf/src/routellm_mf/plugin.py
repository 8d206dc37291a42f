"""Registers the ``mf`` router and the ``mf`` trainer. Imports nothing heavy: numpy/torch load in the factories."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from routellm_core.plugin_api import PluginConfig, RegisterRouter, RegisterTrainer, hookimpl, lazy


class MFConfig(PluginConfig):
    """Settings of the ``mf`` router: the one declaration of them, their defaults and their checks.

    The registry validates a config file's ``mf`` section against this model and builds
    :class:`routellm_mf.router.MFRouter` with the instance; the Python API passes one too
    (``MFRouter(MFConfig(checkpoint=...))``).
    """

    checkpoint: str | None = Field(
        default=None,
        min_length=1,
        description="checkpoint directory (project or RouteLLM format) or Hugging Face repo id "
        "(default: the checkpoint shipped in routellm_mf/default_checkpoint)",
    )
    checkpoint_path: str | None = Field(default=None, min_length=1, description="RouteLLM's name for checkpoint")
    strong_model: str | None = Field(
        default=None,
        min_length=1,
        description="trained model id or alias (default: the checkpoint's default pair(s); several default pairs are averaged)",
    )
    weak_model: str | None = Field(default=None, min_length=1, description="trained model id or alias (see strong_model)")
    model_aliases: dict[str, str] | None = Field(default=None, description="deployment name -> trained model id")
    embedder: str | None = Field(default=None, min_length=1, description="registered embedder name (default: the checkpoint's)")
    embedder_kwargs: dict[str, Any] | None = Field(
        default=None, description="the embedder's settings (default: the checkpoint's)"
    )
    embedding_cache: bool = Field(default=False, description="keep prompt embeddings in the on-disk embedding cache")
    quality_checkpoint: str | None = Field(
        default=None,
        min_length=1,
        description="N-model routing: a checkpoint with a per-model quality head (directory or Hugging Face repo id; "
        "default: the router's checkpoint when it has one, else, with the shipped checkpoint, the shipped "
        "N-model checkpoint routellm_mf/default_nmodel, loaded on first use)",
    )

    @model_validator(mode="after")
    def _one_checkpoint(self) -> MFConfig:
        if self.checkpoint is not None and self.checkpoint_path is not None and self.checkpoint != self.checkpoint_path:
            raise ValueError("give checkpoint or checkpoint_path, not both")
        return self

    @property
    def checkpoint_location(self) -> str | None:
        """``checkpoint`` or, under RouteLLM's name, ``checkpoint_path``; None: the shipped checkpoint."""
        return self.checkpoint if self.checkpoint is not None else self.checkpoint_path


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "mf",
        lazy("routellm_mf.router:MFRouter"),
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
