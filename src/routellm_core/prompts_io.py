"""Read prompts from JSONL, CSV or plain-text files (one prompt per line)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .jsonl import iter_jsonl

PROMPT_KEYS = ("prompt", "question", "text", "content")


def _pick(record: dict, source: str, where: str) -> str:
    for key in PROMPT_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            return value
    raise ValueError(f"{source}: {where}: no prompt field; expected one of {', '.join(PROMPT_KEYS)}")


def read_prompts(path: str | Path) -> list[str]:
    """Prompts from ``path``: ``.jsonl`` (a string or an object with a prompt field per
    line), ``.csv`` (a ``prompt``/``question``/``text`` column), otherwise plain text,
    one prompt per non-empty line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read prompts file {str(p)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"prompts file {str(p)!r} is not UTF-8 text") from None
    suffix = p.suffix.lower()
    prompts: list[str] = []
    if suffix in (".jsonl", ".ndjson"):
        for lineno, record in iter_jsonl(text, str(p)):
            if isinstance(record, str):
                prompts.append(record)
            elif isinstance(record, dict):
                prompts.append(_pick(record, str(p), f"line {lineno}"))
            else:
                raise ValueError(f"{p}: line {lineno}: each line must be a JSON string or object")
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for i, row in enumerate(reader, 2):
            prompts.append(_pick(row, str(p), f"row {i}"))
    else:
        prompts = [line for line in text.splitlines() if line.strip()]
    if not prompts:
        raise ValueError(f"prompts file {str(p)!r} contains no prompts")
    return prompts
