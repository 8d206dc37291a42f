"""Parsing and validating the chat completion request body.

Every problem with the body is an :class:`APIError` that names the field: 400
for malformed input, 413 for a request over a configured limit. Rules, applied
once here, so every router and every upstream sees only what passed them:

- the body is UTF-8 JSON (RFC 8259): an object, nested at most 64 levels, no
  ``NaN``/``Infinity``;
- **invalid Unicode is rejected**: a string or key holding a lone UTF-16
  surrogate (``"\\ud8b6"`` in JSON) is a 400 ``invalid_unicode`` naming the field;
- **numbers must be finite**: a number that overflows a double (``1e400``) is a
  400 ``invalid_number`` naming the field, wherever it is;
- at most ``max_messages`` messages and ``max_text_chars`` characters of message
  text (413 ``too_many_messages`` / ``text_too_long``).

:func:`parse_request` is plain CPU work; the server runs it in a worker thread
for big bodies, and it gives the thread's turn back to the event loop often
(a Python hook per JSON object, chunked serialisation), so even a 4 MiB body
does not hold the interpreter for long stretches.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from pydantic import ValidationError

from ..routing import PROMPT_IN_THREAD_MESSAGES
from .errors import APIError
from .schemas import ChatCompletionRequest

MAX_JSON_DEPTH = 64

#: bodies above this size are parsed in a worker thread, so a big body never stalls the event loop
PARSE_IN_THREAD_BYTES = 64 * 1024

#: messages serialised per ``json.dumps`` call when building the upstream body
_SERIALISE_CHUNK = 500

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RequestLimits:
    """Limits on what one chat completion request may carry."""

    max_messages: int = 10_000
    max_text_chars: int = 1_000_000


@dataclass
class ChatRequest:
    """A validated chat completion request."""

    chat: ChatCompletionRequest
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    #: size of the request body in bytes
    size: int = 0
    #: the upstream body as JSON without its ``model`` key: ``b'"messages":[...],...}'`` (see :meth:`upstream_body`)
    body_tail: bytes | None = field(default=None, repr=False)

    @property
    def large(self) -> bool:
        """Big enough that building requests from it belongs in a worker thread."""
        return self.size > PARSE_IN_THREAD_BYTES or len(self.messages) > PROMPT_IN_THREAD_MESSAGES

    @property
    def model(self) -> str:
        return self.chat.model

    @property
    def stream(self) -> bool:
        return self.chat.stream

    def upstream_body(self, model: str) -> bytes:
        """The JSON body for an OpenAI-compatible upstream serving ``model``."""
        if self.body_tail is None:
            self.body_tail = serialise_tail(self.messages, self.params, self.stream)
        return b'{"model":' + json.dumps(model).encode() + b"," + self.body_tail


def parse_request(
    body: bytes, limits: RequestLimits = RequestLimits(), *, serialise: bool = False, yielding: bool = False
) -> ChatRequest:
    """Parse and validate a chat completion body (APIError 400/413 says what is wrong).

    ``serialise``: also build the upstream JSON body now (do it in the same worker
    thread as the parsing). ``yielding``: parse with a Python hook per JSON object,
    so a worker thread lets the event loop run while a big body is parsed.
    """
    payload = parse_json_body(body, yielding=yielding)
    try:
        chat = ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        message, param = validation_message(exc.errors(include_url=False, include_input=False))
        raise APIError(400, message, param=param, code="invalid_request") from None
    messages = payload["messages"]
    check_messages(messages, limits)
    request = ChatRequest(chat, messages, chat.upstream_params(), size=len(body))
    if serialise:
        request.body_tail = serialise_tail(messages, request.params, request.stream)
    return request


# -- JSON -----------------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _keep(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def parse_json_body(body: bytes, *, yielding: bool = False) -> dict[str, Any]:
    """The body as a JSON object, checked for depth, invalid Unicode and non-finite numbers."""
    if not body.strip():
        raise APIError(400, "the request body is empty; send a JSON object with 'model' and 'messages'", code="invalid_json")
    try:
        text = body.decode(json.detect_encoding(body))  # strict: invalid UTF-8 is an error, not a surrogate escape
    except UnicodeDecodeError as exc:
        raise APIError(
            400, f"the request body is not valid UTF-8 (byte {exc.start}): send JSON as UTF-8", code="invalid_json"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_hook=_keep if yielding else None)
    except RecursionError:
        raise APIError(400, "the request body is nested too deeply", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long to convert
        raise APIError(400, f"the request body is not valid JSON: {str(exc)[:200]}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, f"the request body must be a JSON object, got {type(data).__name__}", code="invalid_json")
    if not _clean(data):
        _raise_first_problem(data)
    return data


def _bad_str(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _bad_float(value: float) -> bool:
    return not math.isfinite(value)


def _clean(data: Any) -> bool:
    """One pass over the document: depth within limits, no lone surrogates, only finite numbers."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        values = item.values() if type(item) is dict else item
        if type(item) is dict:
            for key in item:
                if _bad_str(key):
                    return False
        for value in values:
            kind = type(value)
            if kind is str:
                if _bad_str(value):
                    return False
            elif kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif kind is float and _bad_float(value):
                return False
    return True


