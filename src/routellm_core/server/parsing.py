"""Parsing and validating the chat completion request body (APIError 400 says what is wrong)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .errors import APIError
from .schemas import ChatCompletionRequest

MAX_JSON_DEPTH = 64

#: bodies above this size are parsed in a worker thread, so a big body never stalls the event loop
PARSE_IN_THREAD_BYTES = 64 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise APIError(400, "the request body is empty; send a JSON object with 'model' and 'messages'", code="invalid_json")
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise APIError(400, "the request body is nested too deeply", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise APIError(400, f"the request body is not valid JSON: {str(exc)[:200]}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, f"the request body must be a JSON object, got {type(data).__name__}", code="invalid_json")
    if _depth(data) > MAX_JSON_DEPTH:
        raise APIError(400, f"the request body is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    return data


def _depth(value: Any) -> int:
    """Nesting depth of containers (iterative: deep input cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def parse_request(body: bytes) -> ChatCompletionRequest:
    """Parse and validate a chat completion body; APIError(400) says what is wrong."""
    payload = parse_json_body(body)
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        message, param = validation_message(exc.errors(include_url=False, include_input=False))
        raise APIError(400, message, param=param, code="invalid_request") from None


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    parts, param = [], None
    for error in errors[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        if param is None and loc:
            param = loc
        parts.append(f"{loc or 'body'}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more, param
