"""Decontamination of training prompts against evaluation benchmark prompts.

A training prompt is dropped when, against any evaluation prompt,
* it is an exact match after normalisation (Unicode NFKC, case-folded, whitespace collapsed), or
* the cosine similarity of their embeddings is >= ``threshold`` (0.95, as in the RouteLLM paper).

Evaluation prompts come from the benchmarks registered with routellm (the
evaluation harness) and, when given a data directory, straight from RouteLLM's
evaluation files (every MMLU domain CSV, GSM8K test questions and responses CSV,
both MT-Bench turns), contaminated ones included.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def eval_prompts_from_dir(data_dir: str | os.PathLike) -> dict[str, list[str]]:
    """Evaluation prompts from a RouteLLM-style data directory (``routellm-evals/`` inside it, or it itself)."""
    root = Path(data_dir)
    if (root / "routellm-evals").is_dir():
        root = root / "routellm-evals"
    out: dict[str, list[str]] = {}
    csv.field_size_limit(2**31 - 1)
    mmlu = []
    for f in sorted(glob.glob(str(root / "mmlu" / "responses" / "*.csv"))):
        with open(f, newline="", encoding="utf-8") as fh:
            mmlu += [r["prompt"] for r in csv.DictReader(fh)]
    if mmlu:
        out["mmlu"] = mmlu
    gsm = []
    f = root / "gsm8k" / "gsm8k_responses.csv"
    if f.is_file():
        with open(f, newline="", encoding="utf-8") as fh:
            gsm += [r["prompt"] for r in csv.DictReader(fh)]
    f = root / "gsm8k" / "test.jsonl"
    if f.is_file():
        gsm += [json.loads(line)["question"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    if gsm:
        out["gsm8k"] = gsm
    f = root / "mt_bench" / "question.jsonl"
    if f.is_file():
        turns = []
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                turns += list(q.get("turns", []))
                turns.append("\n".join(q.get("turns", [])))
        out["mt-bench"] = turns
    return out


def eval_prompts_from_registry(data_dir: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """Prompts of every benchmark registered with routellm (empty when none is available)."""
    out: dict[str, list[str]] = {}
    try:
        from routellm_core.plugins import get_registry

        registry = get_registry()
        names = registry.names("benchmarks")
    except Exception:
        return out
    for name in names:
        try:
            bench = registry.get("benchmarks", name).factory(data_dir=data_dir)
            out[name] = list(bench.prompts)
        except Exception:
            continue
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class DecontaminationReport:
    """What decontamination dropped. ``texts=False`` keeps only sha256 digests of the prompts (for
    reports shipped next to a checkpoint, which must not contain pieces of the data)."""

    threshold: float
    eval_counts: dict[str, int]
    train_prompts: int
    dropped: list[dict[str, Any]] = field(default_factory=list)
    texts: bool = True

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
        return {"cosine_threshold": self.threshold, "evaluation_prompts": self.eval_counts,
                "training_prompts_checked": self.train_prompts, "dropped": self.dropped_count,
                "dropped_by_reason": by_reason, "dropped_by_benchmark": by_bench, "dropped_by_source": by_source,
                "items": [self._item(d) for d in self.dropped]}

    def _item(self, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in d.items() if k not in ("train_prompt", "eval_prompt")}
        out["train_prompt_sha256"] = _sha(d["train_prompt"])
        out["eval_prompt_sha256"] = _sha(d["eval_prompt"])
        if self.texts:
            out["train_prompt"], out["eval_prompt"] = d["train_prompt"], d["eval_prompt"]
        return out

    def markdown(self) -> str:
        j = self.to_json()
        lines = ["# Decontamination report", "",
                 f"Training prompts checked: {self.train_prompts}. Evaluation prompts: "
                 + ", ".join(f"{k} {v}" for k, v in self.eval_counts.items()) + ".",
                 f"Rule: drop a training prompt that equals an evaluation prompt after normalisation "
                 f"(NFKC, case-fold, whitespace) or whose embedding has cosine >= {self.threshold} with one.", "",
                 f"Dropped: **{self.dropped_count}**; by reason {j['dropped_by_reason']}; by benchmark "
                 f"{j['dropped_by_benchmark']}; by training source {j['dropped_by_source']}.", ""]
        if self.dropped:
            head = "training prompt (start)" if self.texts else "sha256 of the training prompt"
            lines += [f"| source | index | reason | benchmark | cosine | {head} |", "|---|---|---|---|---|---|"]
            for d in self.dropped[:200]:
                text = d["train_prompt"][:80].replace("|", "\\|").replace("\n", " ") if self.texts else _sha(d["train_prompt"])[:16]
                lines.append(f"| {d['source']} | {d.get('index', '')} | {d['reason']} | {d['benchmark']} | {d['cosine']:.3f} | {text} |")
            if len(self.dropped) > 200:
                lines.append(f"| … | {len(self.dropped) - 200} more in decontamination.json | | | |")
        return "\n".join(lines) + "\n"


def find_contaminated(train_prompts: Sequence[str], train_sources: Sequence[str], train_emb: np.ndarray,
                      eval_sets: dict[str, list[str]], eval_emb: dict[str, np.ndarray], threshold: float = 0.95,
                      chunk: int = 2048, texts: bool = True) -> tuple[np.ndarray, DecontaminationReport]:
    """Boolean mask of training prompts to keep, and the report of those dropped."""
    keep = np.ones(len(train_prompts), bool)
    report = DecontaminationReport(threshold=threshold, eval_counts={k: len(v) for k, v in eval_sets.items()},
                                   train_prompts=len(train_prompts), texts=texts)
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
            sims = train_emb[s:s + chunk] @ emb.T
            j = sims.argmax(axis=1)
            c = sims[np.arange(len(j)), j]
            better = c > best_cos[s:s + chunk]
            idx = np.nonzero(better)[0] + s
            best_cos[idx] = c[better]
            best_bench[idx] = bench
            best_j[idx] = j[better]
    for i, p in enumerate(train_prompts):
        hit = norm_index.get(normalise(p))
        if hit is not None:
            keep[i] = False
            report.dropped.append({"source": train_sources[i], "index": index_in_source[i], "reason": "exact", "benchmark": hit[0],
                                   "cosine": float(max(best_cos[i], 1.0)), "train_prompt": p, "eval_prompt": hit[1]})
        elif best_cos[i] >= threshold:
            keep[i] = False
            bench = str(best_bench[i])
            report.dropped.append({"source": train_sources[i], "index": index_in_source[i], "reason": "cosine", "benchmark": bench,
                                   "cosine": float(best_cos[i]), "train_prompt": p,
                                   "eval_prompt": eval_sets[bench][int(best_j[i])]})
    return keep, report
