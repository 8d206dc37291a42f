"""Validation of sw_ranking's N-model quality prediction on training data only (held-out splits, never the
N-model evaluation sets).

The N-model targets are measured on ``routerbench-zs/*_test.csv`` (11 models, per-prompt costs) and
``llmrouter-dcrouter/test.json`` (9 models); this script never reads them. It splits the *training* files of
the same two sources, ``routerbench-zs/*_train.csv`` and ``llmrouter-dcrouter/train.json``, into folds
(``--split random``: K folds of prompts; ``--split task``: leave one task family out, RouterBench's
``eval_name`` and LLMRouter's ``cluster_id``), builds an N-model index on the other folds with
:func:`routellm_elo.index.build_index` (the trainer's code path; extra training files such as
``mmlu-pro/scores.json`` join every index when ``extra`` asks for them), predicts each held-out prompt's
quality for every model of its source and sweeps the cost knob ``w`` of
:func:`routellm_core.model_choice.choose_many` (RouterBench's metrics):

* the router's (cost, quality) points over ``w``, their non-decreasing upper concave hull and its **AIQ**
  (mean of the hull over the single models' cost range);
* the **zero router** (the hull of the single models' points: input-agnostic mixing) and its AIQ;
* the cost at which the router's hull reaches the **best single model's quality**, as a fraction of that
  model's cost (target <= 0.60), and the router's quality at the best single model's cost.

Costs: RouterBench's per-prompt ``<model>|total_cost`` columns; LLMRouter's models by the evaluation
harness's price table (``DCROUTER_PRICES``: estimated prompt tokens x input price + 256 output tokens x
output price), as ``routellm eval`` prices the test sets. Metrics from
:mod:`routellm_core.evaluation.nmodel`. Predictions are pooled over the folds before the metrics. One JSON
line per variant goes to stdout and to ``--out``.

    python bench/elo_nmodel_cv.py --data-dir ../shared/data --grid method=neighbours,elo sharpness=20,40 prior=1,3
"""

from __future__ import annotations

import argparse
import csv
import glob
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

RB = "routerbench-zs"
DC = "llmrouter-dcrouter"
#: extra training files by grid value
EXTRA_FILES = {"none": [], "mmlu-pro": ["mmlu-pro/scores.json"], "arena": ["arena-bench-v1/scores.json"]}
EXTRA_FILES["mmlu-pro+arena"] = EXTRA_FILES["mmlu-pro"] + EXTRA_FILES["arena"]
MIXTRAL_ALIAS = {"mistralai/Mixtral-8x7B-Instruct-v0.1": "mistralai/mixtral-8x7b-chat"}
DEFAULTS: dict[str, Any] = {
    "method": "neighbours",
    "sharpness": 40.0,
    "minsim": 0.6,
    "prior": 1.0,
    "dim": 64,
    "tiers": 5,
    "extra": "none",
}
STRUCTURE = ("dim", "tiers", "extra")


def parse_grid(items: list[str]) -> list[dict[str, Any]]:
    axes = []
    for item in items:
        key, _, values = item.partition("=")
        if key not in DEFAULTS:
            raise SystemExit(f"unknown grid key {key!r}; keys: {', '.join(DEFAULTS)}")
        kind = type(DEFAULTS[key])
        axes.append([(key, kind(v) if kind is not str else v) for v in values.split(",")])
    return [{**DEFAULTS, **dict(combo)} for combo in itertools.product(*axes)] if axes else [dict(DEFAULTS)]


# -- RouterBench's metrics (routellm_core.evaluation.nmodel, as routellm eval computes them) -----------------


