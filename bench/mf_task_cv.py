"""Leave-one-task-family-out validation of ``routellm train mf`` recipes, on training data only.

How the default checkpoint's recipe was chosen without tuning on the evaluation benchmarks: each
fold removes one task family from the training files, trains the recipe on the rest (decontaminated
as ``routellm train mf`` does) and scores the held-out prompts:

* ``arc``, ``mbpp``, ``wino`` (RouterBench's ARC-Challenge, MBPP, Winogrande; the same tasks are removed
  from routerdc-split2 too): APGR of routing gpt-4-1106-preview vs Mixtral-8x7B, the paper's pair;
* ``math`` (routerdc-split2's gsm8k-train and MATH): APGR of routing that file's best model vs its median one.

The mean over folds is the selection criterion; the prompt-length baseline is printed per fold.
``--eval`` also trains on everything and reports APGR on the evaluation benchmarks (for the record,
not for selection). One JSON line per run on stdout.

    python bench/mf_task_cv.py --data-dir ../shared/data --ewd 0.1 --pairs gm --members 8 [--eval]
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

from task_folds import GPT4, MIXTRAL, family, load_training  # noqa: E402

PAIRS = {"both": [(GPT4, MIXTRAL), ("tier:strong", "tier:weak")], "gm": [(GPT4, MIXTRAL)], "tier": [("tier:strong", "tier:weak")]}


def main(argv=None) -> int:
    from routellm_mf.train import train_checkpoint

    from routellm_core.decontamination import eval_prompts_from_dir, find_contaminated
    from routellm_core.embedders import EmbeddingCache
    from routellm_core.evaluation import metrics as M
    from routellm_core.lookups import get_embedder, load_benchmark
    from routellm_core.training_data import subset, unwrap_list_repr

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--embedder", default="minilm-l3")
    ap.add_argument("--embedder-kwargs", default='{"head_tokens": 32}')
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--features", default="log_chars,bias")
    ap.add_argument("--ewd", type=float, default=0.1, help="weight decay of the prompt-embedding columns")
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-tier", action="store_true", help="train without the virtual tier pair")
    ap.add_argument("--pairs", choices=sorted(PAIRS), default="gm", help="pair(s) whose logits are averaged to score")
    ap.add_argument("--folds", default="arc,mbpp,wino,math")
    ap.add_argument("--eval", action="store_true", help="also report APGR on MT-Bench, MMLU and GSM8K")
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    root = Path(args.data_dir)
    train_dir = root / "train"
    if not train_dir.is_dir():
        print(f"no training data under {root}", file=sys.stderr)
        return 2
    csv.field_size_limit(2**31 - 1)
    files = sorted(glob.glob(str(train_dir / "routerbench-zs/*.csv"))) + sorted(
        glob.glob(str(train_dir / "llmrouter-dcrouter/*.json"))
    )
    files += sorted(glob.glob(str(train_dir / "routerdc-split2/*.json")))
    data = load_training(root, files, tier_pairs=not args.no_tier)
    cache = EmbeddingCache(get_embedder(args.embedder, **json.loads(args.embedder_kwargs)))
    emb = cache.embed(data.prompts)
    eval_sets = eval_prompts_from_dir(root)
    keep, _ = find_contaminated(
        data.prompts, data.sources, emb, eval_sets, {k: cache.embed(v) for k, v in eval_sets.items()}, 0.95
    )
    data, emb = subset(data, keep), emb[keep]
    pairs = PAIRS[args.pairs]
    fam = np.array([family(s) for s in data.sources])

    outcomes: dict[str, dict[str, tuple[float, float]]] = {"rb": {}, "math": {}}
    for f in glob.glob(str(train_dir / "routerbench-zs/*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r[GPT4] != "" and r[MIXTRAL] != "":
                    outcomes["rb"][unwrap_list_repr(r["prompt"])] = (float(r[GPT4]), float(r[MIXTRAL]))
    for f in ("gsm8k-train.json", "MATH_prealgebra.json"):
        rows = json.loads((train_dir / "routerdc-split2" / f).read_text())
        models = sorted(
            {m for r in rows for m in r["scores"]}, key=lambda m: -np.mean([r["scores"][m] for r in rows if m in r["scores"]])
        )
        best, median = models[0], models[len(models) // 2]
        for r in rows:
            outcomes["math"][r["question"]] = (float(r["scores"][best]), float(r["scores"][median]))

    def logits(ck, e, prompts):
        z = ck.text_input(e, prompts).astype(np.float64)
        w = np.mean([ck.pair_vector(ck.resolve(s), ck.resolve(wk)) for s, wk in pairs], axis=0)
        return (z @ w.T).mean(axis=1)

    kwargs = dict(
        features=[f for f in args.features.split(",") if f],
        dim=args.dim,
        members=args.members,
        seed=args.seed,
        embedding_weight_decay=args.ewd,
        progress=False,
        log=lambda *a, **k: None,
    )
    res: dict[str, float] = {}
    started = time.time()
    folds = [f for f in args.folds.split(",") if f]
    for fold in folds:
        train = fam != fold
        ck, _ = train_checkpoint(emb[train], subset(data, train), **kwargs)
        table = outcomes["math" if fold == "math" else "rb"]
        idx = [
            i for i in np.nonzero(~train)[0] if data.prompts[i] in table and (fold == "math" or "routerbench" in data.sources[i])
        ]
        prompts = [data.prompts[i] for i in idx]
        strong = np.array([table[p][0] for p in prompts])
        weak = np.array([table[p][1] for p in prompts])
        res[fold] = round(M.apgr(M.per_prompt_curve(logits(ck, emb[idx], prompts), strong, weak)), 4)
        res[fold + "_length"] = round(M.apgr(M.per_prompt_curve(np.array([len(p) for p in prompts], float), strong, weak)), 4)
    res["cv_mean"] = round(float(np.mean([res[f] for f in folds])), 4)
    if args.eval:
        ck, _ = train_checkpoint(emb, data, **kwargs)
        for name in ("mt-bench", "mmlu", "gsm8k"):
            bench = load_benchmark(name, root)
            _, _, strong, weak = bench.pair()
            res[name] = round(M.apgr(M.per_prompt_curve(logits(ck, cache.embed(bench.prompts), bench.prompts), strong, weak)), 4)
    res["seconds"] = round(time.time() - started)
    print(json.dumps({"tag": args.tag, "args": vars(args), "result": res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
