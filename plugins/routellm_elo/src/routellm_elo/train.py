"""``routellm train sw_ranking``: build a sw_ranking index from battles and score matrices.

Pipeline: read files (:mod:`routellm_core.training_data`: Arena battles, JSON/JSONL/CSV score matrices,
each prompt of a score matrix giving one battle per pair of its models) -> merge model names given
by ``--alias`` -> embed prompts (on-disk cache) -> decontaminate against every evaluation benchmark
(:mod:`routellm_core.decontamination`) -> global Elo, tiers, per-prompt tier win tables
(:func:`routellm_elo.index.build_index`) -> ``config.json`` + ``index.safetensors``, with
``training_summary.json``, ``DECONTAMINATION.md`` / ``decontamination.json`` and ``TRAINING_DATA.md``
beside them. Nothing is random: the same files and options give the same index.

``--n-model`` also keeps each prompt's raw score of every model scored on it, so the index predicts a quality
per model (``--quality-method``, see :class:`routellm_elo.index.QualitySettings`). ``--exclude-eval FILE ...``
removes the prompts of further evaluation files (e.g. N-model benchmarks that no registered benchmark
covers) by the same rule as the decontamination (exact after normalisation, or cosine >= the threshold),
reported in ``DECONTAMINATION_EXTRA.md`` / ``decontamination_extra.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from routellm_core.plugin_api import (
    ConfigError,
    EvalPrompts,
    TrainingDataError,
    add_data_arguments,
    check_minimums,
    command_line,
    decontaminate,
    load_files,
    parse_pairs,
    prepare,
    write_summary,
)

from .index import DEFAULT_NUM_TIERS, QUALITY_METHODS, QualitySettings, SWIndex, Weighting, build_index

#: the N-model quality settings chosen by validation on training data (bench/elo_nmodel_cv.py)
N_MODEL_DEFAULTS = QualitySettings(method="neighbours", sharpness=5.0, min_similarity=-1.0, prior=0.03)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, output_help="directory for the index")
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
        "--n-model",
        action="store_true",
        help="an N-model index: also keep each prompt's score of every model, to predict a quality per model",
    )
    parser.add_argument(
        "--quality-method",
        choices=QUALITY_METHODS,
        default=None,
        help=f"how quality per model is predicted (N-model; default {N_MODEL_DEFAULTS.method}): the similarity-weighted "
        "mean of each model's scores on the nearest prompts, or its expected Elo win rate against the other models",
    )
    parser.add_argument(
        "--quality-sharpness",
        type=float,
        default=None,
        help=f"weighting of the neighbours for quality (N-model; default {N_MODEL_DEFAULTS.sharpness:g})",
    )
    parser.add_argument(
        "--quality-min-similarity",
        type=float,
        default=None,
        help=f"similarity floor of the neighbours for quality (N-model; default {N_MODEL_DEFAULTS.min_similarity:g})",
    )
    parser.add_argument(
        "--quality-prior",
        type=float,
        default=None,
        help="weight of each model's mean score, in identical prompts, in its predicted quality "
        f"(N-model; default {N_MODEL_DEFAULTS.prior:g})",
    )
    parser.add_argument(
        "--exclude-eval",
        nargs="+",
        default=[],
        metavar="FILE",
        help="evaluation files (score matrices or battles) whose prompts, and near-duplicates of them, are removed "
        "from the training data as decontamination removes the benchmarks' (e.g. N-model evaluation sets)",
    )


def merge_models(
    models: list[str], a: np.ndarray, b: np.ndarray, aliases: dict[str, str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Model list and battle indices with every aliased name replaced by its model (first-seen order kept)."""
    names = [aliases.get(m, m) for m in models]
    merged = list(dict.fromkeys(names))
    remap = np.asarray([merged.index(n) for n in names], np.int64)
    return merged, remap[a], remap[b]


