"""Cross-validation of ``routellm train mf --quality`` recipes (N-model routing), on training data only.

How the shipped N-model checkpoint's recipe was chosen without looking at the N-model evaluation sets
(``routerbench-zs/*_test.csv``, ``llmrouter-dcrouter/test.json``): the training data is read and
decontaminated as the trainer does (the core's evaluation prompts, then the held-out N-model test files),
and the prompts of ``routerbench-zs/*_train.csv`` and ``llmrouter-dcrouter/train.json`` are split into
``--k`` folds. Each fold is predicted by a model trained on everything else (the other folds and the
extra files), so every validation prompt gets an out-of-fold quality prediction per model; the
N-model metrics are computed on those:

* per dataset (routerbench-zs train: per-prompt costs from its ``<model>|total_cost`` columns;
  llmrouter-dcrouter train: the harness's price per 1M tokens by model size, times the prompt's estimated
  tokens plus 256 output tokens), with the evaluation harness's functions
  (``routellm_core.evaluation.nmodel``): AIQ of the router's curve over the knob, of the zero router and of
  the oracle, the best single model, the router's quality at that model's cost and its cost to reach that
  model's quality (as a fraction of it: the target is <= 0.6);
* the mean per-cell log loss of the predicted qualities.

``--split task`` instead holds out one task at a time (routerbench-zs's ARC, MBPP, Winogrande and
llmrouter-dcrouter's three clusters): how the recipe transfers to a task it never saw.

Each ``--variant`` (``key=value,...`` over dim, members, ewd, wd, lr, epochs, patience, weighting, features,
extra, seed) prints one JSON line. ``--baselines`` adds the kNN and per-task-mean predictors.

    python bench/mf_nmodel_cv.py --data-dir ../shared/data --variant dim=16 --variant dim=32,ewd=0.1
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: the N-model evaluation files: never trained on, their prompts removed from the training data
HELD_OUT = (
    "train/routerbench-zs/arc_challenge_test.csv",
    "train/routerbench-zs/mbpp_test.csv",
    "train/routerbench-zs/winograde_test.csv",
    "train/llmrouter-dcrouter/test.json",
)
RBZ_TRAIN = (
    "train/routerbench-zs/arc_challenge_train.csv",
    "train/routerbench-zs/mbpp_train.csv",
    "train/routerbench-zs/winograde_train.csv",
)
DC_TRAIN = "train/llmrouter-dcrouter/train.json"
EXTRAS = {"mmlu-pro": "train/mmlu-pro/scores.json", "arena": "train/arena-bench-v1/scores.json"}
#: USD per 1M tokens (input and output) by parameter count, as the evaluation harness prices llmrouter-dcrouter
#: (Together AI's serverless tiers: up to 8B 0.20, up to 21B 0.30, 41-80B 0.90)
DC_PRICES = {
    "qwen2.5-7b-instruct": 0.20,
    "llama3-chatqa-1.5-8b": 0.20,
    "llama-3.1-8b-instruct": 0.20,
    "mistral-7b-instruct-v0.3": 0.20,
    "codegemma-7b": 0.30,
    "gemma-2-9b-it": 0.30,
    "llama-3.3-nemotron-super-49b-v1": 0.90,
    "llama-3.1-nemotron-51b-instruct": 0.90,
    "llama3-chatqa-1.5-70b": 0.90,
}
DC_OUTPUT_TOKENS = 256
DEFAULTS: dict[str, Any] = {
    "dim": 16,
    "members": 2,
    "ewd": 0.1,
    "wd": 1e-4,
    "lr": 3e-3,
    "epochs": 60,
    "patience": 4,
    "weighting": "cell",
    "features": "log_chars,bias",
    "extra": "mmlu-pro,arena",
    "seed": 0,
}


# -- N-model metrics (the evaluation harness's: routellm_core.evaluation.nmodel) -------------------


def nmodel_metrics(pred: np.ndarray, truth: np.ndarray, cost: np.ndarray, models: list[str]) -> dict[str, Any]:
    """The N-model metrics of predicted qualities ``pred`` against ``truth`` with per-prompt ``cost`` (all (n, m))."""
    from routellm_core.evaluation import nmodel as N

    ref = N.nmodel_reference(models, truth, cost)
    router = N.cost_quality_metrics(N.knob_curve(pred, truth, cost), ref)
    zero = N.cost_quality_metrics(N.zero_router_curve(truth, cost), ref)
    oracle = N.cost_quality_metrics(N.oracle_curve(truth, cost), ref)
    eps = 1e-6
    ll = -np.mean(truth * np.log(np.clip(pred, eps, 1)) + (1 - truth) * np.log(np.clip(1 - pred, eps, 1)))

    def r(x: float, k: int = 4) -> float | None:
        return round(float(x), k) if math.isfinite(x) else None

    return {
        "prompts": int(len(truth)),
        "aiq": r(router.aiq),
        "aiq_zero_router": r(zero.aiq),
        "aiq_oracle": r(oracle.aiq),
        "best_single": {"model": ref.best.model, "quality": r(ref.best.quality), "cost": ref.best.cost},
        "quality_at_best_cost": r(router.quality_at_best_single_cost),
        "cost_fraction_to_best_quality": r(router.cost_fraction_to_best_single_quality, 3),
        "knob_cost_fraction_to_best_quality": r(router.knob_cost_fraction_to_best_single_quality, 3),
        "max_quality": r(router.max_quality),
        "log_loss": r(ll),
    }


# -- data --------------------------------------------------------------------------------------


def truth_tables(root: Path) -> dict[str, dict[str, tuple[dict[str, float], dict[str, float]]]]:
    """Per validation dataset: prompt text -> (scores by model, cost by model in USD)."""
    from routellm_core.model_choice import estimate_tokens
    from routellm_core.training_data import unwrap_list_repr

    csv.field_size_limit(2**31 - 1)
    out: dict[str, dict[str, tuple[dict[str, float], dict[str, float]]]] = {"routerbench-zs": {}, "llmrouter-dcrouter": {}}
    for rel in RBZ_TRAIN:
        with open(root / rel, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                models = [k.split("|")[0] for k in r if k and k.endswith("|total_cost")]
                scores = {m: float(r[m]) for m in models if r[m] not in ("", None)}
                costs = {m: float(r[f"{m}|total_cost"]) for m in models}
                if len(scores) == len(models):  # rows with a missing score are left out of the metrics
                    out["routerbench-zs"][unwrap_list_repr(r["prompt"])] = (scores, costs)
    for r in json.loads((root / DC_TRAIN).read_text()):
        tokens = estimate_tokens(r["question"]) + DC_OUTPUT_TOKENS  # input price = output price
        costs = {m: DC_PRICES[m] * tokens / 1e6 for m in r["scores"]}
        out["llmrouter-dcrouter"][r["question"]] = ({m: float(s) for m, s in r["scores"].items()}, costs)
    return out


def prepare(root: Path, extras: list[str], embedder: str, embedder_kwargs: dict[str, Any]):
    """Training data as the trainer reads it (decontaminated against the core's evaluation prompts and the
    held-out N-model files), its embeddings and what was dropped."""
    from routellm_mf.heldout import find_held_out, read_eval_prompts
    from routellm_mf.train import keep_prompts

    from routellm_core.decontamination import eval_prompts_from_dir, find_contaminated
    from routellm_core.embedders import EmbeddingCache
    from routellm_core.lookups import get_embedder
    from routellm_core.training_data import load_files

    files = [root / f for f in (*RBZ_TRAIN, DC_TRAIN, *(EXTRAS[e] for e in extras))]
    data = load_files(files, [str(f.relative_to(root)) for f in files])
    cache = EmbeddingCache(get_embedder(embedder, **embedder_kwargs))
    emb = cache.embed(data.prompts, progress=True)
    eval_sets = eval_prompts_from_dir(root)
    keep, report = find_contaminated(
        data.prompts, data.sources, emb, eval_sets, {k: cache.embed(v) for k, v in eval_sets.items()}, 0.95, texts=False
    )
    data, emb = keep_prompts(data, keep), emb[keep]
    held = {rel.removeprefix("train/"): read_eval_prompts(root / rel) for rel in HELD_OUT}
    keep2, report2 = find_held_out(data.prompts, data.sources, emb, held, cache.embed)
    dropped = {"core": report.dropped_count, "held_out": len(report2.dropped)}
    return keep_prompts(data, keep2), emb[keep2], dropped


# -- predictors --------------------------------------------------------------------------------


def predict_mf(ckpt, emb: np.ndarray, prompts: list[str], models: list[str]) -> np.ndarray:
    vectors = ckpt.quality_vectors()
    z = ckpt.text_input(emb, prompts).astype(np.float64)
    cols = [ckpt.models.index(m) for m in models]
    return 1.0 / (1.0 + np.exp(-np.clip(z @ vectors[cols].T, -60, 60)))


def predict_knn(emb_tr, data_tr, emb_te, models, k=20) -> np.ndarray:
    """Mean score of each model over the k most similar training prompts that score it."""
    out = np.zeros((len(emb_te), len(models)))
    for j, m in enumerate(models):
        rows = np.array([i for i, s in enumerate(data_tr.scores) if m in s])
        y = np.array([data_tr.scores[i][m] for i in rows])
        sims = emb_te @ emb_tr[rows].T
        top = np.argpartition(-sims, min(k, len(rows) - 1), axis=1)[:, :k]
        out[:, j] = y[top].mean(axis=1)
    return np.clip(out, 1e-4, 1 - 1e-4)


def predict_task_mean(scores_tr, tasks_tr: list[str], tasks_te: list[str], models) -> np.ndarray:
    """Each model's mean score over the training prompts of the same task (knows the task: a reference)."""
    out = np.zeros((len(tasks_te), len(models)))
    for j, m in enumerate(models):
        for t in set(tasks_te):
            ys = [s[m] for s, tt in zip(scores_tr, tasks_tr, strict=True) if tt == t and m in s]
            out[[i for i, tt in enumerate(tasks_te) if tt == t], j] = np.mean(ys) if ys else 0.5
    return np.clip(out, 1e-4, 1 - 1e-4)


