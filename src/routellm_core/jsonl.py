"""JSON Lines parsing with errors that name the file and line."""

from __future__ import annotations

import json
from typing import Any, Iterator


def iter_jsonl(text: str, source: str, error: type[Exception] = ValueError) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each non-blank line of ``text``.

    A line that is not JSON raises ``error("<source>: line N: not valid JSON (...)")``.
    """
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{source}: line {lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        yield lineno, value