def run(args: argparse.Namespace) -> int:
    if args.num_tiers < 2:
        raise ConfigError(f"--num-tiers must be >= 2, got {args.num_tiers}")
    check_minimums(args, {"sharpness": 0.0, "ridge": 0.0, "min_similarity": -1.0, "length_scale": 0.0})
    aliases = dict(parse_pairs(args.alias, "=", "--alias", "NAME=MODEL"))
    quality = quality_settings(args)
    prepared = prepare(args, "routellm train sw_ranking")
    excluded: dict[str, Any] = {}
    if args.exclude_eval:
        prepared, excluded = exclude_eval(prepared, args)
    data, emb, out = prepared.data, prepared.embeddings, prepared.out
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
        embedder=prepared.embedder_spec,
        default_strong=args.default_strong,
        default_weak=args.default_weak,
        aliases=aliases,
        prompts=data.prompts,
        scores=score_matrix(data.scores, models, aliases) if quality is not None else None,
        quality=quality,
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
    tiers = _tier_listing(index)
    command = command_line(
        "routellm train sw_ranking", args, SUMMARY_OPTIONS, flags=("relative_to_max", "n_model"), repeated=("alias",)
    )
    if args.exclude_eval:
        command += " --exclude-eval " + " ".join(str(f) for f in args.exclude_eval)
    index_fields = {
        "prompts": len(index.embeddings),
        "dimension": int(index.embeddings.shape[1]),
        "input_dimension": index.input_dim,
        "dtype": args.dtype,
        "num_tiers": index.num_tiers,
        "labels": args.labels,
        "weighting": weighting.as_dict(),
        "tiers": tiers,
        "bytes": sum(f.stat().st_size for f in out.glob("index.safetensors")),
    }
    if quality is not None:
        index_fields["quality"] = {**quality.as_dict(), "models": [index.models[j] for j in index.quality_model_ids()]}
    summary = write_summary(
        prepared,
        command,
        {"index": index_fields, "index_sha256": index.digest(), **({"excluded_evaluation": excluded} if excluded else {})},
        unit="battles",
        sections=[("Tiers (global Elo)", [f"{i}. " + ", ".join(t) for i, t in enumerate(tiers)])],
    )
    prepared.log(
        f"saved {out} ({len(index.embeddings)} prompts, {len(models)} models in"
        f" {index.num_tiers} tiers) in {summary['seconds']} s"
    )
    return 0


def quality_settings(args: argparse.Namespace) -> QualitySettings | None:
    """The N-model quality settings of the command line (None without ``--n-model``)."""
    given = {
        "method": args.quality_method,
        "sharpness": args.quality_sharpness,
        "min_similarity": args.quality_min_similarity,
        "prior": args.quality_prior,
    }
    if not args.n_model:
        set_flags = [f"--quality-{k.replace('_', '-')}" for k, v in given.items() if v is not None]
        if set_flags:
            raise ConfigError(f"{', '.join(set_flags)} applies to an N-model index: add --n-model")
        return None
    try:
        return dataclasses.replace(N_MODEL_DEFAULTS, **{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise ConfigError(f"--n-model: {exc}") from None


def score_matrix(scores: list[dict[str, float]], models: list[str], aliases: dict[str, str]) -> np.ndarray:
    """``(P, M)`` each prompt's raw score of each model (aliases merged), NaN where the prompt has none."""
    ids = {m: j for j, m in enumerate(models)}
    out = np.full((len(scores), len(models)), np.nan, np.float32)
    for i, row in enumerate(scores):
        for name, value in row.items():
            out[i, ids[aliases.get(name, name)]] = value
    return out


def exclude_eval(prepared: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The prepared data without the prompts of ``--exclude-eval`` files (and their near-duplicates); the
    report goes to ``DECONTAMINATION_EXTRA.md`` / ``decontamination_extra.json`` in the output directory."""
    paths = [Path(p) for p in args.exclude_eval]
    for p in paths:
        if not p.is_file():
            raise TrainingDataError(f"--exclude-eval: no such file: {p}")
    names = [f"{p.parent.name}/{p.name}" for p in paths]
    evals = load_files(paths, names)
    sets: dict[str, list[str]] = {}
    for prompt, source in zip(evals.prompts, evals.sources, strict=True):
        sets.setdefault(source, []).append(prompt)
    n_before = len(prepared.data.prompts)
    data, emb, report = decontaminate(
        prepared.data,
        prepared.embeddings,
        EvalPrompts(sets=sets),
        lambda texts: prepared.cache.embed(texts, progress=prepared.progress),
        threshold=args.cosine_threshold,
        texts=args.report_texts,
    )
    prepared.log(f"evaluation files: dropped {report.dropped_count} of {n_before} training prompts")
    report_json = report.to_json()
    (prepared.out / "DECONTAMINATION_EXTRA.md").write_text(
        report.markdown().replace("# Decontamination report", "# Decontamination report: --exclude-eval files", 1)
    )
    (prepared.out / "decontamination_extra.json").write_text(json.dumps(report_json, indent=1) + "\n")
    counts = {k: v for k, v in report_json.items() if k != "items"}
    return dataclasses.replace(prepared, data=data, embeddings=emb), counts


def _tier_listing(index: SWIndex) -> list[list[str]]:
    """Models of each tier, best tier first, each sorted by descending global rating."""
    tiers: list[list[str]] = [[] for _ in range(index.num_tiers)]
    for i in np.argsort(-index.model_ratings, kind="stable"):
        if index.model_tiers[i] >= 0:
            tiers[int(index.model_tiers[i])].append(f"{index.models[i]} ({index.model_ratings[i]:.0f})")
    return tiers


#: options recorded in the reproducing command, in this order
SUMMARY_OPTIONS = (
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
    "quality_method",
    "quality_sharpness",
    "quality_min_similarity",
    "quality_prior",
    "cosine_threshold",
)
