"""Baselines of the evaluation harness on RouteLLM's evaluation data.

For each built-in benchmark: the `random` router (seed 0, and the mean and
standard deviation over many seeds), the expected-value random baseline, the
`length` heuristic and the oracle; APGR both exact (per-prompt curve) and
binned as in the RouteLLM paper (10 bins).

    python bench/eval_baselines.py --data-dir ../shared/data [--seeds 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402

from routellm_core.default_plugins.length_router import LengthRouter  # noqa: E402
from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter  # noqa: E402
from routellm_core.evaluation import metrics as M  # noqa: E402
from routellm_core.lookups import load_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    header = (
        "benchmark",
        "n",
        "random seed 0 (exact / 10-bin)",
        f"random mean ± sd over {args.seeds} seeds (exact / 10-bin)",
        "random expected",
        "length (exact / 10-bin)",
        "oracle",
    )
    print(" | ".join(header))
    for name in ("mt-bench", "mmlu", "gsm8k"):
        start = time.perf_counter()
        data = load_benchmark(name, args.data_dir)
        _, _, s, w = data.pair()
        exact, binned = [], []
        for seed in range(args.seeds):
            r = RandomRouter(RandomConfig(seed=seed)).score(data.prompts)
            exact.append(M.apgr(M.per_prompt_curve(r, s, w)))
            binned.append(M.apgr(M.binned_curve(r, s, w, 10)))
        length = LengthRouter().score(data.prompts)
        row = (
            name,
            str(len(data)),
            f"{exact[0]:.4f} / {binned[0]:.4f}",
            f"{np.mean(exact):.4f} ± {np.std(exact, ddof=1):.4f} / {np.mean(binned):.4f} ± {np.std(binned, ddof=1):.4f}",
            f"{M.apgr(M.random_curve(s, w)):.4f}",
            f"{M.apgr(M.per_prompt_curve(length, s, w)):.4f} / {M.apgr(M.binned_curve(length, s, w, 10)):.4f}",
            f"{M.apgr(M.oracle_curve(s, w)):.4f}",
        )
        print(" | ".join(row) + f"   ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