def field_name(path: tuple[Any, ...]) -> str:
    """``messages.0.content``; characters a JSON response cannot carry are escaped."""
    name = ".".join(str(p) for p in path) or "body"
    return name.encode("utf-8", "backslashreplace").decode("utf-8") if not name.isascii() else name


def _raise_first_problem(data: Any) -> None:
    """The walk of :func:`_clean` again, with paths, to name the field at fault."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        item, path = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise APIError(400, f"the request body is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
        pairs = item.items() if type(item) is dict else enumerate(item)
        for key, value in pairs:
            here = path + (key,)
            if isinstance(key, str) and _bad_str(key):
                raise _unicode_error(here, "a key in")
            kind = type(value)
            if kind is str and _bad_str(value):
                raise _unicode_error(here, "")
            if kind is float and _bad_float(value):
                name = field_name(here)
                raise APIError(
                    400,
                    f"{name}: a number out of range (it overflows a 64-bit float); send finite numbers",
                    param=name,
                    code="invalid_number",
                )
            if kind is dict or kind is list:
                stack.append((value, here))
    raise APIError(400, "the request body is not valid", code="invalid_json")  # not reached: _clean found something


def _unicode_error(path: tuple[Any, ...], where: str) -> APIError:
    name = field_name(path)
    subject = f"{where} {name}".strip()
    return APIError(
        400, f"{subject}: invalid Unicode (a lone UTF-16 surrogate); send valid UTF-8 text", param=name, code="invalid_unicode"
    )


# -- messages ----------------------------------------------------------------------------------
def check_messages(messages: list[Any], limits: RequestLimits) -> None:
    """Each message an object with a ``role`` string and ``content`` that is text, parts or null; within the limits."""
    if len(messages) > limits.max_messages:
        raise APIError(
            413,
            f"messages: {len(messages)} messages, more than the server's limit of {limits.max_messages} (max_messages)",
            param="messages",
            code="too_many_messages",
        )
    total = 0
    for i, message in enumerate(messages):
        if type(message) is not dict:
            raise _invalid(f"messages.{i}", "must be an object with 'role' and 'content'")
        role = message.get("role")
        if type(role) is not str:
            raise _invalid(f"messages.{i}.role", "required, a string")
        if not 1 <= len(role) <= 64:
            raise _invalid(f"messages.{i}.role", "must be 1 to 64 characters")
        content = message.get("content")
        if type(content) is str:
            total += len(content)
        elif type(content) is list:
            for j, part in enumerate(content):
                if type(part) is str:
                    total += len(part)
                elif type(part) is dict:
                    text = part.get("text")
                    if type(text) is str:
                        total += len(text)
                else:
                    raise _invalid(f"messages.{i}.content.{j}", "a content part must be a string or an object")
        elif content is not None:
            raise _invalid(f"messages.{i}.content", "must be a string, a list of parts, or null")
        if total > limits.max_text_chars:
            raise APIError(
                413,
                f"messages: more than {limits.max_text_chars} characters of message text, the server's limit (max_text_chars)",
                param="messages",
                code="text_too_long",
            )


def _invalid(param: str, what: str) -> APIError:
    return APIError(400, f"invalid request: {param}: {what}", param=param, code="invalid_request")


def validation_message(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    parts, param = [], None
    for error in errors[:5]:
        loc = field_name(tuple(p for p in error.get("loc", ()) if p not in ("body",)))
        if param is None and loc != "body":
            param = loc
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more, param


# -- the upstream body ---------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def serialise_tail(messages: list[Any], params: dict[str, Any], stream: bool) -> bytes:
    """``"messages":[...],<params>,"stream":...}`` as UTF-8, messages serialised a chunk at a time."""
    parts = ['"messages":[']
    for start in range(0, len(messages), _SERIALISE_CHUNK):
        if start:
            parts.append(",")
        parts.append(_dumps(messages[start : start + _SERIALISE_CHUNK])[1:-1])
    parts.append("]")
    rest = dict(params)
    rest["stream"] = stream
    parts.append("," + _dumps(rest)[1:])
    return "".join(parts).encode("utf-8")
