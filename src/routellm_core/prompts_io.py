"""Read prompts from JSONL, a JSON list, CSV or plain-text files (one prompt per line)."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .tabular import PROMPT_COLUMNS, find_prompt, parse_records, read_text

#: the keys/columns a prompt is read from (first string value wins)
PROMPT_KEYS = PROMPT_COLUMNS
TABULAR_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


def read_prompts(path: str | Path) -> list[str]:
    """Prompts from ``path``: ``.jsonl`` / ``.json`` (a string, or an object with a prompt field, per
    line / list item), ``.csv`` (a ``prompt``/``question``/``text``/``content`` column), otherwise plain
    text, one prompt per non-empty line. Raises :class:`~routellm_core.errors.DataError` (a ``ValueError``)
    naming the file and line."""
    p = Path(path)
    text = read_text(p, DataError, what="prompts file")
    prompts: list[str] = []
    if p.suffix.lower() in TABULAR_SUFFIXES:
        for where, record in parse_records(text, str(p), p.suffix, DataError, TABULAR_SUFFIXES):
            if isinstance(record, str):
                prompts.append(record)
            elif isinstance(record, dict):
                prompt = find_prompt(record)
                if prompt is None:
                    raise DataError(f"{where}: no prompt field; expected one of {', '.join(PROMPT_KEYS)}")
                prompts.append(prompt)
            else:
                raise DataError(f"{where}: each record must be a JSON string or object")
    else:
        prompts = [line for line in text.splitlines() if line.strip()]
    if not prompts:
        raise DataError(f"prompts file {str(p)!r} contains no prompts")
    return prompts
