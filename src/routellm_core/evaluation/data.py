"""Benchmark data: what a router is evaluated on.

A benchmark is a list of prompts (what routers score) and a matrix of answer
quality, one column per model. Built-in benchmarks (``mt-bench``, ``mmlu``,
``gsm8k``) are plugins registered through ``routellm_register_benchmarks``;
``file:PATH`` reads a user's own JSONL or CSV file (:func:`load_file_benchmark`).
Loading a benchmark by name goes through the plugin registry:
:func:`routellm_core.lookups.load_benchmark`.

Whether a loader may download missing files is its ``download`` argument; left
out (``None``), ``$ROUTELLM_DOWNLOAD`` decides (:func:`downloads_allowed`, the
one place the variable is read).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..paths import CACHE_ENV as CACHE_ENV  # the three names from ..paths are re-exported
from ..paths import DATA_ENV as DATA_ENV
from ..paths import user_cache_dir as user_cache_dir
from ..tabular import PROMPT_COLUMNS, parse_records, parse_score, prompt_column, read_text

FILE_PREFIX = "file:"
#: keys/columns that hold an optional identifier
ID_COLUMNS = ("id", "question_id", "uid")
FILE_SUFFIXES = (".jsonl", ".ndjson", ".csv")
#: ``1`` (or ``true``, ``yes``, ``on``) lets benchmark loaders download missing files when not told otherwise
DOWNLOAD_ENV = "ROUTELLM_DOWNLOAD"


def downloads_allowed(download: bool | None = None) -> bool:
    """Whether a benchmark loader may download files it cannot find: ``download``, or when that is
    ``None``, ``$ROUTELLM_DOWNLOAD`` (the one place the variable is read)."""
    if download is not None:
        return bool(download)
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class BenchmarkDataError(ConfigError, DataError):
    """Benchmark data is missing or malformed (the message says where)."""


@dataclass
class BenchmarkData:
    """A benchmark: prompts and the quality of each model's answer to each prompt.

    - ``prompts``: what routers score (contaminated prompts already removed);
      for multi-turn benchmarks, the turn the router sees (MT-Bench: turn 1).
    - ``models``: the model names, one per column of ``scores``.
    - ``scores``: float array ``(len(prompts), len(models))``; ``scores[i, j]`` is
      the quality of model ``j``'s answer to prompt ``i`` (correctness 0/1, a
      judge score, ...). Higher is better.
    - ``strong_model`` / ``weak_model``: the default routed pair.
    - ``digest``: sha256 of the data (prompts, ids, models, scores); computed when
      left empty. It is part of the score-cache key.
    - ``ids``: optional per-prompt identifiers.
    - ``extra_texts``: other text of the benchmark that routers do not score but
      training data must not contain (MT-Bench: the second turns); see
      :meth:`all_texts`. Not part of the digest.
    """

    name: str
    prompts: list[str]
    models: list[str]
    scores: np.ndarray
    strong_model: str
    weak_model: str
    digest: str = ""
    ids: list[str] | None = None
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    extra_texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prompts = list(self.prompts)
        self.models = list(self.models)
        self.scores = np.asarray(self.scores, dtype=np.float64)
        n, m = len(self.prompts), len(self.models)
        if n == 0:
            raise BenchmarkDataError(f"benchmark {self.name!r} has no prompts")
        if m < 2:
            raise BenchmarkDataError(f"benchmark {self.name!r} needs at least two models, has {m}")
        if len(set(self.models)) != m:
            raise BenchmarkDataError(f"benchmark {self.name!r} has duplicate model names: {self.models}")
        if self.scores.shape != (n, m):
            raise BenchmarkDataError(
                f"benchmark {self.name!r}: scores have shape {self.scores.shape}, expected ({n}, {m}) (prompts x models)"
            )
        if not np.all(np.isfinite(self.scores)):
            raise BenchmarkDataError(f"benchmark {self.name!r}: scores must be finite numbers")
        if not all(isinstance(p, str) for p in self.prompts):
            raise BenchmarkDataError(f"benchmark {self.name!r}: prompts must be strings")
        if self.ids is not None:
            self.ids = [str(i) for i in self.ids]
            if len(self.ids) != n:
                raise BenchmarkDataError(f"benchmark {self.name!r}: {len(self.ids)} ids for {n} prompts")
        for role, model in (("strong", self.strong_model), ("weak", self.weak_model)):
            self.model_index(model, role=role)
        if not self.digest:
            self.digest = compute_digest(self.prompts, self.models, self.scores, self.ids)

    def model_index(self, model: str, *, role: str = "") -> int:
        try:
            return self.models.index(model)
        except ValueError:
            what = f"{role} model" if role else "model"
            raise BenchmarkDataError(
                f"{what} {model!r} is not in benchmark {self.name!r}; available models: {', '.join(self.models)}"
            ) from None

    def model_scores(self, model: str) -> np.ndarray:
        """Quality of ``model``'s answers, one per prompt."""
        return self.scores[:, self.model_index(model)]

    def pair(self, strong: str | None = None, weak: str | None = None) -> tuple[str, str, np.ndarray, np.ndarray]:
        """``(strong, weak, strong_scores, weak_scores)`` for the routed pair (defaults: the benchmark's)."""
        strong = strong or self.strong_model
        weak = weak or self.weak_model
        i, j = self.model_index(strong, role="strong"), self.model_index(weak, role="weak")
        if i == j:
            raise BenchmarkDataError(f"strong and weak model are both {strong!r}; pick two different models")
        return strong, weak, self.scores[:, i], self.scores[:, j]

    def all_texts(self) -> list[str]:
        """Every prompt and extra text of the benchmark (for decontaminating training data)."""
        return list(self.prompts) + list(self.extra_texts)

    def __len__(self) -> int:
        return len(self.prompts)


