"""Speed and memory of the causal_llm router (routellm-llm, SmolLM2-135M-Instruct + the shipped adapter).

Measures, in one run on this machine:
  * load time of the default router (GGUF de-quantisation + LoRA merge),
  * one decision: p50/p90 of ``Router.route`` on single chat prompts (Arena-Hard v0.1 questions),
  * batched throughput on the first ``--limit`` MMLU prompts of the evaluation data (prompts/s),
  * both with the template prefix's keys and values cached (the router's default) and recomputed for every
    prompt (``cache_prefix=False``), and the largest score difference between the two,
  * the largest |batched - one-by-one| score difference on the chat prompts,
  * the process's peak RSS (``ru_maxrss``).

    python bench/llm_speed.py --data-dir ../shared/data [--single 50] [--limit 256] [--batch-size 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import chat_prompts, machine_info, mmlu_prompts, percentile  # noqa: E402

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def measure(router, chat: list[str], mmlu: list[str]) -> dict:
    import numpy as np

    router.score(["warm up"])
    times, single = [], []
    for p in chat:
        t = time.perf_counter()
        single.append(router.route(p, 0.5).score)
        times.append((time.perf_counter() - t) * 1000)
    batched = router.score(chat)
    t = time.perf_counter()
    mmlu_scores = router.score(mmlu)
    batch_s = time.perf_counter() - t
    return {
        "single_ms_p50": round(statistics.median(times), 1),
        "single_ms_p90": round(percentile(times, 0.9), 1),
        "batch_prompts_per_s": round(len(mmlu) / batch_s, 1),
        "max_abs_batch_minus_single": float(np.max(np.abs(np.asarray(single) - batched))),
        "scores": np.concatenate([batched, mmlu_scores]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--single", type=int, default=50, help="chat prompts scored one at a time")
    ap.add_argument("--limit", type=int, default=256, help="MMLU prompts scored in batches")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    chat = chat_prompts(args.data_dir)[: args.single]
    mmlu = mmlu_prompts(args.data_dir)[: args.limit]
    print(json.dumps(machine_info(torch_threads=torch.get_num_threads())))

    from routellm_llm.plugin import CausalLLMConfig
    from routellm_llm.router import CausalLLMRouter

    t = time.perf_counter()
    router = CausalLLMRouter(CausalLLMConfig(batch_size=args.batch_size))
    load_s = time.perf_counter() - t
    results = {}
    for name, cached in (("prefix cached", True), ("prefix recomputed", False)):
        router.scorer.cache_prefix = cached
        results[name] = measure(router, chat, mmlu)
    router.scorer.cache_prefix = True
    encode = router.scorer.encode
    prefix = len(router.scorer.prefix_ids())
    out = {
        "load_s": round(load_s, 1),
        "chat_prompts": len(chat),
        "chat_tokens_mean": round(float(np.mean([len(x) for x in encode(chat)])), 1),
        "mmlu_prompts": len(mmlu),
        "mmlu_tokens_mean": round(float(np.mean([len(x) for x in encode(mmlu)])), 1),
        "template_prefix_tokens": prefix,
        "batch_size": args.batch_size,
        **{name: {k: v for k, v in r.items() if k != "scores"} for name, r in results.items()},
        "max_abs_cached_minus_recomputed": float(
            np.max(np.abs(results["prefix cached"]["scores"] - results["prefix recomputed"]["scores"]))
        ),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
