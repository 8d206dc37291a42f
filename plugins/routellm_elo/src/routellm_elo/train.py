"""``routellm train sw_ranking``: build a sw_ranking index from battles and score matrices.

Pipeline: read files (:mod:`routellm_core.training_data`: Arena battles, JSON/JSONL/CSV score matrices,
each prompt of a score matrix giving one battle per pair of its models) -> merge model names given
by ``--alias`` -> embed prompts (on-disk cache) -> decontaminate against every evaluation benchmark
(:mod:`routellm_core.decontamination`) -> global Elo, tiers, per-prompt tier win tables
(:func:`routellm_elo.index.build_index`) -> ``config.json`` + ``index.safetensors``, with
``training_summary.json``, ``DECONTAMINATION.md`` / ``decontamination.json`` and ``TRAINING_DATA.md``
beside them. Nothing is random: the same files and options give the same index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from routellm_core.errors import ConfigError
from routellm_core.hashing import sha256_file
from routellm_core.training_data import TrainingDataError

from .index import DEFAULT_NUM_TIERS, SWIndex, Weighting, build_index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="FILE",
        help="training files: battles (model_a, model_b, winner) or score matrices (.json/.jsonl/.csv)",
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="directory for the index")
    parser.add_argument("--embedder", default="minilm-l3", help="registered embedder name (default: minilm-l3)")
    parser.add_argument(
        "--embedder-kwargs",
        default='{"head_tokens": 32}',
        help='JSON keyword arguments of the embedder (default: {"head_tokens": 32})',
    )
    parser.add_argument("--num-tiers", type=int, default=DEFAULT_NUM_TIERS, help="model tiers (default 10, as RouteLLM)")
    parser.add_argument(
        "--labels",
        choices=("hard", "soft"),
        default="hard",
        help="score matrices as battles: 'hard' (the better-scored model wins, equal scores tie; default) "
        "or 'soft' (a fractional win (s_a - s_b + 1) / 2)",
    )
    parser.add_argument(
        "--dim", type=int, default=0, help="keep the top DIM principal directions of the prompt embeddings (0: all)"
    )
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="storage of the embeddings")
    parser.add_argument(
        "--sharpness",
        type=float,
        default=1.0,
        help="weight of a prompt at cosine s: 10 ** (sharpness * (max(s, min_similarity) - 1)) (default 1)",
    )
    parser.add_argument(
        "--min-similarity",
        type=float,
        default=-1.0,
        help="every battle weighs at least as much as one at this similarity (default -1: no minimum)",
    )
    parser.add_argument("--ridge", type=float, default=1e-9, help="L2 penalty on a query's tier ratings")
    parser.add_argument(
        "--length-scale",
        type=float,
        default=0.0,
        help="similarity minus length_scale * |ln(1 + chars) difference| (default 0: cosine only)",
    )
    parser.add_argument(
        "--relative-to-max", action="store_true", help="weigh by s / max s over the index, as RouteLLM (default: s itself)"
    )
    parser.add_argument(
        "--same-tier",
        choices=("routellm", "ignore"),
        default="routellm",
        help="battles between two models of one tier: counted as RouteLLM's design matrix counts them "
        "(a game against a fixed player; default) or ignored",
    )
    parser.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="NAME is MODEL: merged in the training data and accepted when routing (repeatable)",
    )
    parser.add_argument("--default-strong", default=None, help="default strong model stored in the index")
    parser.add_argument("--default-weak", default=None, help="default weak model stored in the index")
    parser.add_argument(
        "--eval-data-dir",
        default=None,
        help="RouteLLM evaluation data to decontaminate against (default: $ROUTELLM_DATA_DIR or the "
        "user data dir); registered benchmarks are always used",
    )
    parser.add_argument("--cosine-threshold", type=float, default=0.95)
    parser.add_argument("--no-decontaminate", action="store_true", help="skip decontamination (not for shipped indexes)")
    parser.add_argument(
        "--data-root", default=None, help="directory the --data paths are recorded relative to (default: their common parent)"
    )
    parser.add_argument(
        "--report-texts",
        action="store_true",
        help="write dropped prompts' texts into the decontamination report (default: sha256 digests only)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")


def _aliases(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, model = item.partition("=")
        if not sep or not name or not model:
            raise ConfigError(f"--alias wants NAME=MODEL, got {item!r}")
        out[name] = model
    return out


def merge_models(
    models: list[str], a: np.ndarray, b: np.ndarray, aliases: dict[str, str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Model list and battle indices with every aliased name replaced by its model (first-seen order kept)."""
    names = [aliases.get(m, m) for m in models]
    merged = list(dict.fromkeys(names))
    remap = np.asarray([merged.index(n) for n in names], np.int64)
    return merged, remap[a], remap[b]


