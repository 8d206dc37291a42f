"""Task-family folds of the training data, for leave-one-task-family-out validation of router recipes.

Each fold is a family of training prompts (``family``) with a known outcome for one model pair:

* ``arc``, ``mbpp``, ``wino``: RouterBench's ARC-Challenge, MBPP and Winogrande prompts, GPT-4-1106-preview vs
  Mixtral-8x7B (the paper's pair) — the same tasks are removed from routerdc-split2 too when a fold is held out;
* ``math``: routerdc-split2's gsm8k-train and MATH prompts, that file's best model vs its median one;
* ``chat``: arena-bench-v1 (real Chatbot Arena prompts), GPT-4's vs Mixtral's 1-10 grades.

Outcomes are soft pair labels ``y = (s_strong - s_weak + 1) / 2`` turned into ``(y, 1 - y)``: the pair's
qualities up to a shared offset, which is all APGR needs.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mistralai/mixtral-8x7b-chat"
MIXTRAL_ARENA = "mistralai/Mixtral-8x7B-Instruct-v0.1"
FOLDS = ("arc", "mbpp", "wino", "math", "chat")


def training_files(root: Path) -> list[str]:
    """Every score file one level under ``root/train``: the CSVs, then the JSON files, each sorted."""
    train = Path(root) / "train"
    return sorted(glob.glob(str(train / "*" / "*.csv"))) + sorted(glob.glob(str(train / "*" / "*.json")))


def load_training(root: Path, files: list[str], *, tier_pairs: bool):
    """``load_files`` with each file named by its path relative to ``root``, as the data cards record it."""
    from routellm_core.training_data import load_files

    return load_files(files, [str(Path(f).relative_to(root)) for f in files], tier_pairs=tier_pairs)


def family(source: str) -> str:
    """The task family of a training file (its path relative to the data directory)."""
    s = source.lower()
    if "arc_" in s:
        return "arc"
    if "mbpp" in s or "humaneval" in s or "javascript" in s:
        return "mbpp"
    if "winograde" in s:
        return "wino"
    if "gsm8k" in s or "math_" in s:
        return "math"
    if "arena-bench" in s:
        return "chat"
    return "other"


def fold_outcomes(data) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per fold: (prompt indices into ``data``, strong quality, weak quality) of its held-out prompts."""
    from routellm_core.training_data import pair_outcomes, ranked_models

    fam = np.array([family(s) for s in data.sources])
    found: dict[str, dict[int, float]] = {f: {} for f in FOLDS}

    def take(pair: tuple[str, str], keep) -> dict[int, float]:
        out = pair_outcomes(data, [pair])
        return {int(p): float(y) for p, y in zip(out.prompt, out.label, strict=True) if keep(int(p))}

    for f in ("arc", "mbpp", "wino"):
        found[f] = take((GPT4, MIXTRAL), lambda p, f=f: fam[p] == f and "routerbench" in data.sources[p])
    found["chat"] = take((GPT4, MIXTRAL_ARENA), lambda p: fam[p] == "chat")
    ranked = ranked_models(data)
    for source in sorted({s for s, f in zip(data.sources, fam, strict=True) if f == "math" and "routerdc-split2" in s}):
        order = ranked[source]
        found["math"].update(take((order[0], order[len(order) // 2]), lambda p, source=source: data.sources[p] == source))
    result = {}
    for f, table in found.items():
        idx = np.array(sorted(table), dtype=np.int64)
        y = np.array([table[i] for i in idx])
        result[f] = (idx, y, 1.0 - y)
    return result
