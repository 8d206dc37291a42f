"""Benchmark data: what a router is evaluated on.

A benchmark is a list of prompts (what routers score) and a matrix of answer
quality, one column per model; an **N-model benchmark** also has a matrix of
per-prompt costs in USD (``costs``), what the N-model metrics
(:mod:`routellm_core.evaluation.nmodel`) need. Built-in benchmarks (``mt-bench``,
``mmlu``, ``gsm8k``; N-model: ``routerbench-zs``, ``llmrouter-dcrouter``) are
plugins registered through ``routellm_register_benchmarks``; ``file:PATH`` reads a
user's own JSONL or CSV file (:func:`load_file_benchmark`) or an N-model JSON list
(:func:`load_nmodel_file`).
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
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..model_choice import ModelPrice, check_cost, estimate_tokens, prices_from_mapping
from ..paths import CACHE_ENV as CACHE_ENV  # the three names from ..paths are re-exported
from ..paths import DATA_ENV as DATA_ENV
from ..paths import user_cache_dir as user_cache_dir
from ..tabular import PROMPT_COLUMNS, parse_records, parse_score, prompt_column, read_text

FILE_PREFIX = "file:"
#: keys/columns that hold an optional identifier
ID_COLUMNS = ("id", "question_id", "uid")
FILE_SUFFIXES = (".jsonl", ".ndjson", ".csv")
#: the N-model ``file:`` format: a JSON list of {"question", "scores", "costs"}
NMODEL_SUFFIX = ".json"
#: output tokens expected of every answer when a cost is computed from a price (prompt tokens are estimated
#: with :func:`routellm_core.model_choice.estimate_tokens`); the default of the N-model model lists too
EXPECTED_OUTPUT_TOKENS = 256
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
    - ``costs``: optional float array ``(len(prompts), len(models))``: the cost in
      USD of model ``j`` answering prompt ``i`` (finite, >= 0). A benchmark with
      costs is an N-model benchmark (:attr:`has_costs`); they are part of the digest.
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
    costs: np.ndarray | None = None

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
        if self.costs is not None:
            self.costs = np.asarray(self.costs, dtype=np.float64)
            if self.costs.shape != (n, m):
                raise BenchmarkDataError(
                    f"benchmark {self.name!r}: costs have shape {self.costs.shape}, expected ({n}, {m}) (prompts x models)"
                )
            if not np.all(np.isfinite(self.costs)) or np.any(self.costs < 0):
                raise BenchmarkDataError(f"benchmark {self.name!r}: costs must be finite numbers >= 0 (USD)")
        if not self.digest:
            self.digest = compute_digest(self.prompts, self.models, self.scores, self.ids, self.costs)

    @property
    def has_costs(self) -> bool:
        """Whether this is an N-model benchmark: per-prompt costs for every model."""
        return self.costs is not None

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


def compute_digest(
    prompts: Sequence[str],
    models: Sequence[str],
    scores: np.ndarray,
    ids: Sequence[str] | None = None,
    costs: np.ndarray | None = None,
) -> str:
    """sha256 over a canonical encoding of the data (JSON text + little-endian float64 scores, then costs if any)."""
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
    if costs is not None:
        h.update(b"\0costs\0")
        h.update(np.ascontiguousarray(np.asarray(costs, dtype="<f8")).tobytes())
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


def default_pair(
    models: Sequence[str], scores: np.ndarray, strong_model: str | None = None, weak_model: str | None = None
) -> tuple[str, str]:
    """The routed pair: the given models, else the best and the worst mean score (file order when all tie)."""
    models = list(models)
    means = np.asarray(scores, dtype=np.float64).mean(axis=0)
    strong = strong_model or models[int(np.argmax(means))]
    weak = weak_model or models[int(np.argmin(means))]
    if strong == weak and not (strong_model and weak_model):
        # all models tie on the mean: fall back to file order
        strong, weak = (strong_model or models[0]), (weak_model or next(m for m in models if m != (strong_model or models[0])))
    return strong, weak


def nmodel_default_pair(models: Sequence[str], scores: np.ndarray, costs: np.ndarray) -> tuple[str, str]:
    """The pair a two-model router is evaluated on (as N = 2) on an N-model benchmark: the best single model
    (highest mean score, the cheapest of equals) as strong, the best of the cheapest models (lowest mean cost)
    as weak; when those are one model, the worst mean score is weak."""
    models = list(models)
    q = np.asarray(scores, dtype=np.float64).mean(axis=0)
    c = np.asarray(costs, dtype=np.float64).mean(axis=0)
    top = np.flatnonzero(q == q.max())
    strong = int(top[np.argmin(c[top])])
    cheapest = np.flatnonzero(np.isclose(c, c.min(), rtol=1e-9, atol=0.0))
    weak = int(cheapest[np.argmax(q[cheapest])])
    if weak == strong:
        others = [j for j in range(len(models)) if j != strong]
        weak = min(others, key=lambda j: (q[j], j))
    return models[strong], models[weak]


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

    A ``.json`` file is an N-model benchmark (:func:`load_nmodel_file`, without prices).
    """
    p = Path(path).expanduser()
    if p.suffix.lower() == NMODEL_SUFFIX:
        return load_nmodel_file(p, strong_model=strong_model, weak_model=weak_model)
    if p.suffix.lower() not in FILE_SUFFIXES:
        raise BenchmarkDataError(
            f"benchmark file {str(p)!r}: unsupported extension {p.suffix.lower() or '(none)'!r};"
            f" use .jsonl or .csv (two or more models), or .json (N models with costs)"
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
    strong, weak = default_pair(models, scores, strong_model, weak_model)
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


# -- N-model benchmark files and prices -----------------------------------------------------------


def prompt_costs(
    prompts: Sequence[str],
    models: Sequence[str],
    prices: Mapping[str, ModelPrice],
    *,
    output_tokens: int = EXPECTED_OUTPUT_TOKENS,
) -> np.ndarray:
    """Per-prompt costs ``(len(prompts), len(models))`` in USD from prices: estimated prompt tokens x input price
    + ``output_tokens`` x output price (every model in ``prices``)."""
    tokens = [float(estimate_tokens(p)) for p in prompts]
    out = float(output_tokens)
    return np.asarray([[prices[m].cost(t, out) for m in models] for t in tokens], dtype=np.float64).reshape(
        len(tokens), len(models)
    )


def load_prices_file(path: str | os.PathLike[str]) -> dict[str, ModelPrice]:
    """A prices file: YAML or JSON ``{model: {input: USD per 1M tokens, output: USD per 1M tokens}}``."""
    import yaml

    p = Path(path).expanduser()
    text = read_text(p, BenchmarkDataError, what="prices file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise BenchmarkDataError(f"prices file {str(p)!r}: not valid YAML or JSON{at}") from None
    if not isinstance(data, dict) or not data:
        raise BenchmarkDataError(
            f"prices file {str(p)!r}: expected a mapping {{model: {{input: USD per 1M tokens, output: USD per 1M tokens}}}},"
            f" got {type(data).__name__ if data is not None else 'an empty file'}"
        )
    try:
        return prices_from_mapping({str(k): v for k, v in data.items()}, what=f"prices file {str(p)!r}")
    except ConfigError as exc:
        raise BenchmarkDataError(str(exc)) from None


def _cost_map(value: Any, models: Sequence[str], where: str) -> list[float]:
    if not isinstance(value, dict):
        raise BenchmarkDataError(f"{where}: 'costs' must be an object {{model: USD}}, got {type(value).__name__}")
    unknown = [k for k in value if k not in models]
    if unknown:
        raise BenchmarkDataError(f"{where}: 'costs' names model {unknown[0]!r}, which has no score; models: {', '.join(models)}")
    missing = [m for m in models if m not in value]
    if missing:
        raise BenchmarkDataError(f"{where}: 'costs' has no cost for model {missing[0]!r} (give every model a cost, or none)")
    out = []
    for model in models:
        try:
            out.append(check_cost(value[model], what=f"{where}: cost of {model!r}"))
        except ConfigError as exc:
            raise BenchmarkDataError(str(exc)) from None
    return out


def load_nmodel_file(
    path: str | os.PathLike[str],
    *,
    prices: Mapping[str, ModelPrice] | None = None,
    output_tokens: int = EXPECTED_OUTPUT_TOKENS,
    strong_model: str | None = None,
    weak_model: str | None = None,
) -> BenchmarkData:
    """Read an N-model benchmark: a JSON list of ``{"question": str, "scores": {model: float}, "costs": {model: USD}}``.

    The prompt may also sit under ``prompt``, ``text`` or ``content``, and an optional ``id``. Every row has the
    same models (at least two) in ``scores``; ``costs`` (per-prompt USD, finite, >= 0) lists exactly those
    models, or is left out: then each model's cost comes from ``prices`` (:func:`prompt_costs`: estimated
    prompt tokens x input price + ``output_tokens`` x output price). Errors name the file, the record
    and the value.
    """
    p = Path(path).expanduser()
    text = read_text(p, BenchmarkDataError, what="benchmark file")
    records = parse_records(text, str(p), NMODEL_SUFFIX, BenchmarkDataError, (NMODEL_SUFFIX,))
    if not records:
        raise BenchmarkDataError(f"benchmark file {str(p)!r} contains no records")
    prompts: list[str] = []
    ids: list[str | None] = []
    rows: list[list[float]] = []
    cost_rows: list[list[float] | None] = []
    models: list[str] | None = None
    for where, record in records:
        if not isinstance(record, dict):
            raise BenchmarkDataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        prompt_key = prompt_column(record)
        if prompt_key is None or not isinstance(record[prompt_key], str):
            raise BenchmarkDataError(f"{where}: no string prompt; expected one of {', '.join(PROMPT_COLUMNS)}")
        extra = [k for k in record if k not in (prompt_key, "scores", "costs", *ID_COLUMNS)]
        if extra:
            raise BenchmarkDataError(f"{where}: unexpected key {extra[0]!r}; a row has question, scores, costs and id")
        scores = record.get("scores")
        if not isinstance(scores, dict):
            raise BenchmarkDataError(f"{where}: 'scores' must be an object {{model: score}}, got {type(scores).__name__}")
        if models is None:
            models = [str(k) for k in scores]
            if len(models) < 2:
                raise BenchmarkDataError(f"{where}: 'scores' has {len(models)} model(s); an N-model benchmark needs at least two")
        elif set(scores) != set(models):
            missing = [m for m in models if m not in scores]
            extra_models = [k for k in scores if k not in models]
            raise BenchmarkDataError(
                f"{where}: the models in 'scores' differ from the first record's"
                + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                + (f"; unexpected {', '.join(map(repr, extra_models))}" if extra_models else "")
            )
        rows.append([_parse_score(scores[m], where, f"scores.{m}") for m in models])
        cost_rows.append(_cost_map(record["costs"], models, where) if record.get("costs") is not None else None)
        prompts.append(record[prompt_key])
        id_key = next((k for k in ID_COLUMNS if k in record), None)
        ids.append(None if id_key is None or record[id_key] is None else str(record[id_key]))
    assert models is not None
    priced = [k for k, row in enumerate(cost_rows) if row is None]
    costs = np.zeros((len(prompts), len(models)))
    if priced:
        unpriced = [m for m in models if prices is None or m not in prices]
        if unpriced:
            where = records[priced[0]][0]
            raise BenchmarkDataError(
                f"{where}: no 'costs' and no price for model {unpriced[0]!r}; give the row its costs"
                f" or the model a price (routellm eval --prices FILE: {{model: {{input: USD/1M, output: USD/1M}}}})"
            )
        assert prices is not None
        costs[priced] = prompt_costs([prompts[k] for k in priced], models, prices, output_tokens=output_tokens)
    for k, row in enumerate(cost_rows):
        if row is not None:
            costs[k] = row
    score_matrix = np.asarray(rows, dtype=np.float64)
    default_strong, default_weak = nmodel_default_pair(models, score_matrix, costs)
    strong, weak = strong_model or default_strong, weak_model or default_weak
    if strong == weak and not (strong_model and weak_model):
        strong, weak = default_pair(models, score_matrix, strong_model, weak_model)
    use_ids = [i if i is not None else str(k) for k, i in enumerate(ids)] if any(i is not None for i in ids) else None
    return BenchmarkData(
        name=f"{FILE_PREFIX}{p.name}",
        prompts=prompts,
        models=models,
        scores=score_matrix,
        strong_model=strong,
        weak_model=weak,
        ids=use_ids,
        description=f"user N-model benchmark {p}",
        info={"path": str(p), "rows_priced": len(priced), "output_tokens": output_tokens if priced else None},
        costs=costs,
    )
