"""Check the harness against upstream RouteLLM's evaluation code, number for number.

Re-runs the metric code of lm-sys/RouteLLM 0.2.0 (`routellm/evals/benchmarks.py`
and `evaluate.py`: pandas loading, contamination filter, `pd.qcut` bins, the
`>` last bin, `np.trapz` APGR, `np.interp` CPT) on the same router scores, and
prints both results side by side. Needs pandas (not a dependency of the
project); RouteLLM's era was pandas 2.2 with numpy 1.26:

    pip install --target /tmp/pd22 pandas==2.2.2 numpy==1.26.4
    PYTHONPATH=/tmp/pd22 python bench/upstream_parity.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from routellm_core.default_plugins.length_router import LengthRouter  # noqa: E402
from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter  # noqa: E402
from routellm_core.evaluation import metrics as M  # noqa: E402
from routellm_core.lookups import load_benchmark  # noqa: E402

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
pd.options.mode.copy_on_write = True


def upstream_frames(root: Path, name: str):
    """Upstream's data loading (benchmarks.py __init__)."""
    if name == "mmlu":
        files = sorted((root / "mmlu" / "responses").glob("mmlu_*.csv"))
        all_data = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        bad = pd.read_json(root / "mmlu" / "contaminated_prompts.jsonl", lines=True)["eval_prompt"].tolist()
        return all_data[~all_data["prompt"].isin(bad)]
    if name == "gsm8k":
        all_data = pd.read_csv(root / "gsm8k" / "gsm8k_responses.csv")
        bad = pd.read_json(root / "gsm8k" / "contaminated_prompts.jsonl", lines=True)["eval_prompt"].tolist()
        return all_data[~all_data["prompt"].isin(bad)]
    judgements = pd.read_json(root / "mt_bench" / "judgements.jsonl", lines=True)
    questions = pd.read_json(root / "mt_bench" / "question.jsonl", lines=True)
    bad = pd.read_json(root / "mt_bench" / "contaminated_prompts.jsonl", lines=True)["eval_prompt"].tolist()
    questions["turn1"] = questions["turns"].apply(lambda x: x[0])
    questions["turn2"] = questions["turns"].apply(lambda x: x[1])
    questions = questions[~(questions["turn1"].isin(bad) | questions["turn2"].isin(bad))]
    return questions, judgements


def upstream_points(name, frames, scores, num_results=10):
    """Upstream's Benchmark.evaluate: (strong %, accuracy) per threshold."""
    _, thresholds = pd.qcut(scores, num_results, retbins=True)
    points = []
    if name == "mt-bench":
        questions, judgements = frames
        q = questions[["question_id", "turns"]]
        q["strong_win_rates"] = scores
        for i, t in enumerate(thresholds):
            sel = q["strong_win_rates"] >= t if i != len(thresholds) - 1 else q["strong_win_rates"] > t
            q["routed_model"] = np.where(sel, STRONG, WEAK)
            res = q.merge(judgements, left_on=["question_id", "routed_model"], right_on=["question_id", "model"], how="left")
            counts = res["model"].value_counts().to_dict()
            points.append((counts.get(STRONG, 0) / len(res) * 100, res["score"].mean()))
        return points
    df = frames
    df["strong_win_rates"] = scores
    for i, t in enumerate(thresholds):
        sel = df["strong_win_rates"] >= t if i != len(thresholds) - 1 else df["strong_win_rates"] > t
        results = np.where(sel, df[STRONG], df[WEAK])
        points.append((np.count_nonzero(sel) / len(results) * 100, sum(results) / len(results) * 100))
    return points


def upstream_metrics(points, weak, strong):
    """Upstream's generate_results: APGR (np.trapz) and CPT (np.interp)."""
    df = pd.DataFrame(points, columns=["strong_percentage", "accuracy"]).sort_values(by=["strong_percentage"])
    auc = np.trapz(df["accuracy"], df["strong_percentage"] / 100)
    weak_auc = np.trapz(np.full(len(df), weak), df["strong_percentage"] / 100)
    strong_auc = np.trapz(np.full(len(df), strong), df["strong_percentage"] / 100)
    cpt = [np.interp(p * (strong - weak) + weak, df["accuracy"], df["strong_percentage"]) / 100 for p in (0.2, 0.5, 0.8)]
    return (auc - weak_auc) / (strong_auc - weak_auc), cpt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    args = parser.parse_args()
    base = Path(args.data_dir)
    root = base / "routellm-evals" if (base / "routellm-evals").is_dir() else base
    print(f"pandas {pd.__version__}, numpy {np.__version__}")
    worst = 0.0
    for name in ("mt-bench", "mmlu", "gsm8k"):
        ours = load_benchmark(name, base)
        frames = upstream_frames(root, name)
        prompts = (frames[0]["turns"].apply(lambda x: x[0]) if name == "mt-bench" else frames["prompt"]).tolist()
        assert prompts == ours.prompts, f"{name}: upstream loading gives other prompts"
        _, _, s, w = ours.pair()
        scale = 1.0 if name == "mt-bench" else 100.0
        for label, router in (("random", RandomRouter(RandomConfig(seed=0))), ("length", LengthRouter())):
            scores = router.score(prompts)
            up_apgr, up_cpt = upstream_metrics(upstream_points(name, frames, scores), w.mean() * scale, s.mean() * scale)
            curve = M.binned_curve(scores, s, w, 10)
            apgr, cpt = M.apgr(curve), [M.cpt(curve, p) for p in (0.2, 0.5, 0.8)]
            diff = max(abs(apgr - up_apgr), *(abs(a - b) for a, b in zip(cpt, up_cpt, strict=True)))
            worst = max(worst, diff)
            print(
                f"{name:8s} {label:6s} APGR 10-bin ours {apgr:.15f} upstream {up_apgr:.15f}; "
                f"CPT ours {[round(c, 12) for c in cpt]} upstream {[round(c, 12) for c in up_cpt]}; max |diff| {diff:.1e}"
            )
    print(f"largest difference: {worst:.1e}")


if __name__ == "__main__":
    main()