def compute_digest(prompts: Sequence[str], models: Sequence[str], scores: np.ndarray, ids: Sequence[str] | None = None) -> str:
    """sha256 over a canonical encoding of the data (JSON text + little-endian float64 scores)."""
    h = hashlib.sha256()
    h.update(b"routellm-benchmark-v1\0")
    h.update(
        json.dumps(
            {"prompts": list(prompts), "models": list(models), "ids": None if ids is None else list(ids)},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8", "surrogatepass")
    )
    h.update(b"\0")
    h.update(np.ascontiguousarray(np.asarray(scores, dtype="<f8")).tobytes())
    return h.hexdigest()


# -- bring-your-own benchmark files ---------------------------------------------------------


def _parse_score(value: Any, where: str, column: str) -> float:
    try:
        out = parse_score(value)
    except ValueError as exc:
        raise BenchmarkDataError(f"{where}, column {column!r}: {exc}") from None
    if not math.isfinite(out):
        raise BenchmarkDataError(f"{where}, column {column!r}: score must be finite, got {value!r}")
    return out


def _split_record(record: dict[str, Any], where: str) -> tuple[str, str | None, dict[str, Any]]:
    prompt_key = prompt_column(record)
    if prompt_key is None:
        raise BenchmarkDataError(f"{where}: no prompt column; expected one of {', '.join(PROMPT_COLUMNS)}")
    prompt = record[prompt_key]
    if not isinstance(prompt, str):
        raise BenchmarkDataError(f"{where}, column {prompt_key!r}: the prompt must be a string")
    id_key = next((k for k in ID_COLUMNS if k in record), None)
    ident = None if id_key is None or record[id_key] is None else str(record[id_key])
    rest = {k: v for k, v in record.items() if k not in (prompt_key, id_key)}
    if "scores" in rest and isinstance(rest["scores"], dict):  # {"prompt":..., "scores": {model: value}}
        nested = rest.pop("scores")
        for k, v in nested.items():
            if k in rest:
                raise BenchmarkDataError(f"{where}: model {k!r} appears both at top level and in 'scores'")
            rest[k] = v
    return prompt, ident, rest


def load_file_benchmark(
    path: str | os.PathLike[str], *, strong_model: str | None = None, weak_model: str | None = None
) -> BenchmarkData:
    """Read a bring-your-own benchmark.

    Format: ``.jsonl`` (one JSON object per line) or ``.csv`` (header row). Each
    record has a prompt column (``prompt``, ``question``, ``text`` or ``content``), optionally an
    id column (``id``, ``question_id`` or ``uid``), and one numeric score column per
    model, any number of models (at least two); in JSONL the scores may instead sit
    in a nested ``"scores": {model: value}`` object. ``true``/``false`` count as 1/0.
    Every record must have the same models.

    Default routed pair: the model with the highest mean score is strong, the one
    with the lowest is weak (override with ``strong_model`` / ``weak_model``).
    """
    p = Path(path).expanduser()
    if p.suffix.lower() not in FILE_SUFFIXES:
        raise BenchmarkDataError(
            f"benchmark file {str(p)!r}: unsupported extension {p.suffix.lower() or '(none)'!r}; use .jsonl or .csv"
        )
    text = read_text(p, BenchmarkDataError, what="benchmark file")
    records: list[tuple[str, dict[str, Any]]] = []
    for where, record in parse_records(text, str(p), p.suffix, BenchmarkDataError, FILE_SUFFIXES):
        if not isinstance(record, dict):
            raise BenchmarkDataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        records.append((where, record))
    if not records:
        raise BenchmarkDataError(f"benchmark file {str(p)!r} contains no records")

    prompts: list[str] = []
    ids: list[str | None] = []
    rows: list[list[float]] = []
    models: list[str] | None = None
    for where, record in records:
        prompt, ident, rest = _split_record(record, where)
        if models is None:
            models = list(rest)
            if len(models) < 2:
                raise BenchmarkDataError(
                    f"{where}: found {len(models)} score column(s) ({', '.join(models) or 'none'});"
                    f" need one per model, at least two"
                )
        elif set(rest) != set(models):
            missing = [m for m in models if m not in rest]
            extra = [k for k in rest if k not in models]
            raise BenchmarkDataError(
                f"{where}: columns differ from the first record"
                + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                + (f"; unexpected {', '.join(map(repr, extra))}" if extra else "")
            )
        rows.append([_parse_score(rest[m], where, m) for m in models])
        prompts.append(prompt)
        ids.append(ident)
    assert models is not None
    scores = np.asarray(rows, dtype=np.float64)
    means = scores.mean(axis=0)
    strong = strong_model or models[int(np.argmax(means))]
    weak = weak_model or models[int(np.argmin(means))]
    if strong == weak and not (strong_model and weak_model):
        # all models tie on the mean: fall back to file order
        strong, weak = (strong_model or models[0]), (weak_model or next(m for m in models if m != (strong_model or models[0])))
    use_ids = [i if i is not None else str(k) for k, i in enumerate(ids)] if any(i is not None for i in ids) else None
    return BenchmarkData(
        name=f"{FILE_PREFIX}{p.name}",
        prompts=prompts,
        models=models,
        scores=scores,
        strong_model=strong,
        weak_model=weak,
        ids=use_ids,
        description=f"user benchmark {p}",
        info={"path": str(p)},
    )
