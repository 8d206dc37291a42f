"""Speed of the sw_ranking router against RouteLLM's per-request refit, on the same index and prompts.

Measures, in one run on this machine:
  * the reference: RouteLLM's ``calculate_strong_win_rate`` re-implemented — embed the prompt, weigh every
    battle of the index, refit scikit-learn's ``LogisticRegression`` (no penalty, no intercept, each battle twice,
    a tie once as a win and once as a loss, same-tier battles as RouteLLM's design matrix writes them) over all
    battles, read the two tiers' ratings. The design matrix is built once (RouteLLM rebuilds it with pandas per
    request), so the reference is if anything faster than RouteLLM;
  * this router on the same prompts, one at a time (``Router.route``) and batched; the largest score difference;
  * one-prompt decision latency (p50/p90/p99) and batch throughput on the MMLU prompts of the evaluation data.

    python bench/bench_elo.py --data-dir ../shared/data [--index DIR] [--reference N] [--limit N] [--compare index]
    python bench/bench_elo.py --data-dir ../shared/data --nmodel [--single N]

``--nmodel`` measures instead the N-model decision against the two-model decision of the same router (the
shipped N-model index unless ``--index``), on the same prompts in one run, alternating which goes first: the
two-model decision is ``Router.route`` (score, threshold); the N-model one is ``predict_quality`` for the
models of RouterBench (11) or of both N-model sets (20) and ``model_choice.choose`` with a price per model;
with and without the (shared) embedding.

The side-by-side comparison uses RouteLLM's weighting by default: with a sharp weighting a query may have no
battles of the strong tier near it, and then its rating is not determined by the data (the router keeps it
where the ridge puts it; an unpenalised refit puts it anywhere: lbfgs and newton-cg disagree).

Embedding caches are off: every prompt is embedded. Needs scikit-learn for the reference. Prints machine
information first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from bench_common import machine_info, mmlu_prompts, percentile  # noqa: E402


class RouteLLMReference:
    """RouteLLM's per-request computation over the battles of an index (rows rebuilt from the tier tables)."""

    def __init__(self, router, solver: str = "lbfgs"):
        import numpy as np

        self.router = router
        self.solver = solver
        index = router.index
        t = index.num_tiers
        u = t + 1
        flat = index.tables.reshape(len(index.tables), u * u)
        prompt, cell = np.nonzero(flat)
        # RouteLLM writes each battle twice: 2 × (wins of j over k) rows "j beats k" (a tie gives one each way);
        # hard labels make these whole numbers
        twice = 2 * flat[prompt, cell]
        count = np.rint(twice).astype(np.int64)
        if np.allclose(count, twice, atol=1e-6):  # whole battles: RouteLLM's rows exactly, repeated
            rows = np.repeat(np.arange(len(cell)), count)
            self.row_weight = np.ones(len(rows))
            self.kind = "one row per battle and direction, as RouteLLM"
        else:  # fractional wins (soft labels): one weighted row per prompt and tier pair, the same likelihood
            rows = np.arange(len(cell))
            self.row_weight = twice
            self.kind = "one weighted row per prompt and tier pair (fewer rows than RouteLLM's per-battle matrix)"
        j, k = cell // u, cell % u
        self.row_prompt = prompt[rows]
        x = np.zeros((len(rows), t))
        y = np.ones(len(rows))
        jr, kr, n = j[rows], k[rows], np.arange(len(rows))
        normal = (jr < t) & (kr < t)
        x[n[normal], jr[normal]] = math.log(10)
        x[n[normal], kr[normal]] = -math.log(10)
        # same-tier battles: RouteLLM's row holds only -ln 10 in the tier's column; Y = 1 when model_a won
        # (player t beats the tier), Y = 0 when model_b won (the tier beats player t)
        won = jr == t
        x[n[won], kr[won]] = -math.log(10)
        lost = kr == t
        x[n[lost], jr[lost]] = -math.log(10)
        y[lost] = 0.0
        self.x, self.y = x, y
        self.battle_rows = len(rows)

    def score(self, vector) -> float:
        """RouteLLM's decision for one prompt, given its embedding (``(1, D)``)."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        r = self.router
        z = r.index.project(vector)
        sims = (z @ r.index.embeddings.T).astype(np.float64)
        w = r.index.weights_for_similarities(sims, r.weighting)[0]
        lr = LogisticRegression(fit_intercept=False, C=np.inf, solver=self.solver, tol=1e-8, max_iter=10_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr.fit(self.x, self.y, sample_weight=w[self.row_prompt] * self.row_weight)
        elo = 400 * lr.coef_[0] + 1000
        return float(1 / (1 + 10 ** ((elo[r._weak_tier] - elo[r._strong_tier]) / 400)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--index", default=None, help="sw_ranking index (default: the shipped one)")
    ap.add_argument("--reference", type=int, default=10, help="prompts scored by the reference refit (slow)")
    ap.add_argument("--single", type=int, default=300, help="prompts for the one-by-one latency test")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N MMLU prompts for the batch test (0 = all)")
    ap.add_argument(
        "--compare",
        choices=("routellm", "index"),
        default="routellm",
        help="weighting of the side-by-side comparison: RouteLLM's (10 · 10^(s / max s), default) or the "
        "index's own; always without ridge, as the reference has no penalty",
    )
    ap.add_argument(
        "--solver",
        default="lbfgs",
        help="scikit-learn solver of the reference (RouteLLM: lbfgs, which may stop early with small weights)",
    )
    ap.add_argument("--only-compare", action="store_true", help="stop after the side-by-side comparison")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    ap.add_argument("--nmodel", action="store_true", help="N-model decision overhead against the two-model decision")
    args = ap.parse_args(argv)
    if args.nmodel:
        return nmodel_overhead(args)

    import numpy as np

    from routellm_core.plugins import get_registry

    info = machine_info()
    print("machine:", json.dumps(info))
    prompts = mmlu_prompts(Path(args.data_dir))
    if not prompts:
        print(f"no MMLU prompts under {args.data_dir}", file=sys.stderr)
        return 2
    if args.limit:
        prompts = prompts[: args.limit]
    config = {"index": args.index} if args.index else {}
    t0 = time.perf_counter()
    router = get_registry().create_router("sw_ranking", config)
    print(f"router: {json.dumps(router.describe())}  (built in {time.perf_counter() - t0:.2f} s)")
    rng = np.random.default_rng(0)
    sample = [prompts[i] for i in rng.choice(len(prompts), size=min(args.single, len(prompts)), replace=False)]

    # -- the reference and the router on the same prompts, same weights ------------------------------
    weighting = {"relative_to_max": True, "sharpness": 1.0, "min_similarity": -1.0} if args.compare == "routellm" else {}
    compare = get_registry().create_router("sw_ranking", {**config, **weighting, "ridge": 0.0})
    ref = RouteLLMReference(compare, args.solver)
    print(f"reference design matrix: {ref.battle_rows} rows x {ref.x.shape[1]} tiers ({ref.kind})")
    # both get the same embedding; the embedding's own time is measured apart (it is the same for both). All the
    # reference decisions first, then all of this router's: a BLAS that has just run a large fit keeps its
    # threads spinning for a while, which would be charged to whatever runs next
    vectors_cmp = []
    emb_times, ref_times, ref_scores, ours_times, ours_scores = [], [], [], [], []
    for p in sample[: args.reference]:
        t = time.perf_counter()
        vectors_cmp.append(compare.embed([p]))
        emb_times.append(time.perf_counter() - t)
    for v in vectors_cmp:
        t = time.perf_counter()
        ref_scores.append(ref.score(v))
        ref_times.append(time.perf_counter() - t)
    time.sleep(1.0)
    for p, v in zip(sample[: args.reference], vectors_cmp, strict=True):
        compare.score_embeddings(v, [p])
        t = time.perf_counter()
        ours_scores.append(float(compare.score_embeddings(v, [p])[0]))
        ours_times.append(time.perf_counter() - t)
    diff = float(np.max(np.abs(np.array(ref_scores) - np.array(ours_scores))))
    ref_ms, ours_ms = 1000 * statistics.median(ref_times), 1000 * statistics.median(ours_times)
    emb_ms = 1000 * statistics.median(emb_times)
    print(
        f"RouteLLM refit (reference): p50 {ref_ms:.0f} ms per decision; this router: p50 {ours_ms:.2f} ms "
        f"-> {ref_ms / ours_ms:.0f}x faster (embedding excluded, p50 {emb_ms:.1f} ms for both; with it "
        f"{(ref_ms + emb_ms) / (ours_ms + emb_ms):.0f}x); largest score difference {diff:.2e} over {len(ref_scores)} prompts"
    )

    if args.only_compare:
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "machine": info,
                        "reference": {
                            "prompts": len(ref_scores),
                            "p50_ms": ref_ms,
                            "router_p50_ms": ours_ms,
                            "speedup": ref_ms / ours_ms,
                            "embedding_p50_ms": emb_ms,
                            "max_abs_score_difference": diff,
                            "design": ref.kind,
                        },
                    },
                    indent=1,
                )
                + "\n"
            )
        return 0

    # -- latency and throughput of the router as configured -------------------------------------------
    for p in sample[:10]:  # warm-up
        router.route(p, 0.5)
    lat = []
    for p in sample:
        t = time.perf_counter()
        router.route(p, 0.5)
        lat.append(time.perf_counter() - t)
    vectors = router.embed(sample)
    t = time.perf_counter()
    for i in range(len(sample)):
        router.score_embeddings(vectors[i : i + 1], sample[i : i + 1])
    elo_only_ms = 1000 * (time.perf_counter() - t) / len(sample)
    router.score(prompts[:64])  # warm-up
    t = time.perf_counter()
    scores = router.score(prompts)
    batch_s = time.perf_counter() - t
    t = time.perf_counter()
    all_vectors = router.embed(prompts)
    embed_s = time.perf_counter() - t
    t = time.perf_counter()
    router.score_embeddings(all_vectors, prompts)
    elo_batch_s = time.perf_counter() - t

    results = {
        "machine": info,
        "router": router.describe(),
        "reference": {
            "prompts": len(ref_scores),
            "p50_ms": ref_ms,
            "router_p50_ms": ours_ms,
            "speedup": ref_ms / ours_ms,
            "embedding_p50_ms": emb_ms,
            "speedup_with_embedding": (ref_ms + emb_ms) / (ours_ms + emb_ms),
            "max_abs_score_difference": diff,
            "design_rows": ref.battle_rows,
            "design": ref.kind,
        },
        "one_prompt_latency_ms_mmlu": {
            "p50": 1000 * statistics.median(lat),
            "p90": 1000 * percentile(lat, 0.9),
            "p99": 1000 * percentile(lat, 0.99),
            "n": len(lat),
        },
        "one_prompt_without_embedding_ms": elo_only_ms,
        "batch_mmlu": {
            "prompts": len(prompts),
            "seconds": batch_s,
            "prompts_per_s": len(prompts) / batch_s,
            "embedding_s": embed_s,
            "elo_s": elo_batch_s,
            "elo_prompts_per_s": len(prompts) / elo_batch_s,
        },
        "mean_score": float(np.mean(scores)),
        "score_p10_p90": [float(np.percentile(scores, 10)), float(np.percentile(scores, 90))],
    }
    lm = results["one_prompt_latency_ms_mmlu"]
    print(
        f"one-prompt decision incl. embedding (MMLU prompts, n={lm['n']}): p50 {lm['p50']:.1f} ms, p90 {lm['p90']:.1f} ms, "
        f"p99 {lm['p99']:.1f} ms; without the embedding {elo_only_ms:.2f} ms"
    )
    print(
        f"batch, {len(prompts)} MMLU prompts: {batch_s:.1f} s = {len(prompts) / batch_s:.0f} prompts/s "
        f"(embedding {embed_s:.1f} s, Elo part {elo_batch_s:.1f} s = {len(prompts) / elo_batch_s:.0f} prompts/s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


#: RouterBench's models and LLMRouter's (the N-model evaluation sets), with prices (USD per 1M tokens) for the
#: choice; any positive prices would do, the choice rule's cost does not depend on them
NMODEL_SETS = {
    "routerbench (11)": {
        "WizardLM/WizardLM-13B-V1.2": 0.2,
        "claude-instant-v1": 1.6,
        "claude-v1": 16.0,
        "claude-v2": 16.0,
        "gpt-3.5-turbo-1106": 1.5,
        "gpt-4-1106-preview": 20.0,
        "meta/code-llama-instruct-34b-chat": 0.8,
        "meta/llama-2-70b-chat": 0.9,
        "mistralai/mistral-7b-chat": 0.2,
        "mistralai/mixtral-8x7b-chat": 0.6,
        "zero-one-ai/Yi-34B-Chat": 0.8,
    },
}
NMODEL_SETS["both sets (20)"] = {
    **NMODEL_SETS["routerbench (11)"],
    "qwen2.5-7b-instruct": 0.3,
    "llama3-chatqa-1.5-8b": 0.2,
    "llama-3.1-nemotron-51b-instruct": 0.6,
    "llama3-chatqa-1.5-70b": 0.88,
    "mistral-7b-instruct-v0.3": 0.2,
    "gemma-2-9b-it": 0.3,
    "codegemma-7b": 0.2,
    "llama-3.1-8b-instruct": 0.18,
    "llama-3.3-nemotron-super-49b-v1": 0.6,
}


def nmodel_overhead(args) -> int:
    """N-model decision vs two-model decision of one router on the same prompts (see the module docstring)."""
    import numpy as np
    from routellm_elo.index import nmodel_index_dir

    from routellm_core.model_choice import choose
    from routellm_core.plugins import get_registry

    info = machine_info()
    print("machine:", json.dumps(info))
    prompts = mmlu_prompts(Path(args.data_dir))
    if not prompts:
        print(f"no MMLU prompts under {args.data_dir}", file=sys.stderr)
        return 2
    index_dir = args.index or os.path.relpath(nmodel_index_dir())  # relative: the results name no machine's paths
    router = get_registry().create_router("sw_ranking", {"index": index_dir})
    print(f"router: {json.dumps(router.describe())}")
    rng = np.random.default_rng(0)
    sample = [prompts[i] for i in rng.choice(len(prompts), size=min(args.single, len(prompts)), replace=False)]
    vectors = router.embed(sample)
    results: dict = {"machine": info, "router": router.describe(), "prompts": len(sample), "sets": {}}
    for name, prices in NMODEL_SETS.items():
        models = list(prices)
        cost = np.asarray([prices[m] for m in models])

        def two(p, v=None):
            if v is None:
                return router.route(p, 0.5)
            return bool(router.score_embeddings(v, [p])[0] >= 0.5)

        def many(p, v=None, models=models, cost=cost):
            q = router.predict_quality([p], models) if v is None else router.quality_embeddings(v, models, [p])
            return models[choose(q[0], cost, 0.5)]

        for p in sample[:10]:  # warm-up
            two(p), many(p)
        timings: dict[str, list[float]] = {"two": [], "many": [], "two_noemb": [], "many_noemb": []}
        for i, p in enumerate(sample):
            v = vectors[i : i + 1]
            order = [("two", two), ("many", many)] if i % 2 == 0 else [("many", many), ("two", two)]
            for key, fn in order:
                t = time.perf_counter()
                fn(p)
                timings[key].append(time.perf_counter() - t)
            for key, fn in order:
                t = time.perf_counter()
                fn(p, v)
                timings[key + "_noemb"].append(time.perf_counter() - t)
        p50 = {k: 1000 * statistics.median(v) for k, v in timings.items()}
        row = {
            "models": len(models),
            "two_model_p50_ms": p50["two"],
            "n_model_p50_ms": p50["many"],
            "ratio": p50["many"] / p50["two"],
            "two_model_without_embedding_p50_ms": p50["two_noemb"],
            "n_model_without_embedding_p50_ms": p50["many_noemb"],
            "ratio_without_embedding": p50["many_noemb"] / p50["two_noemb"],
        }
        results["sets"][name] = row
        print(
            f"{name}: one decision incl. embedding p50 {p50['two']:.2f} ms (two-model) vs {p50['many']:.2f} ms "
            f"(N-model) = {row['ratio']:.2f}x; without the embedding {p50['two_noemb']:.3f} vs {p50['many_noemb']:.3f} ms "
            f"= {row['ratio_without_embedding']:.2f}x (n={len(sample)})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
