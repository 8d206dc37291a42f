"""Decontamination of training prompts against evaluation benchmark prompts.

A training prompt is dropped when, against any evaluation prompt,

* it is an exact match after normalisation (Unicode NFKC, case-folded, whitespace collapsed), or
* the cosine similarity of their embeddings is >= ``threshold`` (0.95, as in the RouteLLM paper).

Evaluation prompts come from the benchmarks registered with routellm (the
evaluation harness) and, given a data directory, straight from RouteLLM's
evaluation files (every MMLU domain CSV, GSM8K test questions and responses CSV,
both MT-Bench turns), contaminated ones included. A registered benchmark whose
data cannot be loaded is an error with ``strict=True``; otherwise it is recorded
in :attr:`EvalPrompts.skipped` and in the report.

Typical use by a trainer (``embed``: texts -> unit-norm vectors, e.g. an
:class:`~routellm_core.embedders.EmbeddingCache`'s ``embed``)::

    evals = collect_eval_prompts(data_dir)
    data, emb, report = decontaminate(data, emb, evals, embed)
    report.write(output_dir)
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .errors import RoutellmError
from .hashing import sha256_text
from .tabular import read_records
from .training_data import Comparisons, subset

DEFAULT_THRESHOLD = 0.95
_WS = re.compile(r"\s+")


class DecontaminationError(RoutellmError):
    """Evaluation prompts needed for decontamination could not be loaded."""


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace runs collapsed to one space, stripped."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass
class EvalPrompts:
    """Evaluation prompts by benchmark name, and the registered benchmarks that could not be loaded (name -> why)."""

    sets: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sets)


def eval_prompts_from_dir(data_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Evaluation prompts from a RouteLLM-style data directory (``routellm-evals/`` inside it, or it itself).

    ``mmlu``: every ``mmlu/responses/*.csv`` prompt; ``gsm8k``: the responses CSV and ``test.jsonl``
    questions; ``mt-bench``: each turn and each question's turns joined by newlines. Missing files are left out.
    """
    root = Path(data_dir)
    if (root / "routellm-evals").is_dir():
        root = root / "routellm-evals"
    out: dict[str, list[str]] = {}
    mmlu = []
    for f in sorted((root / "mmlu" / "responses").glob("*.csv")):
        mmlu += [_field(r, where, "prompt") for where, r in read_records(f, DecontaminationError)]
    if mmlu:
        out["mmlu"] = mmlu
    gsm = []
    f = root / "gsm8k" / "gsm8k_responses.csv"
    if f.is_file():
        gsm += [_field(r, where, "prompt") for where, r in read_records(f, DecontaminationError)]
    f = root / "gsm8k" / "test.jsonl"
    if f.is_file():
        gsm += [_field(r, where, "question") for where, r in read_records(f, DecontaminationError)]
    if gsm:
        out["gsm8k"] = gsm
    f = root / "mt_bench" / "question.jsonl"
    if f.is_file():
        turns = []
        for where, q in read_records(f, DecontaminationError):
            qturns = q.get("turns", []) if isinstance(q, dict) else None
            if not isinstance(qturns, list) or not all(isinstance(t, str) for t in qturns):
                raise DecontaminationError(f"{where}: 'turns' must be a list of strings")
            turns += qturns
            turns.append("\n".join(qturns))
        out["mt-bench"] = turns
    return out


