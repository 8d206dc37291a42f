"""Training data for routers: battles and per-prompt score matrices, as pairwise comparisons.

Accepted files (``.jsonl``, ``.json`` list or ``.csv``; the kind is detected from the content):

* **Score matrices**, one row per prompt, a score in [0, 1] per model:
  - JSON / JSONL records ``{"question" | "prompt": str, "scores": {model: score}}``
    (LLMRouter, RouterDC);
  - CSV with a ``prompt`` column and one column per model holding 0/1, True/False or a
    number in [0, 1] (RouterBench, RouteLLM's evaluation CSVs). Columns with ``|`` in
    their name, ``*_response`` / ``*_cost`` columns and known metadata columns are ignored.
* **Battles** (Chatbot Arena style): records with ``model_a``, ``model_b``, ``winner``
  (``model_a``, ``model_b``, ``tie``, ``tie (bothbad)``) and a prompt in ``prompt`` /
  ``question`` or the first user turn of ``conversation_a``.

Every prompt of a score matrix gives one comparison per pair of models that both
have a score there, with the soft label ``(s_a - s_b + 1) / 2`` (1 = a better,
0.5 = tie). A battle gives one comparison with label 1, 0 or 0.5. Each prompt
keeps its source (file) and task (``task`` / ``category`` / ``eval_name`` /
``cluster_id`` when the record has one).
"""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .errors import DataError
from .tabular import PROMPT_COLUMNS, find_prompt, is_missing, parse_score, read_records

META_COLUMNS = frozenset(
    {
        *PROMPT_COLUMNS,
        "sample_id",
        "eval_name",
        "oracle_model_to_route_to",
        "id",
        "question_id",
        "category",
        "cluster_id",
        "answer",
        "reference",
        "source",
    }
)
TIE_WINNERS = frozenset({"tie", "tie (bothbad)", "tie(bothbad)", "both_bad", "bothbad"})
#: virtual models of ``tier_pairs``: each score file's best model (by mean score) and its median model
TIER_STRONG = "tier:strong"
TIER_WEAK = "tier:weak"


class TrainingDataError(DataError):
    """A training file could not be read (the message names the file and record)."""


