"""Registers the ``bert`` router and the ``bert`` trainer. Imports nothing heavy: torch loads with the router."""

from __future__ import annotations

from pydantic import Field

from routellm_core.plugin_api import PluginConfig, RegisterRouter, RegisterTrainer, hookimpl, lazy


class BertConfig(PluginConfig):
    """Settings of the ``bert`` router (see :class:`routellm_bert.router.BertRouter`)."""

    checkpoint: str | None = Field(
        default=None, min_length=1, description="checkpoint directory (this package's or a Hugging Face classifier's)"
    )
    max_length: int | None = Field(
        default=None, ge=3, le=512, description="word pieces read per prompt (default: the checkpoint's)"
    )
    head_tokens: int | None = Field(default=None, ge=0, le=510, description="of longer prompts, the first N word pieces are kept")
    batch_size: int = Field(default=32, ge=1, le=4096)
    num_threads: int | None = Field(default=None, ge=1, le=256, description="torch CPU threads")


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "bert",
        lazy("routellm_bert.router:BertRouter"),
        config=BertConfig,
        description="BERT classifier (RouteLLM's bert): P(strong wins) from a fine-tuned 3-layer MiniLM; shipped checkpoint",
    )


@hookimpl
def routellm_register_trainers(register: RegisterTrainer) -> None:
    register(
        "bert",
        add_arguments=lazy("routellm_bert.train:add_arguments"),
        run=lazy("routellm_bert.train:run"),
        description="fine-tune a BERT classifier router on battles or score matrices",
    )
