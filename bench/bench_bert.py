"""Speed of the bert router (routellm-bert) on CPU, in one run on this machine:

  * one routing decision (``Router.route`` on one prompt, tokenising included): p50/p90/p99 on real chat
    prompts (arena-hard v0.1);
  * batched scoring throughput on MMLU prompts (prompts/s), and the same prompts one by one;
  * the largest difference between batched and one-by-one scores (the contract test's tolerance is
    rtol 1e-5, atol 1e-6).

    python bench/bench_bert.py --data-dir ../shared/data [--checkpoint DIR] [--limit 2000] [--threads 2]

Prints machine information first, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from bench_common import chat_prompts, machine_info, mmlu_prompts, percentile  # noqa: E402


def main(argv=None) -> int:
    import numpy as np
    from routellm_bert.plugin import BertConfig
    from routellm_bert.router import BertRouter

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_DATA_DIR", "../shared/data"))
    ap.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    ap.add_argument("--limit", type=int, default=2000, help="MMLU prompts for the throughput runs")
    ap.add_argument("--single", type=int, default=200, help="chat prompts for the one-decision latency")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    data = Path(args.data_dir)
    started = time.perf_counter()
    router = BertRouter(BertConfig(checkpoint=args.checkpoint, num_threads=args.threads or None))
    load_s = time.perf_counter() - started
    print(json.dumps({"machine": machine_info(requested_threads=args.threads)}), flush=True)

    chat = chat_prompts(data)[: args.single]
    for p in chat[:10]:
        router.route(p, 0.5)  # warm-up
    latencies = []
    for p in chat:
        t = time.perf_counter()
        router.route(p, 0.5)
        latencies.append((time.perf_counter() - t) * 1000)

    mmlu = mmlu_prompts(data)[: args.limit]
    t = time.perf_counter()
    batched = router.score(mmlu)
    batch_s = time.perf_counter() - t
    t = time.perf_counter()
    single = np.array([router.score([p])[0] for p in mmlu])
    single_s = time.perf_counter() - t
    result = {
        "router_load_seconds": round(load_s, 2),
        "one_decision_ms": {
            "prompts": len(chat),
            "p50": round(percentile(latencies, 0.5), 2),
            "p90": round(percentile(latencies, 0.9), 2),
            "p99": round(percentile(latencies, 0.99), 2),
        },
        "mmlu_prompts": len(mmlu),
        "batched_prompts_per_s": round(len(mmlu) / batch_s, 1),
        "one_by_one_prompts_per_s": round(len(mmlu) / single_s, 1),
        "batched_vs_one_by_one": round(single_s / batch_s, 2),
        "max_abs_difference_batch_vs_single": float(np.max(np.abs(batched - single))),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(result, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
