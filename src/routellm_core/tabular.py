"""Tabular data files: JSON Lines, a JSON list, or CSV, as records (one dict per row).

One reader for every file of prompts and per-model scores (prompt files, benchmark
files, training data), and one parser for the scores in them. Errors name the file
and line (CSV, JSONL) or record (JSON list).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from .errors import DataError
from .jsonl import iter_jsonl

#: keys/columns that hold the prompt, in order of preference
PROMPT_COLUMNS = ("prompt", "question", "text", "content")
#: string values that mean "no score"
MISSING = frozenset({"", "nan", "none", "null"})

JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSON_LIST_KEYS = ("data", "records", "battles")


def read_text(path: str | os.PathLike[str], error: type[Exception] = DataError, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped); ``error`` names the file when it cannot be read."""
    p = Path(path)
    try:
        return p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise error(f"cannot read {what} {str(p)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{what} {str(p)!r} is not UTF-8 text (byte {exc.start})") from None


def parse_records(
    text: str,
    source: str,
    suffix: str,
    error: type[Exception] = DataError,
    suffixes: Sequence[str] = (".jsonl", ".ndjson", ".json", ".csv"),
) -> list[tuple[str, Any]]:
    """``(where, record)`` for each record of ``text``, read as the format of ``suffix``.

    * ``.jsonl`` / ``.ndjson``: one JSON value per non-blank line; ``where`` is ``"<source>: line N"``.
    * ``.json``: a list of values, or an object with a list under ``data``, ``records`` or ``battles``;
      ``where`` is ``"<source>: record N"`` (from 1).
    * ``.csv``: a header row, then one dict per row (column -> string); rows whose cells are all blank are
      skipped; duplicate column names and rows with another number of fields are errors; ``where`` is
      ``"<source>: line N"`` (the line the row ends on).

    Records are returned as parsed (JSON values need not be objects). ``suffixes`` limits the formats accepted.
    """
    suffix = suffix.lower()
    if suffix not in suffixes:
        raise error(f"{source}: unsupported file type {suffix or '(none)'!r}; use {', '.join(suffixes)}")
    if suffix in JSONL_SUFFIXES:
        return [(f"{source}: line {n}", value) for n, value in iter_jsonl(text, source, error)]
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(f"{source}: not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno})") from None
        if isinstance(data, dict):
            for key in JSON_LIST_KEYS:
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
            else:
                raise error(f"{source}: a JSON object without a list of records ({', '.join(JSON_LIST_KEYS)})")
        if not isinstance(data, list):
            raise error(f"{source}: expected a JSON list of records, got {type(data).__name__}")
        return [(f"{source}: record {i}", value) for i, value in enumerate(data, 1)]
    return _csv_records(text, source, error)


def _csv_records(text: str, source: str, error: type[Exception]) -> list[tuple[str, Any]]:
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise error(f"{source}: line 1: not valid CSV ({exc})") from None
    if len(set(header)) != len(header):
        raise error(f"{source}: line 1: duplicate column names in the header")
    out = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            where = f"{source}: line {reader.line_num}"
            if len(row) != len(header):
                raise error(f"{where}: {len(row)} fields, the header has {len(header)}")
            out.append((where, dict(zip(header, row, strict=True))))
    except csv.Error as exc:
        raise error(f"{source}: line {reader.line_num}: not valid CSV ({exc})") from None
    return out


def read_records(
    path: str | os.PathLike[str],
    error: type[Exception] = DataError,
    suffixes: Sequence[str] = (".jsonl", ".ndjson", ".json", ".csv"),
) -> list[tuple[str, Any]]:
    """:func:`parse_records` of the file at ``path``, in the format its suffix names."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise error(f"{p}: unsupported file type {p.suffix.lower() or '(none)'!r}; use {', '.join(suffixes)}")
    return parse_records(read_text(p, error), str(p), p.suffix, error, suffixes)


def prompt_column(record: dict[str, Any], columns: Sequence[str] = PROMPT_COLUMNS) -> str | None:
    """The first of ``columns`` that ``record`` has (whatever its value), or None."""
    return next((c for c in columns if c in record), None)


def find_prompt(record: dict[str, Any], columns: Sequence[str] = PROMPT_COLUMNS) -> str | None:
    """The first value of ``columns`` in ``record`` that is a string, or None."""
    for c in columns:
        value = record.get(c)
        if isinstance(value, str):
            return value
    return None


def is_missing(value: Any) -> bool:
    """True for an absent score: None, NaN, or a blank / ``nan`` / ``none`` / ``null`` string."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING


def parse_score(value: Any) -> float:
    """A score as a float: a number, a bool, ``true``/``false`` (any case; 1/0), or a numeric string.

    Raises ``ValueError`` (with a message without location) for anything else, None included;
    NaN and infinities are returned as they are (see :func:`is_missing`).
    """
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return 1.0 if text.lower() == "true" else 0.0
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a number (scores must be numbers; true/false count as 1/0)") from None
    if value is None:
        raise ValueError("missing score")
    raise ValueError(f"expected a number, got {type(value).__name__}")