def task_of(source: str, task: str) -> str:
    if "routerbench" in source:
        return source.rsplit("/", 1)[-1].split("_")[0]
    return task


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--embedder", default="minilm-l3")
    ap.add_argument("--embedder-kwargs", default='{"head_tokens": 32}')
    ap.add_argument("--k", type=int, default=5, help="folds of --split random")
    ap.add_argument("--split", choices=("random", "task"), default="random")
    ap.add_argument("--variant", action="append", default=[], help="key=value,... (see DEFAULTS); repeatable")
    ap.add_argument("--baselines", action="store_true", help="also the kNN and per-task-mean predictors")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from routellm_mf.quality import train_quality_checkpoint
    from routellm_mf.train import keep_prompts

    root = Path(args.data_dir)
    if not (root / "train").is_dir():
        print(f"no training data under {root}", file=sys.stderr)
        return 2
    variants = [
        dict(DEFAULTS, **{k: type(DEFAULTS[k])(v) for k, v in (kv.split("=", 1) for kv in spec.split(",") if kv)})
        for spec in (args.variant or [""])
    ]
    extras_all = sorted({e for v in variants for e in v["extra"].split(",") if e})
    t0 = time.time()
    data, emb, dropped = prepare(root, extras_all, args.embedder, json.loads(args.embedder_kwargs))
    print(f"prepared {len(data.prompts)} prompts in {time.time() - t0:.0f} s; dropped {dropped}", file=sys.stderr, flush=True)
    truth = truth_tables(root)
    dataset_of = np.array(
        ["routerbench-zs" if "routerbench" in s else "llmrouter-dcrouter" if "dcrouter" in s else "" for s in data.sources]
    )
    val = np.array([d != "" and data.prompts[i] in truth[d] for i, d in enumerate(dataset_of)])
    tasks = [task_of(s, t) for s, t in zip(data.sources, data.tasks, strict=True)]
    rng = np.random.default_rng(0)
    if args.split == "random":
        fold_of = np.where(val, rng.integers(0, args.k, len(val)), -1)
        folds = list(range(args.k))
    else:
        names = sorted({tasks[i] for i in np.nonzero(val)[0]})
        fold_of = np.array([names.index(tasks[i]) if val[i] else -1 for i in range(len(val))])
        folds = list(range(len(names)))
    source_extra = {v: k for k, v in EXTRAS.items()}

    def run(name: str, predict) -> None:
        preds: dict[int, np.ndarray] = {}
        started = time.time()
        for f in folds:
            test = fold_of == f
            for i, row in zip(np.nonzero(test)[0], predict(~test, test), strict=True):
                preds[int(i)] = row
        result: dict[str, Any] = {}
        for d in ("routerbench-zs", "llmrouter-dcrouter"):
            idx = [i for i in sorted(preds) if dataset_of[i] == d]
            if not idx:
                continue
            models = sorted(truth[d][data.prompts[idx[0]]][0])
            cols = [data_models.index(m) for m in models]
            pred = np.stack([preds[i][cols] for i in idx])
            tr = np.array([[truth[d][data.prompts[i]][0][m] for m in models] for i in idx])
            co = np.array([[truth[d][data.prompts[i]][1][m] for m in models] for i in idx])
            result[d] = nmodel_metrics(pred, tr, co, models)
        print(json.dumps({"predictor": name, "split": args.split, "seconds": round(time.time() - started), **result}), flush=True)

    data_models = sorted({m for s in data.scores for m in s})
    for v in variants:
        allowed = {EXTRAS[e] for e in v["extra"].split(",") if e}
        in_mix = np.array([not any(s == e for e in source_extra) or s in allowed for s in data.sources])

        def predict_variant(train, test, v=v, in_mix=in_mix):
            train = train & in_mix
            ck, _ = train_quality_checkpoint(
                emb[train],
                keep_prompts(data, train),
                features=[f for f in v["features"].split(",") if f],
                dim=v["dim"],
                members=v["members"],
                seed=v["seed"],
                epochs=v["epochs"],
                patience=v["patience"],
                lr=v["lr"],
                weight_decay=v["wd"],
                embedding_weight_decay=v["ewd"],
                weighting=v["weighting"],
                progress=False,
                log=lambda *a, **k: None,
            )
            prompts = [data.prompts[i] for i in np.nonzero(test)[0]]
            out = np.full((len(prompts), len(data_models)), 0.5)
            known = [m for m in data_models if m in ck.models]
            out[:, [data_models.index(m) for m in known]] = predict_mf(ck, emb[test], prompts, known)
            return out

        run("mf " + ",".join(f"{k}={v[k]}" for k in DEFAULTS), predict_variant)
    if args.baselines:
        run("knn k=20", lambda train, test: predict_knn(emb[train], keep_prompts(data, train), emb[test], data_models))
        run(
            "task mean (knows the task)",
            lambda train, test: predict_task_mean(
                [data.scores[i] for i in np.nonzero(train)[0]],
                [tasks[i] for i in np.nonzero(train)[0]],
                [tasks[i] for i in np.nonzero(test)[0]],
                data_models,
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
