"""Leave-one-task-family-out validation of sw_ranking index variants, on training data only.

How the shipped index's knobs (weighting sharpness, minimum similarity, tiers, labels, model-name merging, index
dimension) were chosen without looking at the evaluation benchmarks. Each fold removes one task family
from every training file, builds the index on the rest (decontaminated as ``routellm train sw_ranking``
does: tiers are refitted without the fold) and scores the held-out prompts with the GPT-4 / Mixtral tiers:

* ``arc``, ``mbpp``, ``wino`` (RouterBench's ARC-Challenge, MBPP, Winogrande; the same tasks leave
  routerdc-split2 too): APGR against gpt-4-1106-preview vs Mixtral-8x7B correctness, the paper's pair;
* ``math`` (routerdc-split2's gsm8k-train and MATH): APGR against that file's best vs median model;
* ``chat`` (arena-bench-v1, real Chatbot Arena prompts): APGR against the GPT-4 / Mixtral grades.

``pair=tier`` scores with the virtual pair ``tier:strong`` / ``tier:weak`` (each score file's best and median
model, compared on every prompt of the file) instead of GPT-4 / Mixtral; ``pair=gm`` drops those battles,
``pair=gm+`` keeps them in the index (they shape the tiers and the fits) and scores with GPT-4 / Mixtral.

The criterion is the mean over folds; the prompt-length baseline is printed per fold. ``--eval`` also
builds on everything and reports APGR on MT-Bench, MMLU and GSM8K (for the record, never for selection).
One JSON line per variant on stdout. Variants: ``--grid`` takes ``key=v1,v2`` items (keys: sharpness,
minsim, relative, same, ridge, length, tiers, labels, merge, dim, pair) and runs their product; variants that share the
index structure (tiers, labels, merge, dim) share one index and one similarity matrix per fold.

    python bench/elo_task_cv.py --data-dir ../shared/data --grid sharpness=5,10,20 minsim=-1,0.2 [--eval]
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

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

from task_folds import GPT4, MIXTRAL, family, load_training, training_files  # noqa: E402

#: the same model under two names in different training files
MERGES = {
    "mixtral": {"mistralai/Mixtral-8x7B-Instruct-v0.1": MIXTRAL},
    "all": {
        "mistralai/Mixtral-8x7B-Instruct-v0.1": MIXTRAL,
        "Llama-2-70b-chat": "meta/llama-2-70b-chat",
        "claude-instant-1": "claude-instant-v1",
        "claude-1": "claude-v1",
    },
    "none": {},
}
DEFAULTS = {
    "sharpness": 1.0,
    "minsim": -1.0,
    "relative": 1,
    "same": "routellm",
    "ridge": 1e-9,
    "length": 0.0,
    "tiers": 10,
    "labels": "hard",
    "merge": "mixtral",
    "dim": 0,
    "pair": "gm",
}
#: keys that change the index (the rest only change how a query weighs it)
STRUCTURE = ("tiers", "labels", "merge", "dim", "pair")


def parse_grid(items: list[str]) -> list[dict]:
    axes = []
    for item in items:
        key, _, values = item.partition("=")
        if key not in DEFAULTS:
            raise SystemExit(f"unknown grid key {key!r}; keys: {', '.join(DEFAULTS)}")
        kind = type(DEFAULTS[key])
        axes.append([(key, kind(v) if kind is not str else v) for v in values.split(",")])
    return [{**DEFAULTS, **dict(combo)} for combo in itertools.product(*axes)] if axes else [dict(DEFAULTS)]


def merged(data, merge: dict[str, str]):
    """Model indices with the names in ``merge`` mapped to their canonical name; returns (models, a, b)."""
    names = [merge.get(m, m) for m in data.models]
    models = list(dict.fromkeys(names))
    remap = np.asarray([models.index(n) for n in names])
    _, a, b, _ = data.arrays()
    return models, remap[a], remap[b]


def main(argv=None) -> int:
    from routellm_elo.elo import fit_ratings, win_probability
    from routellm_elo.index import Weighting, build_index, log_chars

    from routellm_core.decontamination import collect_eval_prompts, decontaminate
    from routellm_core.embedders import EmbeddingCache
    from routellm_core.evaluation import metrics as M
    from routellm_core.lookups import get_embedder, load_benchmark
    from routellm_core.training_data import TIER_STRONG, TIER_WEAK

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--embedder", default="minilm-l3")
    ap.add_argument("--embedder-kwargs", default='{"head_tokens": 32}')
    ap.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2")
    ap.add_argument("--folds", default="arc,mbpp,wino,math,chat")
    ap.add_argument("--eval", action="store_true", help="also report APGR on MT-Bench, MMLU and GSM8K (not for selection)")
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    root = Path(args.data_dir)
    train_dir = root / "train"
    if not train_dir.is_dir():
        print(f"no training data under {root}", file=sys.stderr)
        return 2
    files = training_files(root)
    # tier pairs (virtual models tier:strong / tier:weak: each score file's best and median model) are read in
    # always; the "gm" variants drop those battles, the "tier" variants keep them and score with that pair
    data = load_training(root, files, tier_pairs=True)
    cache = EmbeddingCache(get_embedder(args.embedder, **json.loads(args.embedder_kwargs)))
    emb = cache.embed(data.prompts)
    data, emb, _ = decontaminate(data, emb, collect_eval_prompts(root), cache.embed)
    fam = np.array([family(s) for s in data.sources])
    pi, _, _, label = data.arrays()

    # held-out outcomes per fold: prompt index -> (strong quality, weak quality)
    outcomes: dict[str, dict[int, tuple[float, float]]] = {f: {} for f in ("arc", "mbpp", "wino", "math", "chat")}
    by_prompt: dict[int, dict[str, float]] = {}
    _, a_raw, b_raw, _ = data.arrays()
    for p, a, b, y in zip(pi, a_raw, b_raw, label, strict=True):
        by_prompt.setdefault(int(p), {})[f"{a},{b}"] = float(y)
    ids = {m: i for i, m in enumerate(data.models)}

    def pair_label(p: int, x: str, y: str) -> float | None:
        if x not in ids or y not in ids:
            return None
        d = by_prompt.get(p, {})
        if f"{ids[x]},{ids[y]}" in d:
            return d[f"{ids[x]},{ids[y]}"]
        if f"{ids[y]},{ids[x]}" in d:
            return 1.0 - d[f"{ids[y]},{ids[x]}"]
        return None

    split2_math = {}
    for f in ("gsm8k-train.json", "MATH_prealgebra.json"):
        rows = json.loads((train_dir / "routerdc-split2" / f).read_text())
        models = sorted(
            {m for r in rows for m in r["scores"]}, key=lambda m: -np.mean([r["scores"][m] for r in rows if m in r["scores"]])
        )
        split2_math[f"train/routerdc-split2/{f}"] = (models[0], models[len(models) // 2])
    for p, (src, f) in enumerate(zip(data.sources, fam, strict=True)):
        if f in ("arc", "mbpp", "wino") and "routerbench" in src:
            y = pair_label(p, GPT4, MIXTRAL)
        elif f == "math" and src in split2_math:
            y = pair_label(p, *split2_math[src])
        elif f == "chat":
            y = pair_label(p, GPT4, "mistralai/Mixtral-8x7B-Instruct-v0.1")
        else:
            continue
        if y is not None:  # soft label (s - w + 1) / 2: the pair's outcome up to a shared offset
            outcomes[f][p] = (y, 1.0 - y)

    folds = [f for f in args.folds.split(",") if f]
    lengths = np.array([len(p) for p in data.prompts], float)
    base = {}
    for fold in folds:
        idx = np.array(sorted(outcomes[fold]))
        s = np.array([outcomes[fold][i][0] for i in idx])
        w = np.array([outcomes[fold][i][1] for i in idx])
        base[fold] = (idx, s, w, round(M.apgr(M.per_prompt_curve(lengths[idx], s, w)), 4))

    def build(v, keep):
        models, a, b = merged(data, MERGES[v["merge"]])
        m = keep[pi]
        if v["pair"] == "gm":
            virtual = [models.index(x) for x in (TIER_STRONG, TIER_WEAK)]
            m = m & ~np.isin(a, virtual)
        remap = np.cumsum(keep) - 1
        return build_index(
            emb[keep],
            remap[pi[m]],
            a[m],
            b[m],
            label[m],
            models,
            num_tiers=v["tiers"],
            labels=v["labels"],
            dim=v["dim"] or None,
            prompts=[p for p, k in zip(data.prompts, keep, strict=True) if k],
        )

    def weighting(v):
        return Weighting(
            sharpness=v["sharpness"],
            min_similarity=v["minsim"],
            ridge=v["ridge"],
            relative_to_max=bool(v["relative"]),
            same_tier=v["same"],
            length_scale=v["length"],
        )

    def scores(index, vectors, variants, lengths):
        """Scores of ``vectors`` under each variant's weighting (similarities computed once per chunk)."""
        strong, weak = (TIER_STRONG, TIER_WEAK) if variants[0]["pair"] == "tier" else (GPT4, MIXTRAL)
        ts, tw = index.tier_of(index.resolve(strong)), index.tier_of(index.resolve(weak))
        out = [np.full(len(vectors), 0.5) for _ in variants]
        if ts == tw:
            return out, (ts, tw)
        for start in range(0, len(vectors), 1024):
            sims = index.similarities(vectors[start : start + 1024])
            gap = np.abs(lengths[start : start + 1024, None] - index.log_chars[None, :])
            for k, v in enumerate(variants):
                wt = weighting(v)
                r = fit_ratings(index.tables_for_similarities(sims - np.float32(v["length"]) * gap, wt), ridge=wt.ridge)
                out[k][start : start + 1024] = win_probability(r[:, ts], r[:, tw])
        return out, (ts, tw)

    variants = parse_grid(args.grid)
    groups: dict[str, list[dict]] = {}
    for v in variants:
        groups.setdefault(json.dumps({k: v[k] for k in STRUCTURE}), []).append(v)
    bench_cache = {}
    for group in groups.values():
        started = time.time()
        results: list[dict[str, object]] = [{} for _ in group]
        for fold in folds:
            idx, s, w, _ = base[fold]
            index = build(group[0], fam != fold)
            all_scores, tiers = scores(index, emb[idx], group, log_chars([data.prompts[i] for i in idx]))
            for res, sc in zip(results, all_scores, strict=True):
                res[fold] = round(M.apgr(M.per_prompt_curve(sc, s, w)), 4)
                res[fold + "_spread"] = round(float(np.percentile(sc, 90) - np.percentile(sc, 10)), 4)
                res[fold + "_tiers"] = list(tiers)
        for res in results:
            res["cv_mean"] = round(float(np.mean([res[f] for f in folds])), 4)
        if args.eval:
            index = build(group[0], np.ones(len(data.prompts), bool))
            for name in ("mt-bench", "mmlu", "gsm8k"):
                if name not in bench_cache:
                    bench = load_benchmark(name, root)
                    bench_cache[name] = (bench, cache.embed(bench.prompts))
                bench, vectors = bench_cache[name]
                _, _, s, w = bench.pair()
                for res, sc in zip(results, scores(index, vectors, group, log_chars(bench.prompts))[0], strict=True):
                    res[name] = round(M.apgr(M.per_prompt_curve(sc, s, w)), 4)
        seconds = round(time.time() - started, 1)
        for v, res in zip(group, results, strict=True):
            print(
                json.dumps(
                    {"tag": args.tag, "variant": v, "result": res, "seconds": seconds, "length": {f: base[f][3] for f in folds}}
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
