"""What the router sees of a chat request."""

from __future__ import annotations

from typing import Any, Literal, Sequence

from .errors import RoutingError

RoutingPolicy = Literal["last_user", "conversation"]
#: the routing policies, in the order error messages and ``--routing-policy`` list them
POLICIES: tuple[str, ...] = ("last_user", "conversation")


def check_policy(policy: str) -> str:
    """``policy`` if it is a routing policy, else RoutingError naming the valid ones.

    The one check of a policy: :class:`~routellm_core.routing.RoutingCore` (and through it the
    Controller and the server) and :func:`routing_text` use it.
    """
    if policy not in POLICIES:
        raise RoutingError(f"unknown routing policy {policy!r}; valid: {', '.join(POLICIES)}")
    return policy


def content_text(content: Any) -> str:
    """Text of a message's content: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type", "text") == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
            else:
                raise RoutingError(f"message content parts must be objects, got {type(part).__name__}")
        return "\n".join(texts)
    raise RoutingError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def validate_messages(messages: Any) -> list[dict[str, Any]]:
    """Check the OpenAI ``messages`` shape; raise RoutingError with what is wrong."""
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)) or len(messages) == 0:
        raise RoutingError("messages must be a non-empty list of {'role': ..., 'content': ...} objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RoutingError(f"messages[{i}] must be an object with 'role' and 'content'")
        if not isinstance(message.get("role"), str):
            raise RoutingError(f"messages[{i}] has no 'role' string")
        content_text(message.get("content"))
    return list(messages)


def routing_text(messages: Any, policy: str = "last_user") -> str:
    """The prompt the router scores.

    ``last_user``: the last user turn (RouteLLM's behaviour). ``conversation``:
    all turns, each prefixed with its role.
    """
    messages = validate_messages(messages)  # the messages first: their errors come before a policy's
    if check_policy(policy) == "conversation":
        return "\n".join(f"{m['role']}: {content_text(m.get('content'))}" for m in messages)
    for message in reversed(messages):
        if message["role"] == "user":
            return content_text(message.get("content"))
    raise RoutingError("messages contain no 'user' turn to route on")