def run(args: argparse.Namespace) -> int:
    from routellm_core.decontamination import collect_eval_prompts, decontaminate
    from routellm_core.embedders import EmbeddingCache, get_embedder
    from routellm_core.paths import find_data_dir
    from routellm_core.training_data import load_files

    started = time.time()
    quiet = bool(getattr(args, "quiet", False))
    log = (lambda *a, **k: None) if quiet else (lambda *a, **k: print(*a, **k, file=sys.stderr, flush=True))
    paths = [Path(p) for p in args.data]
    for p in paths:
        if not p.is_file():
            raise TrainingDataError(f"no such file: {p}")
    try:
        kwargs = json.loads(args.embedder_kwargs) if args.embedder_kwargs else {}
        if not isinstance(kwargs, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise ConfigError(f"--embedder-kwargs: {exc}") from None
    if args.num_tiers < 2:
        raise ConfigError(f"--num-tiers must be >= 2, got {args.num_tiers}")
    for name, low in (("sharpness", 0.0), ("ridge", 0.0), ("min_similarity", -1.0), ("length_scale", 0.0)):
        if not np.isfinite(getattr(args, name)) or getattr(args, name) < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be a finite number >= {low:g}")
    aliases = _aliases(args.alias)
    root = Path(args.data_root) if args.data_root else Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    sources = [
        str(p.resolve().relative_to(root.resolve())) if p.resolve().is_relative_to(root.resolve()) else p.name for p in paths
    ]
    data = load_files(paths, sources)
    log(f"read {len(data.prompts)} prompts, {len(data)} battles, {len(data.models)} models from {len(paths)} files")
    if len(data) == 0:
        raise TrainingDataError("no battles in the data")
    embedder = get_embedder(args.embedder, **kwargs)
    cache = EmbeddingCache(embedder)
    emb = cache.embed(data.prompts, progress=not quiet)

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    report_json: dict[str, Any] = {"skipped": True}
    if not args.no_decontaminate:
        eval_dir = Path(args.eval_data_dir) if args.eval_data_dir else find_data_dir("mmlu")
        evals = collect_eval_prompts(eval_dir)
        for name, why in evals.skipped.items():
            print(f"routellm train sw_ranking: warning: not decontaminating against benchmark {name!r}: {why}", file=sys.stderr)
        if not evals:
            raise ConfigError(
                "no evaluation prompts to decontaminate against (give --eval-data-dir, set "
                "ROUTELLM_DATA_DIR, or pass --no-decontaminate)"
            )
        n_before = len(data.prompts)
        data, emb, report = decontaminate(
            data,
            emb,
            evals,
            lambda texts: cache.embed(texts, progress=not quiet),
            threshold=args.cosine_threshold,
            texts=args.report_texts,
        )
        log(f"decontamination: dropped {report.dropped_count} of {n_before} training prompts")
        report_json = report.write(out)
    pi, a, b, label = data.arrays()
    models, a, b = merge_models(data.models, a, b, aliases)
    for model in [args.default_strong, args.default_weak, *aliases.values()]:
        if model is not None and model not in models:
            raise ConfigError(f"{model!r} is not a trained model; known: {', '.join(models)}")
    weighting = Weighting(
        sharpness=args.sharpness,
        min_similarity=args.min_similarity,
        ridge=args.ridge,
        relative_to_max=args.relative_to_max,
        same_tier=args.same_tier,
        length_scale=args.length_scale,
    )
    index = build_index(
        emb,
        pi,
        a,
        b,
        label,
        models,
        num_tiers=args.num_tiers,
        labels=args.labels,
        dim=args.dim or None,
        weighting=weighting,
        embedder={"name": args.embedder, "kwargs": kwargs},
        default_strong=args.default_strong,
        default_weak=args.default_weak,
        aliases=aliases,
        prompts=data.prompts,
    )
    if (
        args.default_strong
        and args.default_weak
        and index.tier_of(models.index(args.default_strong)) == index.tier_of(models.index(args.default_weak))
    ):
        raise ConfigError(
            f"{args.default_strong!r} and {args.default_weak!r} fall in the same tier; the default pair "
            "would score 0.5 for every prompt"
        )
    index.save(out, dtype=args.dtype)
    files = [{"path": src, "sha256": sha256_file(p), "bytes": p.stat().st_size} for src, p in zip(sources, paths, strict=True)]
    summary = {
        "command": "routellm train sw_ranking " + " ".join(_argv_for_summary(args)),
        "files": files,
        "data": data.summary(),
        "decontamination": {k: v for k, v in report_json.items() if k != "items"},
        "embedder": embedder.describe(),
        "index": {
            "prompts": len(index.embeddings),
            "dimension": int(index.embeddings.shape[1]),
            "input_dimension": index.input_dim,
            "dtype": args.dtype,
            "num_tiers": index.num_tiers,
            "labels": args.labels,
            "weighting": weighting.as_dict(),
            "tiers": _tier_listing(index),
            "bytes": sum(f.stat().st_size for f in out.glob("index.safetensors")),
        },
        "index_sha256": index.digest(),
        "seconds": round(time.time() - started, 1),
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    _write_data_card(out, summary)
    log(
        f"saved {out} ({len(index.embeddings)} prompts, {len(models)} models in"
        f" {index.num_tiers} tiers) in {summary['seconds']} s"
    )
    return 0


def _tier_listing(index: SWIndex) -> list[list[str]]:
    """Models of each tier, best tier first, each sorted by descending global rating."""
    tiers: list[list[str]] = [[] for _ in range(index.num_tiers)]
    for i in np.argsort(-index.model_ratings, kind="stable"):
        if index.model_tiers[i] >= 0:
            tiers[int(index.model_tiers[i])].append(f"{index.models[i]} ({index.model_ratings[i]:.0f})")
    return tiers


def _argv_for_summary(args: argparse.Namespace) -> list[str]:
    parts = ["--data", *args.data, "--output", str(args.output)]
    for name in (
        "embedder",
        "embedder_kwargs",
        "num_tiers",
        "labels",
        "dim",
        "dtype",
        "sharpness",
        "min_similarity",
        "ridge",
        "same_tier",
        "length_scale",
        "default_strong",
        "default_weak",
        "cosine_threshold",
    ):
        value = getattr(args, name)
        if value is not None:
            parts += [f"--{name.replace('_', '-')}", json.dumps(value) if isinstance(value, str) and " " in value else str(value)]
    if args.relative_to_max:
        parts.append("--relative-to-max")
    for alias in args.alias:
        parts += ["--alias", alias]
    return parts


def _write_data_card(out: Path, summary: dict[str, Any]) -> None:
    d = summary["data"]
    lines = [
        "# Training data (generated by `routellm train sw_ranking`)",
        "",
        "| file | kind | prompts | battles | sha256 |",
        "|---|---|---|---|---|",
    ]
    stats = {s["source"]: s for s in d["files"]}
    for f in summary["files"]:
        s = stats.get(f["path"], {})
        lines.append(
            f"| `{f['path']}` | {s.get('kind', '?')} | {s.get('prompts', '?')} |"
            f" {s.get('comparisons', '?')} | `{f['sha256'][:16]}…` |"
        )
    lines += [
        "",
        "## After decontamination",
        "",
        f"{d['prompts']} prompts, {d['comparisons']} battles ({d['ties']} ties), {len(d['models'])} model names.",
        "",
        f"Decontamination: {json.dumps(summary['decontamination'])}",
        "",
        "## Tiers (global Elo)",
        "",
    ]
    lines += [f"{i}. " + ", ".join(t) for i, t in enumerate(summary["index"]["tiers"])]
    lines += ["", "## Command", "", f"```\n{summary['command']}\n```", ""]
    (out / "TRAINING_DATA.md").write_text("\n".join(lines))
