"""Removing the prompts of held-out evaluation files (e.g. N-model test sets) from training data.

``routellm train mf --decontaminate-against FILE...`` runs this after the core's decontamination (which
covers the registered benchmarks and RouteLLM's evaluation files). A training prompt is dropped when,
against any prompt of those files, it

* is equal after normalisation (NFKC, case-fold, whitespace), or
* asks a question whose embedding has cosine >= the trainer's ``--cosine-threshold`` with its question
  (the questions, see below, not the whole prompts: few-shot prompts that share their worked examples
  embed alike whatever their questions), or
* **asks the same question**: few-shot and templated prompts wrap one question in different text (one
  file gives ``"Question: ... Answer:"``, another the same question after five worked examples with
  lettered options), so neither of the two rules above sees them. The evaluation prompt's question is
  its last paragraph without the answer options and instructions; the training prompt asks it when it
  contains that question's words in order: all of them for a short question (5-12 words), at least half
  of its 13-word shingles for a longer one. When both prompts have a preamble of their own (the
  paragraphs before the question, e.g. a logic puzzle's clues), at least half of the evaluation prompt's
  preamble shingles must be in the training prompt too: the same question about other clues is another
  item. Word sequences that occur in more than ``max_df`` evaluation prompts or training
  prompts are template text (worked examples shared by every prompt of a file, instructions, puzzle
  boilerplate) and do not count.

The result lists every dropped prompt by source, index and sha256, in the same form as the core's
``decontamination.json`` items, so the two reports merge into one.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import DataError, read_records, sha256_text

#: shingle length for long questions (as in GPT-3's 13-gram overlap check)
NGRAM = 13
#: the shortest question (in words) that is matched on its own
MIN_QUESTION_WORDS = 5
_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_PROMPT_KEYS = ("prompt", "question", "text", "content")
# where the answer options or the answer instructions of a multiple-choice question start
_OPTIONS = re.compile(r"\n\s*(?:\(?[A-J]\)|[A-J][.:]\s)|\n\s*(?:answer|print only|please answer|options?)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace runs collapsed (the rule of the core's exact match)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def words(text: str) -> tuple[str, ...]:
    """The text's words, normalised (punctuation dropped)."""
    return tuple(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def unwrap(text: str) -> str:
    """RouterBench's list-repr prompts (``"['...']"``) as their text; anything else unchanged."""
    stripped = text.strip()
    if stripped[:2] in ("['", '["') and stripped.endswith("]"):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
    return text


def split_question(text: str) -> tuple[str, str]:
    """``(preamble, question)`` of a prompt: the question is its last paragraph, cut before answer options and
    answer instructions; the preamble is the paragraphs before it (worked examples, a puzzle's clues)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        return "", text
    take = 1
    if len(words(paragraphs[-1])) < MIN_QUESTION_WORDS and len(paragraphs) > 1:  # a trailing "Answer:" on its own
        take = 2
    last = "\n".join(paragraphs[-take:])
    preamble = "\n\n".join(paragraphs[:-take])
    cut = _OPTIONS.search("\n" + last)
    question = ("\n" + last)[: cut.start()] if cut and cut.start() > 0 else last
    question = re.sub(r"^\s*(?:q(?:uestion)?\s*[:.]\s*)", "", question.strip(), flags=re.IGNORECASE)
    return preamble, (question if len(words(question)) >= MIN_QUESTION_WORDS else last)


def question_of(text: str) -> str:
    """The question a prompt asks (see :func:`split_question`)."""
    return split_question(text)[1]


def read_eval_prompts(path: Path) -> list[str]:
    """The prompts of an evaluation file (a score matrix: JSON/JSONL records or CSV with a prompt column)."""
    located = read_records(path, DataError, suffixes=(".csv", ".json", ".jsonl"))
    out = []
    for where, record in located:
        text = next((record[k] for k in _PROMPT_KEYS if isinstance(record, dict) and isinstance(record.get(k), str)), None)
        if text is None:
            raise DataError(f"{where}: no prompt (one of {', '.join(_PROMPT_KEYS)})")
        out.append(unwrap(text))
    return out


def _grams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


@dataclass
class HeldOutReport:
    """What :func:`find_held_out` dropped: items in the core report's form, and counts."""

    sets: dict[str, int]
    threshold: float
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def items(self) -> list[dict[str, Any]]:
        return [
            {
                "source": d["source"],
                "index": d["index"],
                "reason": d["reason"],
                "benchmark": d["benchmark"],
                "cosine": d["cosine"],
                "train_prompt_sha256": sha256_text(d["train_prompt"]),
                "eval_prompt_sha256": sha256_text(d["eval_prompt"]),
            }
            for d in self.dropped
        ]


def find_held_out(
    train_prompts: Sequence[str],
    train_sources: Sequence[str],
    train_emb: np.ndarray,
    eval_sets: dict[str, list[str]],
    embed: Callable[[list[str]], np.ndarray],
    *,
    threshold: float = 0.95,
    max_df: int = 5,
) -> tuple[np.ndarray, HeldOutReport]:
    """Boolean mask of training prompts to keep, and the report of those dropped (see the module docstring).

    ``train_emb``: embeddings of ``train_prompts`` (checked for length only); ``embed``: the embedder, for the
    questions of both sides.
    """
    n = len(train_prompts)
    if len(train_sources) != n or len(train_emb) != n:
        raise ValueError(f"{n} training prompts, {len(train_sources)} sources, {len(train_emb)} embeddings")
    report = HeldOutReport(sets={k: len(v) for k, v in eval_sets.items()}, threshold=threshold)
    index_in_source = []
    seen: dict[str, int] = defaultdict(int)
    for src in train_sources:
        index_in_source.append(seen[src])
        seen[src] += 1
    flat = [(name, p) for name, prompts in eval_sets.items() for p in prompts]
    hits: dict[int, tuple[str, int, float]] = {}  # train index -> (reason, eval index, cosine)

    # 1. exact
    exact: dict[str, int] = {}
    for j, (_, p) in enumerate(flat):
        exact.setdefault(normalise(p), j)
    for i, p in enumerate(train_prompts):
        match = exact.get(normalise(p))
        if match is not None:
            hits[i] = ("exact", match, 1.0)

    # 2. cosine, of the questions: whole few-shot prompts that share their worked examples embed alike whatever
    # their questions (on RouterBench's ARC and Winogrande files most unrelated pairs have cosine >= 0.95)
    if flat and n:
        eval_emb = np.asarray(embed([question_of(p) for _, p in flat]), np.float32)
        emb = np.asarray(embed([question_of(p) for p in train_prompts]), np.float32)
        for s in range(0, n, 2048):
            sims = emb[s : s + 2048] @ eval_emb.T
            j = sims.argmax(axis=1)
            c = sims[np.arange(len(j)), j]
            for k in np.nonzero(c >= threshold)[0]:
                hits.setdefault(int(s + k), ("cosine", int(j[k]), float(c[k])))

    # 3. the same question (and, when the evaluation prompt has a preamble of its own, the same preamble)
    stems: list[set[tuple[str, ...]]] = []
    pres: list[set[tuple[str, ...]]] = []
    for _, p in flat:
        preamble, question = split_question(p)
        q = words(question)
        stems.append(_grams(q, NGRAM) if len(q) >= NGRAM else ({q} if len(q) >= MIN_QUESTION_WORDS else set()))
        pres.append(_grams(words(preamble), NGRAM))
    wanted: dict[int, set[tuple[str, ...]]] = defaultdict(set)
    for grams in (*stems, *pres):
        for g in grams:
            wanted[len(g)].add(g)
    eval_df: dict[tuple[str, ...], int] = defaultdict(int)
    for _, p in flat:
        toks = words(p)
        for length, grams in wanted.items():
            for g in _grams(toks, length) & grams:
                eval_df[g] += 1
    own_preamble = [len(words(split_question(p)[0])) for p in train_prompts]  # words before a training prompt's question
    found: list[set[tuple[str, ...]]] = []  # per training prompt: its word sequences that some evaluation prompt has
    train_df: dict[tuple[str, ...], int] = defaultdict(int)
    for p in train_prompts:
        toks = words(p)
        mine: set[tuple[str, ...]] = set()
        for length, grams in wanted.items():
            mine |= _grams(toks, length) & grams
        for g in mine:
            train_df[g] += 1
        found.append(mine)
    template = {g for g, c in eval_df.items() if c > max_df} | {g for g, c in train_df.items() if c > max_df}
    stems = [g - template for g in stems]
    pres = [g - template for g in pres]
    owners: dict[tuple[str, ...], list[int]] = defaultdict(list)  # word sequence -> evaluation questions that have it
    for j, grams in enumerate(stems):
        for g in grams:
            owners[g].append(j)
    for i, mine in enumerate(found):
        if i in hits or not mine:
            continue
        shared: dict[int, int] = defaultdict(int)
        for g in mine:
            for j in owners.get(g, ()):
                shared[j] += 1
        for j, count in shared.items():
            same_preamble = 2 * len(pres[j] & mine) >= len(pres[j]) or own_preamble[i] < NGRAM
            if 2 * count >= len(stems[j]) and same_preamble:
                hits[i] = ("question", j, -1.0)
                break

    keep = np.ones(n, bool)
    for i in sorted(hits):
        reason, j, cos = hits[i]
        keep[i] = False
        report.dropped.append(
            {
                "source": train_sources[i],
                "index": index_in_source[i],
                "reason": reason,
                "benchmark": flat[j][0],
                "cosine": cos,
                "train_prompt": train_prompts[i],
                "eval_prompt": flat[j][1],
            }
        )
    return keep, report
