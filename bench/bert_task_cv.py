"""Leave-one-task-family-out validation of ``routellm train bert`` recipes, on training data only.

How the shipped checkpoint's recipe was chosen without tuning on the evaluation benchmarks: the
training data are read and decontaminated as ``routellm train bert`` does; for each fold of
``bench/task_folds.py`` (arc, mbpp, wino, math, chat) a classifier is trained without that task family
and scores the held-out prompts (APGR of the fold's pair). The fold mean is the selection criterion; the
prompt-length baseline is printed per fold. ``--eval`` also trains on everything and reports APGR on the
evaluation benchmarks (for the record, not for selection). One JSON line per variant on stdout.

    python bench/bert_task_cv.py --data-dir ../shared/data --grid layers=1,2 lr=1e-4,3e-4 [--eval]
    python bench/bert_task_cv.py --data-dir ../shared/data --grid epochs=6 lr=1e-5 matrix=tier,difficulty,halves

Grid keys: ``layers`` (trained top layers), ``lr``, ``epochs``, ``pair_only``, ``wd``, ``batch``, ``head``
(head tokens of the truncation), ``seed``, ``matrix`` (``--matrix-label``: tier, difficulty or halves),
``length`` (1: ``--length-feature``), ``length_scale`` (log, linear), ``length_lr``.
Every variant run so far is in ``bench/results/bert_task_cv.jsonl``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from task_folds import FOLDS, GPT4, MIXTRAL, family, fold_outcomes, load_training, training_files  # noqa: E402

DEFAULTS = {
    "layers": 1,
    "lr": 1e-4,
    "epochs": 4,
    "pair_only": 0,
    "wd": 0.01,
    "batch": 32,
    "head": 32,
    "seed": 0,
    "matrix": "tier",
    "length": 0,
    "length_lr": 1e-3,
    "length_scale": "log",
}


def _value(default, text: str):
    if isinstance(default, str):
        return text
    return type(default)(float(text)) if isinstance(default, int) else float(text)


def parse_grid(items: list[str]) -> list[dict]:
    keys, values = [], []
    for item in items:
        key, _, vals = item.partition("=")
        if key not in DEFAULTS:
            raise SystemExit(f"unknown grid key {key!r}; known: {', '.join(DEFAULTS)}")
        keys.append(key)
        values.append([_value(DEFAULTS[key], v) for v in vals.split(",")])
    return [{**DEFAULTS, **dict(zip(keys, combo, strict=True))} for combo in itertools.product(*values)]


def train_on(mask, spec, states, widths, targets, has_label, v, lengths):
    """A classifier trained on the labelled prompts of ``mask`` (10 % of them for validation) with variant ``v``."""
    from routellm_bert.classifier import build_base_model
    from routellm_bert.train import fit, split_prompts

    idx = np.nonzero(mask & has_label)[0]
    tr, va = split_prompts(len(idx), 0.1, v["seed"])
    model = build_base_model(spec, v["seed"])
    kwargs = dict(epochs=v["epochs"], batch_size=v["batch"], lr=v["lr"], weight_decay=v["wd"], seed=v["seed"])
    kwargs.update(lengths=lengths, length_lr=v["length_lr"])
    info = fit(model, spec, states, widths, targets, idx[tr], idx[va], **kwargs)
    return model, info


def main(argv=None) -> int:
    import torch
    from routellm_bert.classifier import ClassifierSpec, build_base_model
    from routellm_bert.train import (
        DEFAULT_ALIASES,
        _aliases,
        encode_with_lengths,
        frozen_states,
        make_targets,
        routing_pairs,
        score_states,
    )

    from routellm_core.decontamination import collect_eval_prompts, decontaminate
    from routellm_core.embedders import EmbeddingCache
    from routellm_core.evaluation import metrics as M
    from routellm_core.lookups import get_embedder, load_benchmark

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2")
    ap.add_argument("--folds", default=",".join(FOLDS))
    ap.add_argument("--eval", action="store_true", help="also report APGR on MT-Bench, MMLU and GSM8K (not for selection)")
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    root = Path(args.data_dir)
    train_dir = root / "train"
    if not train_dir.is_dir():
        print(f"no training data under {root}", file=sys.stderr)
        return 2
    data = load_training(root, training_files(root), tier_pairs=True)
    cache = EmbeddingCache(get_embedder("minilm-l3", head_tokens=32))
    data, _, _ = decontaminate(data, cache.embed(data.prompts), collect_eval_prompts(root), cache.embed)
    fam = np.array([family(s) for s in data.sources])
    outcomes = fold_outcomes(data)
    folds = [f for f in args.folds.split(",") if f]
    lengths = np.array([len(p) for p in data.prompts], float)
    all_rows: dict[tuple, tuple[list, np.ndarray, np.ndarray]] = {}
    eval_sets = {}
    if args.eval:
        for name in ("mt-bench", "mmlu", "gsm8k"):
            bench = load_benchmark(name, root)
            _, _, s, w = bench.pair()
            eval_sets[name] = (bench.prompts, s, w)

    for v in parse_grid(args.grid):
        started = time.time()
        spec = ClassifierSpec(
            trained_layers=v["layers"],
            head_tokens=v["head"],
            length_feature=bool(v["length"]),
            length_scale=v["length_scale"],
        )
        first = 3 - spec.trained_layers
        key = (first, spec.max_length, spec.head_tokens)
        if key not in all_rows:  # frozen hidden states of every training prompt: computed once per bottom
            rows, full = encode_with_lengths(data.prompts, spec)
            all_rows[key] = (frozen_states(build_base_model(spec), rows, first), np.array([len(r) for r in rows]), full)
        states, widths, full = all_rows[key]
        tier = not v["pair_only"] and v["matrix"] == "tier"
        pairs = routing_pairs(GPT4, MIXTRAL, _aliases(list(DEFAULT_ALIASES)), tier=tier)
        labelled = make_targets(data, pairs, None if v["pair_only"] or tier else v["matrix"])
        targets = np.zeros((len(data.prompts), 3), np.float32)
        targets[labelled.prompts] = labelled.targets
        has_label = np.zeros(len(data.prompts), bool)
        has_label[labelled.prompts] = True
        res: dict[str, float] = {}

        for fold in folds:
            idx, s, w = outcomes[fold]
            model, info = train_on(fam != fold, spec, states, widths, targets, has_label, v, full)
            scores = score_states(model, spec, states, widths, idx, full)
            res[fold] = round(M.apgr(M.per_prompt_curve(scores, s, w)), 4)
            res[fold + "_length"] = round(M.apgr(M.per_prompt_curve(lengths[idx], s, w)), 4)
            res[fold + "_epoch"] = info["best_epoch"]
        res["cv_mean"] = round(float(np.mean([res[f] for f in folds])), 4)
        if args.eval:
            model, _ = train_on(np.ones(len(data.prompts), bool), spec, states, widths, targets, has_label, v, full)
            for name, (prompts, s, w) in eval_sets.items():
                rows, ev_full = encode_with_lengths(prompts, spec)
                ev_states = frozen_states(model, rows, first)
                ev_widths = np.array([len(r) for r in rows])
                scores = score_states(model, spec, ev_states, ev_widths, np.arange(len(rows)), ev_full)
                res[name] = round(M.apgr(M.per_prompt_curve(scores, s, w)), 4)
        res["seconds"] = round(time.time() - started)
        print(json.dumps({"tag": args.tag, "variant": v, "result": res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