@dataclass
class Comparisons:
    """Prompts, models and pairwise comparisons ``(prompt, model_a, model_b, P(a beats b))``.

    Per prompt ``i``: ``prompts[i]``, ``sources[i]`` (the file it came from) and ``tasks[i]``
    (``"<source>:<task>"``, or the source when the record names no task). Per comparison ``k``:
    ``prompt_idx[k]``, ``model_a[k]`` and ``model_b[k]`` (indices into ``models``) and ``label[k]``
    in [0, 1] (1: a better, 0: b better, 0.5: tie; score matrices give soft labels).
    ``file_stats`` has one entry per file read (file, source, kind, prompts, comparisons).
    ``scores[i]`` keeps a score-matrix prompt's raw scores by model name (empty for battles).
    """

    prompts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    prompt_idx: list[int] = field(default_factory=list)
    model_a: list[int] = field(default_factory=list)
    model_b: list[int] = field(default_factory=list)
    label: list[float] = field(default_factory=list)
    file_stats: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, float]] = field(default_factory=list)

    def model_id(self, name: str) -> int:
        """The index of model ``name``, added to :attr:`models` when new."""
        ids: dict[str, int] | None = self.__dict__.get("_ids")
        if ids is None or len(ids) != len(self.models):
            ids = self.__dict__["_ids"] = {m: i for i, m in enumerate(self.models)}
        if name not in ids:
            ids[name] = len(self.models)
            self.models.append(name)
        return ids[name]

    def add_prompt(self, text: str, source: str, task: str | None = None, scores: dict[str, float] | None = None) -> int:
        """Append a prompt (with its raw scores by model, for a score matrix); returns its index."""
        self.prompts.append(text)
        self.sources.append(source)
        self.tasks.append(f"{source}:{task}" if task else source)
        self.scores.append(dict(scores or {}))
        return len(self.prompts) - 1

    def add(self, p: int, a: int, b: int, label: float) -> None:
        """Append one comparison: on prompt ``p``, model ``a`` beats model ``b`` with probability ``label``."""
        self.prompt_idx.append(p)
        self.model_a.append(a)
        self.model_b.append(b)
        self.label.append(label)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(prompt_idx, model_a, model_b)`` as int64 arrays and ``label`` as float32."""
        return (
            np.asarray(self.prompt_idx, np.int64),
            np.asarray(self.model_a, np.int64),
            np.asarray(self.model_b, np.int64),
            np.asarray(self.label, np.float32),
        )

    def __len__(self) -> int:
        return len(self.label)

    def summary(self) -> dict[str, Any]:
        """Counts for reports: prompts, comparisons, ties, comparisons per model, prompts per source, files."""
        counts = Counter(self.model_a) + Counter(self.model_b)
        labels = np.asarray(self.label)
        return {
            "prompts": len(self.prompts),
            "comparisons": len(self.label),
            "ties": int(np.sum(labels == 0.5)),
            "models": {m: int(counts.get(i, 0)) for i, m in enumerate(self.models)},
            "prompts_by_source": dict(Counter(self.sources)),
            "files": self.file_stats,
        }


def unit_score(value: Any) -> float | None:
    """A score in [0, 1], or None when missing (see :func:`routellm_core.tabular.is_missing`)."""
    if is_missing(value):
        return None
    try:
        x = parse_score(value)
    except ValueError as exc:
        raise TrainingDataError(str(exc)) from None
    if not 0.0 <= x <= 1.0:
        raise TrainingDataError(f"score {x} outside [0, 1]")
    return x


def unwrap_list_repr(text: str) -> str:
    """RouterBench stores prompts as the Python repr of a list of turns (``"['Question ...']"``): the turns' text.

    Anything that is not exactly such a repr is returned unchanged.
    """
    stripped = text.strip()
    if not (stripped.startswith("['") or stripped.startswith('["')) or not stripped.endswith("]"):
        return text
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return text


def prompt_of(record: dict[str, Any]) -> str | None:
    """The prompt of a training record: a prompt column, else the first user turn of ``conversation_a``."""
    prompt = find_prompt(record)
    if prompt is not None:
        return unwrap_list_repr(prompt)
    conv = record.get("conversation_a")
    if isinstance(conv, str):
        try:
            conv = json.loads(conv)
        except ValueError:
            return conv
    if isinstance(conv, list):
        for turn in conv:
            if isinstance(turn, dict) and turn.get("role") == "user":
                return str(turn.get("content", ""))
    return None


def _model_columns(records: list[dict[str, Any]]) -> list[str]:
    cols = []
    for col in records[0]:
        if col is None or col.lower() in META_COLUMNS or "|" in col or col.endswith("_response") or col.endswith("_cost"):
            continue
        try:
            vals = [unit_score(r.get(col)) for r in records[:200]]
        except TrainingDataError:
            continue
        if any(v is not None for v in vals):
            cols.append(col)
    return cols


def add_file(data: Comparisons, path: str | os.PathLike[str], source: str | None = None, tier_pairs: bool = False) -> None:
    """Read one training file into ``data``.

    ``source``: the name its prompts are recorded under (default: the file's stem).
    ``tier_pairs``: for score matrices, also add a comparison between two virtual models per prompt,
    ``tier:strong`` (the file's best model by mean score) and ``tier:weak`` (its median model), with
    the soft label of those two models. The virtual pair is shared by every file, so it learns from
    all prompts what separates a strong model from a weaker one, even when files share no model.
    """
    path = Path(path)
    source = source or path.stem
    located = read_records(path, TrainingDataError, suffixes=(".csv", ".json", ".jsonl"))
    if not located:
        raise TrainingDataError(f"{path}: no records")
    for where, r in located:
        if not isinstance(r, dict):
            raise TrainingDataError(f"{where}: records must be objects, got {type(r).__name__}")
    records: list[dict[str, Any]] = [r for _, r in located]
    first = records[0]
    n_prompts0, n_cmp0 = len(data.prompts), len(data.label)
    if {"model_a", "model_b", "winner"} <= set(first):
        kind = "battles"
        _add_battles(data, located, source)
    elif isinstance(first.get("scores"), dict):
        kind = "score matrix (json)"
        rows = []
        for where, r in located:
            prompt = prompt_of(r)
            if prompt is None:
                raise TrainingDataError(f"{where}: no prompt")
            if not isinstance(r.get("scores"), dict):
                raise TrainingDataError(f"{where}: no 'scores' object")
            scores = {m: _located(unit_score, v, where, m) for m, v in r["scores"].items()}
            task = r.get("task", r.get("eval_name", r.get("cluster_id")))
            rows.append((prompt, scores, None if task is None else str(task)))
        _add_matrix(data, rows, source, tier_pairs)
    elif "prompt" in first:
        kind = "score matrix (csv)"
        cols = _model_columns(records)
        if len(cols) < 2:
            raise TrainingDataError(f"{path}: found {len(cols)} model score columns; need at least 2")
        rows = []
        for where, r in located:
            scores = {m: _located(unit_score, r.get(m), where, m) for m in cols}
            prompt = prompt_of(r)
            if prompt is None:
                raise TrainingDataError(f"{where}: no prompt")
            rows.append((prompt, scores, r.get("eval_name") or r.get("task") or None))
        _add_matrix(data, rows, source, tier_pairs)
    else:
        raise TrainingDataError(
            f"{path}: unknown format; expected battles (model_a, model_b, winner) or score "
            "matrices (question/prompt + scores, or CSV with model columns)"
        )
    data.file_stats.append(
        {
            "file": path.name,
            "source": source,
            "kind": kind,
            "prompts": len(data.prompts) - n_prompts0,
            "comparisons": len(data.label) - n_cmp0,
        }
    )


def _located(parse: Callable[[Any], Any], value: Any, where: str, column: str) -> Any:
    try:
        return parse(value)
    except TrainingDataError as exc:
        raise TrainingDataError(f"{where}, column {column!r}: {exc}") from None


def _add_battles(data: Comparisons, located: list[tuple[str, dict[str, Any]]], source: str) -> None:
    index: dict[str, int] = {}
    for where, r in located:
        prompt = prompt_of(r)
        if prompt is None:
            raise TrainingDataError(f"{where}: no prompt")
        winner = str(r.get("winner")).strip().lower()
        if winner == "model_a":
            label = 1.0
        elif winner == "model_b":
            label = 0.0
        elif winner in TIE_WINNERS:
            label = 0.5
        else:
            raise TrainingDataError(f"{where}: unknown winner {r.get('winner')!r}")
        if r.get("model_a") == r.get("model_b"):
            continue
        if prompt not in index:
            index[prompt] = data.add_prompt(prompt, source, r.get("task") or r.get("category") or None)
        data.add(index[prompt], data.model_id(str(r["model_a"])), data.model_id(str(r["model_b"])), label)


def _add_matrix(
    data: Comparisons, rows: list[tuple[str, dict[str, float | None], str | None]], source: str, tier_pairs: bool
) -> None:
    tiers = None
    if tier_pairs:
        order = _rank_by_mean(scores for _, scores, _ in rows)
        if len(order) >= 2:
            tiers = (order[0], order[len(order) // 2])
    for prompt, scores, task in rows:
        p = _add_scores(data, prompt, source, scores, task)
        if tiers is not None and p is not None:
            sa, sb = scores.get(tiers[0]), scores.get(tiers[1])
            if sa is not None and sb is not None:
                data.add(p, data.model_id(TIER_STRONG), data.model_id(TIER_WEAK), (sa - sb + 1.0) / 2.0)


def _rank_by_mean(score_rows: Iterable[Mapping[str, float | None]]) -> list[str]:
    """Models by mean score over the rows that score them, best first (ties by name)."""
    sums: dict[str, list[float]] = {}
    for scores in score_rows:
        for m, s in scores.items():
            if s is not None:
                sums.setdefault(m, []).append(float(s))
    return sorted(sums, key=lambda m: (-float(np.mean(sums[m])), m))


def ranked_models(data: Comparisons) -> dict[str, list[str]]:
    """Per source with score-matrix prompts: its models by mean score over its prompts in ``data``, best first."""
    rows: dict[str, list[dict[str, float]]] = {}
    for source, scores in zip(data.sources, data.scores, strict=True):
        if scores:
            rows.setdefault(source, []).append(scores)
    return {source: _rank_by_mean(r) for source, r in rows.items()}


def _add_scores(
    data: Comparisons, prompt: str, source: str, scores: dict[str, float | None], task: str | None = None
) -> int | None:
    """Add a prompt and a comparison per pair of its scored models; returns the prompt's index (None: fewer than 2 scores)."""
    present = [(data.model_id(m), s) for m, s in scores.items() if s is not None]
    if len(present) < 2:
        return None
    p = data.add_prompt(prompt, source, task, {m: s for m, s in scores.items() if s is not None})
    for x in range(len(present)):
        for y in range(x + 1, len(present)):
            (a, sa), (b, sb) = present[x], present[y]
            data.add(p, a, b, (sa - sb + 1.0) / 2.0)
    return p


def load_files(
    paths: Iterable[str | os.PathLike[str]], sources: Iterable[str | None] | None = None, tier_pairs: bool = False
) -> Comparisons:
    """Read training files (see :func:`add_file`) into one :class:`Comparisons`."""
    data = Comparisons()
    paths = list(paths)
    srcs = list(sources) if sources is not None else [None] * len(paths)
    if len(srcs) != len(paths):
        raise ValueError(f"{len(paths)} paths but {len(srcs)} sources")
    for path, src in zip(paths, srcs, strict=True):
        add_file(data, path, src, tier_pairs=tier_pairs)
    return data


def subset(data: Comparisons, keep_prompts: np.ndarray) -> Comparisons:
    """The comparisons whose prompt is in ``keep_prompts`` (a boolean mask over prompts), prompts renumbered."""
    keep_prompts = np.asarray(keep_prompts, bool)
    if keep_prompts.shape != (len(data.prompts),):
        raise ValueError(f"keep_prompts has shape {keep_prompts.shape}, expected ({len(data.prompts)},)")
    new_index = np.full(len(data.prompts), -1, np.int64)
    new_index[keep_prompts] = np.arange(int(keep_prompts.sum()))
    out = Comparisons(
        prompts=[p for p, k in zip(data.prompts, keep_prompts, strict=True) if k],
        sources=[s for s, k in zip(data.sources, keep_prompts, strict=True) if k],
        tasks=[t for t, k in zip(data.tasks, keep_prompts, strict=True) if k],
        scores=[s for s, k in zip(data.scores, keep_prompts, strict=True) if k],
        models=list(data.models),
        file_stats=list(data.file_stats),
    )
    pi, a, b, y = data.arrays()
    mask = keep_prompts[pi] if len(pi) else np.zeros(0, bool)
    out.prompt_idx = new_index[pi[mask]].tolist()
    out.model_a, out.model_b, out.label = a[mask].tolist(), b[mask].tolist(), y[mask].tolist()
    return out


@dataclass
class PairOutcomes:
    """Per prompt that compares one of the routing pairs: ``prompt[k]`` (index into the data's prompts),
    ``label[k]`` = P(strong beats weak) averaged over that pair's comparisons on it, and ``pair[k]``
    (index into the pairs given)."""

    prompt: np.ndarray
    label: np.ndarray
    pair: np.ndarray


def pair_outcomes(data: Comparisons, pairs: Iterable[tuple[str, str]]) -> PairOutcomes:
    """Each prompt's outcome for the first of ``pairs`` (strong, weak) compared on it, in either order.

    Prompts where none of the pairs was compared are left out. Typical pairs: the routing pair, its
    aliases, then ``(TIER_STRONG, TIER_WEAK)`` for prompts without it (see ``tier_pairs`` of :func:`add_file`).
    """
    ids = {m: i for i, m in enumerate(data.models)}
    pi, a, b, y = data.arrays()
    y = y.astype(np.float64)
    best_pair = np.full(len(data.prompts), np.iinfo(np.int64).max, np.int64)
    total = np.zeros(len(data.prompts))
    count = np.zeros(len(data.prompts))
    for k, (strong, weak) in enumerate(pairs):
        if strong not in ids or weak not in ids:
            continue
        s, w = ids[strong], ids[weak]
        for mask, value in (((a == s) & (b == w), y), ((a == w) & (b == s), 1.0 - y)):
            hit = mask & (best_pair[pi] >= k)  # pairs come in priority order: a prompt keeps its first
            best_pair[pi[hit]] = k
            np.add.at(total, pi[hit], value[hit])
            np.add.at(count, pi[hit], 1.0)
    found = np.nonzero(count > 0)[0]
    return PairOutcomes(prompt=found, label=total[found] / count[found], pair=best_pair[found])


#: how :func:`matrix_outcomes` turns a score-matrix prompt's scores into P(strong beats weak)
MATRIX_LABELS = ("difficulty", "halves")


def matrix_outcomes(data: Comparisons, rule: str) -> PairOutcomes:
    """P(strong beats weak) of every score-matrix prompt from its models' scores (``pair`` is all 0).

    ``rule``:

    * ``"difficulty"``: a model that always scores 1 vs the prompt's average model,
      ``(2 - mean score) / 2``: the harder the prompt for the file's models, the more it needs the strong one;
    * ``"halves"``: the upper vs the lower half of the file's models (ranked by mean score over the file),
      ``(mean upper - mean lower + 1) / 2`` over the models scored on the prompt (ranked on the prompts of
      ``data``, so after decontamination on the kept ones).

    The file's best vs median model (``tier_pairs`` of :func:`add_file`) is :func:`pair_outcomes` with
    ``(TIER_STRONG, TIER_WEAK)``.
    """
    if rule not in MATRIX_LABELS:
        raise ValueError(f"unknown matrix label rule {rule!r}; known: {', '.join(MATRIX_LABELS)}")
    upper = {source: set(order[: len(order) // 2]) for source, order in ranked_models(data).items()}
    found: list[int] = []
    labels: list[float] = []
    for i, scores in enumerate(data.scores):
        if not scores:
            continue
        if rule == "difficulty":
            label: float | None = (2.0 - float(np.mean(list(scores.values())))) / 2.0
        else:
            top = [s for m, s in scores.items() if m in upper[data.sources[i]]]
            low = [s for m, s in scores.items() if m not in upper[data.sources[i]]]
            label = (float(np.mean(top)) - float(np.mean(low)) + 1.0) / 2.0 if top and low else None
        if label is not None:
            found.append(i)
            labels.append(label)
    return PairOutcomes(
        prompt=np.asarray(found, np.int64), label=np.asarray(labels, np.float64), pair=np.zeros(len(found), np.int64)
    )