def curve_metrics(pred: np.ndarray, truth: np.ndarray, cost: np.ndarray, models: list[str]) -> dict[str, Any]:
    """RouterBench's metrics of predicted qualities ``pred`` against ``truth`` (both (n, m)) with costs (n, m)."""
    from routellm_core.evaluation.nmodel import (
        cost_quality_metrics,
        knob_curve,
        nmodel_reference,
        oracle_curve,
        zero_router_curve,
    )

    ref = nmodel_reference(models, truth, cost)
    router = cost_quality_metrics(knob_curve(pred, truth, cost), ref)
    zero = cost_quality_metrics(zero_router_curve(truth, cost), ref)
    oracle = cost_quality_metrics(oracle_curve(truth, cost), ref)

    def r(x: float) -> float | None:
        return None if not np.isfinite(x) else round(float(x), 4)

    return {
        "prompts": len(pred),
        "aiq": r(router.aiq),
        "zero_router_aiq": r(zero.aiq),
        "oracle_aiq": r(oracle.aiq),
        "best_single": ref.best.as_dict(),
        "cost_to_best_quality": r(router.cost_fraction_to_best_single_quality),
        "quality_at_best_cost": r(router.quality_at_best_single_cost),
        "max_quality": r(router.max_quality),
    }


# -- data ------------------------------------------------------------------------------------------------


def routerbench_costs(files: list[str]) -> dict[str, dict[str, float]]:
    """Prompt text (as the training reader reads it) -> model -> USD, from RouterBench's ``|total_cost`` columns."""
    from routellm_core.training_data import unwrap_list_repr

    csv.field_size_limit(1 << 30)
    out: dict[str, dict[str, float]] = {}
    for f in files:
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                costs = {}
                for k, v in r.items():
                    if k and k.endswith("|total_cost") and v not in ("", None):
                        costs[k.split("|")[0]] = float(v)
                out[unwrap_list_repr(r["prompt"])] = costs
    return out