def _field(record: Any, where: str, key: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    if not isinstance(value, str):
        raise DecontaminationError(f"{where}: no string {key!r}")
    return value


def eval_prompts_from_registry(data_dir: str | os.PathLike[str] | None = None, *, strict: bool = False) -> EvalPrompts:
    """Prompts of every benchmark registered with routellm.

    A benchmark that fails to load with a :class:`~routellm_core.errors.RoutellmError` (typically: its
    data is not found) raises :class:`DecontaminationError` when ``strict``, else is recorded in
    ``skipped`` with the error message. Any other exception propagates.
    """
    from .plugins import get_registry

    registry = get_registry()
    out = EvalPrompts()
    for name in registry.names("benchmarks"):
        try:
            bench = registry.get("benchmarks", name).factory(data_dir=data_dir)
        except RoutellmError as exc:
            if strict:
                raise DecontaminationError(f"benchmark {name!r} could not be loaded for decontamination: {exc}") from exc
            out.skipped[name] = str(exc)
            continue
        out.sets[name] = list(bench.prompts)
    return out


def collect_eval_prompts(data_dir: str | os.PathLike[str] | None = None, *, strict: bool = False) -> EvalPrompts:
    """:func:`eval_prompts_from_dir` (when ``data_dir`` is given) plus :func:`eval_prompts_from_registry`;
    a registered benchmark whose name is already taken by a directory set is named ``"<name> (registered)"``."""
    out = EvalPrompts(sets=eval_prompts_from_dir(data_dir) if data_dir is not None else {})
    registered = eval_prompts_from_registry(data_dir, strict=strict)
    for name, prompts in registered.sets.items():
        out.sets[f"{name} (registered)" if name in out.sets else name] = prompts
    out.skipped.update(registered.skipped)
    return out


@dataclass
class DecontaminationReport:
    """What decontamination dropped. ``texts=False`` keeps only sha256 digests of the prompts (for
    reports shipped next to a checkpoint, which must not contain pieces of the data).

    Each item of ``dropped``: ``source``, ``index`` (within its source), ``reason`` (``exact`` or
    ``cosine``), ``benchmark``, ``cosine``, ``train_prompt``, ``eval_prompt``. ``skipped``: registered
    benchmarks that were not checked against, with the reason.
    """

    threshold: float
    eval_counts: dict[str, int]
    train_prompts: int
    dropped: list[dict[str, Any]] = field(default_factory=list)
    texts: bool = True
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def dropped_count(self) -> int:
        return len(self.dropped)

    def to_json(self) -> dict[str, Any]:
        by_reason: dict[str, int] = {}
        by_bench: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for d in self.dropped:
            by_reason[d["reason"]] = by_reason.get(d["reason"], 0) + 1
            by_bench[d["benchmark"]] = by_bench.get(d["benchmark"], 0) + 1
            by_source[d["source"]] = by_source.get(d["source"], 0) + 1
        out = {
            "cosine_threshold": self.threshold,
            "evaluation_prompts": self.eval_counts,
            "training_prompts_checked": self.train_prompts,
            "dropped": self.dropped_count,
            "dropped_by_reason": by_reason,
            "dropped_by_benchmark": by_bench,
            "dropped_by_source": by_source,
        }
        if self.skipped:
            out["skipped_benchmarks"] = dict(self.skipped)
        out["items"] = [self._item(d) for d in self.dropped]
        return out

    def _item(self, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in d.items() if k not in ("train_prompt", "eval_prompt")}
        out["train_prompt_sha256"] = sha256_text(d["train_prompt"])
        out["eval_prompt_sha256"] = sha256_text(d["eval_prompt"])
        if self.texts:
            out["train_prompt"], out["eval_prompt"] = d["train_prompt"], d["eval_prompt"]
        return out

    def markdown(self) -> str:
        j = self.to_json()
        lines = [
            "# Decontamination report",
            "",
            f"Training prompts checked: {self.train_prompts}. Evaluation prompts: "
            + ", ".join(f"{k} {v}" for k, v in self.eval_counts.items())
            + ".",
            f"Rule: drop a training prompt that equals an evaluation prompt after normalisation "
            f"(NFKC, case-fold, whitespace) or whose embedding has cosine >= {self.threshold} with one.",
            "",
        ]
        if self.skipped:
            lines += [
                "**Not checked against** (registered benchmarks that could not be loaded): "
                + "; ".join(f"{k}: {v}" for k, v in self.skipped.items()),
                "",
            ]
        lines += [
            f"Dropped: **{self.dropped_count}**; by reason {j['dropped_by_reason']}; by benchmark "
            f"{j['dropped_by_benchmark']}; by training source {j['dropped_by_source']}.",
            "",
        ]
        if self.dropped:
            head = "training prompt (start)" if self.texts else "sha256 of the training prompt"
            lines += [f"| source | index | reason | benchmark | cosine | {head} |", "|---|---|---|---|---|---|"]
            for d in self.dropped[:200]:
                text = (
                    d["train_prompt"][:80].replace("|", "\\|").replace("\n", " ")
                    if self.texts
                    else sha256_text(d["train_prompt"])[:16]
                )
                lines.append(
                    f"| {d['source']} | {d.get('index', '')} | {d['reason']} | {d['benchmark']} | {d['cosine']:.3f} | {text} |"
                )
            if len(self.dropped) > 200:
                lines.append(f"| … | {len(self.dropped) - 200} more in decontamination.json | | | |")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | os.PathLike[str]) -> dict[str, Any]:
        """Write ``DECONTAMINATION.md`` and ``decontamination.json`` into ``directory``; returns the JSON."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        j = self.to_json()
        (out / "DECONTAMINATION.md").write_text(self.markdown())
        (out / "decontamination.json").write_text(json.dumps(j, indent=1) + "\n")
        return j


def find_contaminated(
    train_prompts: Sequence[str],
    train_sources: Sequence[str],
    train_emb: np.ndarray,
    eval_sets: dict[str, list[str]],
    eval_emb: dict[str, np.ndarray],
    threshold: float = DEFAULT_THRESHOLD,
    chunk: int = 2048,
    texts: bool = True,
    skipped: dict[str, str] | None = None,
) -> tuple[np.ndarray, DecontaminationReport]:
    """Boolean mask of training prompts to keep, and the report of those dropped.

    ``train_emb`` and each ``eval_emb[name]`` hold unit-norm vectors, one row per prompt of
    ``train_prompts`` / ``eval_sets[name]``. ``skipped`` (benchmarks not checked) goes into the report.
    """
    if len(train_sources) != len(train_prompts) or len(train_emb) != len(train_prompts):
        raise ValueError(f"{len(train_prompts)} training prompts, {len(train_sources)} sources, {len(train_emb)} embeddings")
    keep = np.ones(len(train_prompts), bool)
    report = DecontaminationReport(
        threshold=threshold,
        eval_counts={k: len(v) for k, v in eval_sets.items()},
        train_prompts=len(train_prompts),
        texts=texts,
        skipped=dict(skipped or {}),
    )
    seen_in_source: dict[str, int] = {}
    index_in_source = []
    for src in train_sources:
        index_in_source.append(seen_in_source.get(src, 0))
        seen_in_source[src] = index_in_source[-1] + 1
    norm_index: dict[str, tuple[str, str]] = {}
    for bench, prompts in eval_sets.items():
        for p in prompts:
            norm_index.setdefault(normalise(p), (bench, p))
    best_cos = np.full(len(train_prompts), -1.0)
    best_bench = np.full(len(train_prompts), "", dtype=object)
    best_j = np.zeros(len(train_prompts), np.int64)
    train_emb = np.asarray(train_emb, np.float32)
    for bench, emb in eval_emb.items():
        emb = np.asarray(emb, np.float32)
        if len(emb) == 0 or len(train_emb) == 0:
            continue
        for s in range(0, len(train_emb), chunk):
            sims = train_emb[s : s + chunk] @ emb.T
            j = sims.argmax(axis=1)
            c = sims[np.arange(len(j)), j]
            better = c > best_cos[s : s + chunk]
            idx = np.nonzero(better)[0] + s
            best_cos[idx] = c[better]
            best_bench[idx] = bench
            best_j[idx] = j[better]
    for i, p in enumerate(train_prompts):
        hit = norm_index.get(normalise(p))
        if hit is not None:
            keep[i] = False
            report.dropped.append(
                {
                    "source": train_sources[i],
                    "index": index_in_source[i],
                    "reason": "exact",
                    "benchmark": hit[0],
                    "cosine": float(max(best_cos[i], 1.0)),
                    "train_prompt": p,
                    "eval_prompt": hit[1],
                }
            )
        elif best_cos[i] >= threshold:
            keep[i] = False
            bench = str(best_bench[i])
            report.dropped.append(
                {
                    "source": train_sources[i],
                    "index": index_in_source[i],
                    "reason": "cosine",
                    "benchmark": bench,
                    "cosine": float(best_cos[i]),
                    "train_prompt": p,
                    "eval_prompt": eval_sets[bench][int(best_j[i])],
                }
            )
    return keep, report


def decontaminate(
    data: Comparisons,
    embeddings: np.ndarray,
    evals: EvalPrompts,
    embed: Callable[[list[str]], np.ndarray],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    texts: bool = False,
) -> tuple[Comparisons, np.ndarray, DecontaminationReport]:
    """Drop the prompts of ``data`` that match ``evals`` (see :func:`find_contaminated`).

    ``embeddings``: one row per prompt of ``data``; ``embed``: the same embedder, for the evaluation
    prompts. Returns the kept data, their embeddings and the report. Raises
    :class:`DecontaminationError` when ``evals`` has no prompts.
    """
    if not evals.sets:
        skipped = "; ".join(f"{k}: {v}" for k, v in evals.skipped.items())
        raise DecontaminationError(
            "no evaluation prompts to decontaminate against" + (f" (skipped: {skipped})" if skipped else "")
        )
    eval_emb = {k: embed(v) for k, v in evals.sets.items()}
    keep, report = find_contaminated(
        data.prompts, data.sources, embeddings, evals.sets, eval_emb, threshold, texts=texts, skipped=evals.skipped
    )
    return subset(data, keep), np.asarray(embeddings)[keep], report
