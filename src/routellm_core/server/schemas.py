"""The chat completion request body, validated before anything is routed or forwarded.

The top-level fields are validated by :class:`ChatCompletionRequest` (pydantic);
``messages`` only needs to be a non-empty list here, and its items are checked
by :func:`routellm_core.server.parsing.check_messages` in plain Python, without
building a model per message (a request may carry many thousands).
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

Number = Union[StrictInt, StrictFloat]

#: optional OpenAI parameters forwarded to the upstream model when present
FORWARDED = (
    "temperature",
    "top_p",
    "n",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "user",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "stream_options",
    "reasoning_effort",
)


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Unknown top-level keys are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    model: StrictStr
    messages: list[Any] = Field(min_length=1)
    stream: StrictBool = False
    temperature: Number | None = Field(default=None, ge=0, le=2)
    top_p: Number | None = Field(default=None, ge=0, le=1)
    n: StrictInt | None = Field(default=None, ge=1, le=128)
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    stop: Union[StrictStr, list[StrictStr], None] = None
    presence_penalty: Number | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, Number] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    seed: StrictInt | None = None
    user: StrictStr | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Union[StrictStr, dict[str, Any], None] = None
    parallel_tool_calls: StrictBool | None = None
    stream_options: dict[str, Any] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None

    def upstream_params(self) -> dict[str, Any]:
        """The optional parameters the client set, to forward upstream (``stream_options`` only with ``stream``)."""
        params = {name: getattr(self, name) for name in FORWARDED if getattr(self, name) is not None}
        if not self.stream:
            params.pop("stream_options", None)
        return params
