"""Battle files row by row (RouteLLM's inputs: one precomputed embedding per battle row)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from routellm_core.plugin_api import TIE_WINNERS, TrainingDataError, read_records

_WINNER_FLAGS = ("winner_model_a", "winner_model_b", "winner_tie")


@dataclass
class Battles:
    """One entry per battle row: model names and ``label`` = P(model_a wins) (1, 0 or 0.5 for a tie)."""

    model_a: list[str]
    model_b: list[str]
    label: np.ndarray


def _flag(value: object, where: str, key: str) -> bool:
    if value in (0, 1, "0", "1", True, False, "true", "false", "True", "False"):
        return str(value).lower() in ("1", "true")
    raise TrainingDataError(f"{where}: {key} must be 0 or 1, got {value!r}")


def _label(record: dict[str, Any], where: str) -> float:
    if "winner" in record:
        winner = str(record["winner"]).strip().lower()
        if winner == "model_a":
            return 1.0
        if winner == "model_b":
            return 0.0
        if winner in TIE_WINNERS:
            return 0.5
        raise TrainingDataError(f"{where}: unknown winner {record['winner']!r} (expected model_a, model_b, tie or tie (bothbad))")
    if all(k in record for k in _WINNER_FLAGS):  # lmsys-arena-human-preference style
        a, b, tie = (_flag(record[k], where, k) for k in _WINNER_FLAGS)
        if a + b + tie != 1:
            raise TrainingDataError(f"{where}: exactly one of {', '.join(_WINNER_FLAGS)} must be 1")
        return 1.0 if a else 0.0 if b else 0.5
    raise TrainingDataError(f"{where}: no winner (a 'winner' field, or {', '.join(_WINNER_FLAGS)})")


def read_battles(path: str | os.PathLike[str]) -> Battles:
    """Every row of a battles file (``.jsonl``, ``.json``, ``.csv``), in file order; errors name file and line."""
    model_a, model_b, labels = [], [], []
    for where, record in read_records(path, TrainingDataError, suffixes=(".jsonl", ".ndjson", ".json", ".csv")):
        if not isinstance(record, dict):
            raise TrainingDataError(f"{where}: a battle must be an object, got {type(record).__name__}")
        for key in ("model_a", "model_b"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise TrainingDataError(f"{where}: {key} must be a non-empty string, got {record.get(key)!r}")
        labels.append(_label(record, where))
        model_a.append(record["model_a"])
        model_b.append(record["model_b"])
    if not labels:
        raise TrainingDataError(f"{path}: no battles")
    return Battles(model_a, model_b, np.asarray(labels, np.float64))
