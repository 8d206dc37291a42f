"""Speed and memory of the causal_llm router (routellm-llm, SmolLM2-135M-Instruct + the shipped adapter).

Measures, in one run on this machine:
  * load time of the default router (GGUF de-quantisation + LoRA merge),
  * one decision: p50/p90 of ``Router.route`` on single chat prompts (Arena-Hard v0.1 questions),
  * batched throughput on the first ``--limit`` MMLU prompts of the evaluation data (prompts/s),
  * the largest |batched - one-by-one| score difference on the chat prompts,
  * the process's peak RSS (``ru_maxrss``).

    python bench/llm_speed.py --data-dir ../shared/data [--single 50] [--limit 256] [--batch-size 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--single", type=int, default=50, help="chat prompts scored one at a time")
    ap.add_argument("--limit", type=int, default=256, help="MMLU prompts scored in batches")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data_dir)
    chat = [json.loads(line)["prompt"] for line in open(root / "prompts" / "arena-hard" / "v0.1-question.jsonl")][: args.single]
    mmlu = []
    for f in sorted(glob.glob(str(root / "routellm-evals" / "mmlu" / "responses" / "*.csv"))):
        mmlu += [r["prompt"] for r in csv.DictReader(open(f, newline=""))]
        if len(mmlu) >= args.limit:
            break
    mmlu = mmlu[: args.limit]
    machine = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    print(json.dumps(machine))

    from routellm_llm.router import CausalLLMRouter

    t = time.perf_counter()
    router = CausalLLMRouter(batch_size=args.batch_size)
    load_s = time.perf_counter() - t
    router.score(["warm up"])
    times = []
    single = []
    for p in chat:
        t = time.perf_counter()
        single.append(router.route(p, 0.5).score)
        times.append((time.perf_counter() - t) * 1000)
    batched = router.score(chat)
    t = time.perf_counter()
    router.score(mmlu)
    batch_s = time.perf_counter() - t
    tokens = [len(x) for x in router.scorer.encode(mmlu)]
    chat_tokens = [len(x) for x in router.scorer.encode(chat)]
    out = {
        "load_s": round(load_s, 1),
        "single_ms_p50": round(statistics.median(times), 1),
        "single_ms_p90": round(float(np.percentile(times, 90)), 1),
        "chat_prompts": len(chat),
        "chat_tokens_mean": round(float(np.mean(chat_tokens)), 1),
        "batch_prompts_per_s": round(len(mmlu) / batch_s, 1),
        "mmlu_prompts": len(mmlu),
        "mmlu_tokens_mean": round(float(np.mean(tokens)), 1),
        "batch_size": args.batch_size,
        "max_abs_batch_minus_single": float(np.max(np.abs(np.asarray(single) - batched))),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
