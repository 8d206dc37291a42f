"""What the router speed benchmarks share: the machine description, the prompt sets, percentiles."""

from __future__ import annotations

import csv
import glob
import json
import os
import platform
from pathlib import Path


def machine_info(**extra: object) -> dict:
    """Python, platform, CPU, core count, load average and the versions of the numeric libraries present."""
    import importlib

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, object] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    for module in ("numpy", "torch", "onnxruntime", "transformers", "sklearn"):
        try:
            info[module] = importlib.import_module(module).__version__
        except ImportError:
            info[module] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return {**info, **extra}


def mmlu_prompts(data_dir: Path) -> list[str]:
    """Every MMLU prompt of RouteLLM's evaluation files, in file order."""
    root = data_dir / "routellm-evals" if (data_dir / "routellm-evals").is_dir() else data_dir
    csv.field_size_limit(2**31 - 1)
    prompts = []
    for f in sorted(glob.glob(str(root / "mmlu" / "responses" / "*.csv"))):
        with open(f, newline="", encoding="utf-8") as fh:
            prompts += [r["prompt"] for r in csv.DictReader(fh)]
    return prompts


def chat_prompts(data_dir: Path) -> list[str]:
    """Real Chatbot Arena prompts (arena-hard v0.1), the chat traffic of a gateway."""
    path = data_dir / "prompts" / "arena-hard" / "v0.1-question.jsonl"
    return [json.loads(line)["prompt"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]