def main(argv: list[str] | None = None) -> int:
    from routellm_elo.index import QualitySettings, Weighting, build_index

    from routellm_core.default_plugins.benchmarks import DCROUTER_PRICES
    from routellm_core.embedders import EmbeddingCache
    from routellm_core.evaluation.data import EXPECTED_OUTPUT_TOKENS
    from routellm_core.lookups import get_embedder
    from routellm_core.model_choice import estimate_tokens
    from routellm_core.training_data import load_files

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--embedder", default="minilm-l3")
    ap.add_argument("--embedder-kwargs", default='{"head_tokens": 32}')
    ap.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2")
    ap.add_argument("--split", choices=("random", "task"), default="random")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="append the JSON lines to this file too")
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    root = Path(args.data_dir) / "train"
    rb_files = sorted(glob.glob(str(root / RB / "*_train.csv")))
    dc_files = [str(root / DC / "train.json")]
    variants = parse_grid(args.grid)
    extras = sorted({v["extra"] for v in variants})
    extra_files = sorted({str(root / f) for e in extras for f in EXTRA_FILES[e]})
    files = rb_files + dc_files + extra_files
    data = load_files(files, [str(Path(f).relative_to(root)) for f in files])
    names = [MIXTRAL_ALIAS.get(m, m) for m in data.models]
    models = list(dict.fromkeys(names))
    col = {m: models.index(n) for m, n in zip(data.models, names, strict=True)}
    scores = np.full((len(data.prompts), len(models)), np.nan, np.float32)
    for i, row in enumerate(data.scores):
        for m, s in row.items():
            scores[i, col[m]] = s
    cache = EmbeddingCache(get_embedder(args.embedder, **json.loads(args.embedder_kwargs)))
    started = time.time()
    emb = cache.embed(data.prompts, progress=True)
    print(f"embedded {len(emb)} prompts in {time.time() - started:.0f} s", file=sys.stderr)
    source_file = np.array([s.split("/")[0] for s in data.sources])

    # the evaluated prompts of each source: its models, truth and costs (prompts with every model scored)
    rb_cost = routerbench_costs(rb_files)
    groups: dict[str, dict[str, Any]] = {}
    for name in (RB, DC):
        idx = np.flatnonzero(source_file == name)
        gm = sorted({col[m] for i in idx for m in data.scores[i]})
        if name == RB:
            ok = np.asarray([i for i in idx if all(models[j] in rb_cost.get(data.prompts[i], {}) for j in gm)])
            cost = np.asarray([[rb_cost[data.prompts[i]][models[j]] for j in gm] for i in ok])
        else:
            ok = idx
            tokens = np.asarray([estimate_tokens(data.prompts[i]) for i in ok], np.float64)
            price_in = np.asarray([DCROUTER_PRICES[models[j]].input_per_million for j in gm])
            price_out = np.asarray([DCROUTER_PRICES[models[j]].output_per_million for j in gm])
            cost = (tokens[:, None] * price_in[None, :] + EXPECTED_OUTPUT_TOKENS * price_out[None, :]) / 1e6
        truth = np.nan_to_num(scores[np.ix_(ok, gm)].astype(np.float64), nan=0.0)  # a failed answer counts 0, as in eval
        groups[name] = {"idx": ok, "models": gm, "truth": truth, "cost": cost}

    # folds over every prompt (the extra files' prompts always stay in the index)
    rng = np.random.default_rng(args.seed)
    fold = np.full(len(data.prompts), -1, np.int64)
    if args.split == "random":
        for name in (RB, DC):
            idx = np.flatnonzero(source_file == name)
            fold[idx] = rng.permutation(len(idx)) % args.folds
        fold_names = [str(f) for f in range(args.folds)]
    else:
        fams = sorted({t for t, s in zip(data.tasks, source_file, strict=True) if s in (RB, DC)})
        for i, (t, s) in enumerate(zip(data.tasks, source_file, strict=True)):
            if s in (RB, DC):
                fold[i] = fams.index(t)
        fold_names = fams

    pi, a, b, y = data.arrays()
    merged = np.asarray([col[m] for m in data.models])
    a, b = merged[a], merged[b]
    out_fh = open(args.out, "a") if args.out else None
    by_structure: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for v in variants:
        by_structure.setdefault(tuple(v[k] for k in STRUCTURE), []).append(v)
    for struct, vs in by_structure.items():
        s = dict(zip(STRUCTURE, struct, strict=True))
        in_data = np.isin(source_file, [RB, DC]) | np.isin(np.asarray(data.sources), EXTRA_FILES[s["extra"]])
        preds = {id(v): {g: np.zeros_like(groups[g]["truth"]) for g in groups} for v in vs}
        t0 = time.time()
        for f in range(len(fold_names)):
            train = in_data & (fold != f)
            keep_cmp = train[pi]
            remap = np.full(len(data.prompts), -1, np.int64)
            remap[train] = np.arange(int(train.sum()))
            tiers = len(models) if s["tiers"] == 0 else s["tiers"]
            index = build_index(
                emb[train],
                remap[pi[keep_cmp]],
                a[keep_cmp],
                b[keep_cmp],
                y[keep_cmp],
                models,
                num_tiers=tiers,
                labels="soft",
                dim=s["dim"] or None,
                weighting=Weighting(sharpness=40.0, min_similarity=0.6),
                scores=scores[train],
                quality=QualitySettings(method="neighbours"),
            )
            for g, grp in groups.items():
                held = fold[grp["idx"]] == f
                if not held.any():
                    continue
                qv = emb[grp["idx"][held]]
                for v in vs:
                    index.quality = QualitySettings(
                        method=v["method"], sharpness=v["sharpness"], min_similarity=v["minsim"], prior=v["prior"]
                    )
                    wt = Weighting(sharpness=v["sharpness"], min_similarity=v["minsim"])
                    sims = index.similarities(qv, wt)
                    preds[id(v)][g][held] = index.quality_for_similarities(sims, grp["models"], wt)
        for v in vs:
            res: dict[str, Any] = {"variant": v, "split": args.split, "folds": len(fold_names), "tag": args.tag}
            for g, grp in groups.items():
                res[g] = curve_metrics(preds[id(v)][g], grp["truth"], grp["cost"], [models[j] for j in grp["models"]])
            res["aiq_gain_mean"] = round(float(np.mean([res[g]["aiq"] - res[g]["zero_router_aiq"] for g in groups])), 4)
            res["seconds"] = round((time.time() - t0) / len(vs), 1)
            line = json.dumps(res)
            print(line, flush=True)
            if out_fh:
                out_fh.write(line + "\n")
                out_fh.flush()
    if out_fh:
        out_fh.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
