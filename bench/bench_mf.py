"""Speed of the mf router with the local embedder (routellm-mf + routellm-minilm).

Measures, in one run on this machine:
  * one-prompt routing decision latency (p50/p90/p99 of Router.route on single prompts),
  * batch scoring throughput on the MMLU prompts of the evaluation data (prompts/s),
  * the same prompts scored one by one, and the batched / one-by-one ratio;
  * with ``--nmodel``: the N-model decision (the routing core picking among 11 and 20 priced models with
    the cost knob: predicted quality per model, expected costs, ``model_choice.choose``) against the
    two-model decision (score and threshold) of the same router, on the same prompts, interleaved.

    python bench/bench_mf.py --data-dir ../shared/data [--embedder minilm-l3] [--limit N] [--threads 2] [--nmodel]

Embedding caches are off: every prompt is embedded. Prints machine information first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from bench_common import machine_info, mmlu_prompts, percentile  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--embedder", default=None, help="embedder name (default: the checkpoint's, minilm-l3)")
    ap.add_argument("--embedder-kwargs", default=None, help="JSON kwargs for the embedder")
    ap.add_argument("--checkpoint", default=None, help="MF checkpoint (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N MMLU prompts for the batch test (0 = all)")
    ap.add_argument("--single", type=int, default=300, help="prompts for the one-by-one / latency test")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice); onnxruntime uses every core"
    )
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    ap.add_argument(
        "--nmodel", action="store_true", help="only the N-model vs two-model decision overhead (routing core, same prompts)"
    )
    ap.add_argument("--rounds", type=int, default=3, help="--nmodel: interleaved rounds over the sample")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from routellm_core.plugins import get_registry

    info = machine_info(requested_threads=args.threads)
    print("machine:", json.dumps(info))
    prompts = mmlu_prompts(Path(args.data_dir))
    if not prompts:
        print(f"no MMLU prompts under {args.data_dir}", file=sys.stderr)
        return 2
    if args.limit:
        prompts = prompts[: args.limit]
    config = {}
    if args.checkpoint:
        config["checkpoint"] = args.checkpoint
    if args.embedder:
        config["embedder"] = args.embedder
    if args.embedder_kwargs:
        config["embedder_kwargs"] = json.loads(args.embedder_kwargs)
    t0 = time.perf_counter()
    router = get_registry().create_router("mf", config)
    load_s = time.perf_counter() - t0
    print(f"router: {json.dumps(router.describe())}  (built in {load_s:.2f} s)")
    if args.nmodel:
        return nmodel_overhead(router, prompts, args, info)

    rng = np.random.default_rng(0)
    sample = [prompts[i] for i in rng.choice(len(prompts), size=min(args.single, len(prompts)), replace=False)]
    for p in sample[:10]:  # warm-up
        router.route(p, 0.5)
    lat = []
    for p in sample:
        t = time.perf_counter()
        router.route(p, 0.5)
        lat.append(time.perf_counter() - t)
    one_by_one_rate = len(sample) / sum(lat)
    short = [
        "What is the capital of France?",
        "Write a haiku about autumn.",
        "Explain recursion to a child.",
        "How do I reverse a list in Python?",
        "Is 97 a prime number?",
    ] * 20
    lat_short = []
    for p in short:
        t = time.perf_counter()
        router.route(p, 0.5)
        lat_short.append(time.perf_counter() - t)

    router.score(prompts[:64])  # warm-up
    t = time.perf_counter()
    scores = router.score(prompts)
    batch_s = time.perf_counter() - t
    batch_rate = len(prompts) / batch_s
    sample_batch_t = time.perf_counter()
    router.score(sample)
    sample_batch_rate = len(sample) / (time.perf_counter() - sample_batch_t)

    results = {
        "machine": info,
        "router": router.describe(),
        "one_prompt_latency_ms_mmlu": {
            "p50": 1000 * statistics.median(lat),
            "p90": 1000 * percentile(lat, 0.9),
            "p99": 1000 * percentile(lat, 0.99),
            "n": len(lat),
        },
        "one_prompt_latency_ms_short": {
            "p50": 1000 * statistics.median(lat_short),
            "p90": 1000 * percentile(lat_short, 0.9),
            "n": len(lat_short),
        },
        "batch_mmlu": {"prompts": len(prompts), "seconds": batch_s, "prompts_per_s": batch_rate},
        "one_by_one_prompts_per_s": one_by_one_rate,
        "batched_same_sample_prompts_per_s": sample_batch_rate,
        "batched_over_one_by_one": sample_batch_rate / one_by_one_rate,
        "mean_score": float(np.mean(scores)),
    }
    lm, ls = results["one_prompt_latency_ms_mmlu"], results["one_prompt_latency_ms_short"]
    print(
        f"one-prompt decision (MMLU prompts, n={lm['n']}): p50 {lm['p50']:.1f} ms, p90 {lm['p90']:.1f} ms, p99 {lm['p99']:.1f} ms"
    )
    print(f"one-prompt decision (short chat prompts, n={ls['n']}): p50 {ls['p50']:.1f} ms, p90 {ls['p90']:.1f} ms")
    print(f"batch scoring, {len(prompts)} MMLU prompts: {batch_s:.1f} s = {batch_rate:.0f} prompts/s")
    print(
        f"same {len(sample)} prompts: batched {sample_batch_rate:.0f} prompts/s vs one by one {one_by_one_rate:.0f} prompts/s "
        f"-> ratio {results['batched_over_one_by_one']:.2f}x"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


#: USD per 1M input / output tokens, for ordering and costing the models in the overhead run only
#: (RouterBench's eleven models at their 2024 list prices, rounded; llmrouter-dcrouter's nine by size tier)
NMODEL_PRICES = {
    "gpt-4-1106-preview": (10.0, 30.0),
    "claude-v2": (8.0, 24.0),
    "claude-v1": (8.0, 24.0),
    "claude-instant-v1": (0.8, 2.4),
    "gpt-3.5-turbo-1106": (1.0, 2.0),
    "meta/llama-2-70b-chat": (0.9, 0.9),
    "meta/code-llama-instruct-34b-chat": (0.78, 0.78),
    "zero-one-ai/Yi-34B-Chat": (0.8, 0.8),
    "mistralai/mixtral-8x7b-chat": (0.6, 0.6),
    "WizardLM/WizardLM-13B-V1.2": (0.3, 0.3),
    "mistralai/mistral-7b-chat": (0.2, 0.2),
    "qwen2.5-7b-instruct": (0.2, 0.2),
    "llama3-chatqa-1.5-8b": (0.2, 0.2),
    "mistral-7b-instruct-v0.3": (0.2, 0.2),
    "llama-3.1-8b-instruct": (0.2, 0.2),
    "gemma-2-9b-it": (0.3, 0.3),
    "codegemma-7b": (0.3, 0.3),
    "llama-3.3-nemotron-super-49b-v1": (0.9, 0.9),
    "llama-3.1-nemotron-51b-instruct": (0.9, 0.9),
    "llama3-chatqa-1.5-70b": (0.9, 0.9),
}


def nmodel_overhead(router, prompts: list[str], args, info: dict) -> int:
    """N-model decisions (11 and 20 models, cost knob 0.3) vs two-model decisions (threshold 0.5) of one router."""
    import numpy as np

    from routellm_core.model_set import ModelEndpoint, parse_models
    from routellm_core.routing import RoutingCore

    def models(names):
        entries = [{"name": m, "price": {"input": NMODEL_PRICES[m][0], "output": NMODEL_PRICES[m][1]}} for m in names]
        return parse_models(entries, price_lookup=lambda m: None)

    names = list(NMODEL_PRICES)
    pair = ModelEndpoint("gpt-4-1106-preview"), ModelEndpoint("mistralai/mixtral-8x7b-chat")
    cores = {
        "two-model": (RoutingCore({"mf": router}, *pair), "router-mf-0.5"),
        "11 models": (RoutingCore({"mf": router}, models=models(names[:11])), "router-mf-0.3"),
        "20 models": (RoutingCore({"mf": router}, models=models(names)), "router-mf-0.3"),
    }
    rng = np.random.default_rng(0)
    sample = [prompts[i] for i in rng.choice(len(prompts), size=min(args.single, len(prompts)), replace=False)]
    messages = [[{"role": "user", "content": p}] for p in sample]
    for core, name in cores.values():  # warm-up, and the quality head loaded before timing
        for m in messages[:10]:
            core.decide(m, name)
    lat: dict[str, list[float]] = {k: [] for k in cores}
    for _ in range(args.rounds):
        for m in messages:  # interleaved: each prompt through each decision in turn, so drift hits all alike
            for key, (core, name) in cores.items():
                t = time.perf_counter()
                core.decide(m, name)
                lat[key].append(time.perf_counter() - t)
    two = statistics.median(lat["two-model"])
    results = {"machine": info, "router": router.describe(), "prompts": len(sample), "rounds": args.rounds, "decision_ms": {}}
    for key, values in lat.items():
        p50 = statistics.median(values)
        results["decision_ms"][key] = {
            "p50": 1000 * p50,
            "p90": 1000 * percentile(values, 0.9),
            "mean": 1000 * statistics.fmean(values),
            "p50_over_two_model": p50 / two,
            "mean_over_two_model": statistics.fmean(values) / statistics.fmean(lat["two-model"]),
        }
        r = results["decision_ms"][key]
        print(
            f"{key:>10}: decision p50 {r['p50']:.2f} ms, p90 {r['p90']:.2f} ms, mean {r['mean']:.2f} ms; "
            f"p50 / two-model {r['p50_over_two_model']:.3f}x, mean / two-model {r['mean_over_two_model']:.3f}x"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
