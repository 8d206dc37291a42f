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

import numpy as np

from routellm_core.plugin_api import (
    ConfigError,
    add_data_arguments,
    check_minimums,
    command_line,
    parse_pairs,
    prepare,
    write_summary,
)

from .index import DEFAULT_NUM_TIERS, SWIndex, Weighting, build_index


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
    prepared = prepare(args, "routellm train sw_ranking")
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
    command = command_line("routellm train sw_ranking", args, SUMMARY_OPTIONS, flags=("relative_to_max",), repeated=("alias",))
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
    summary = write_summary(
        prepared,
        command,
        {"index": index_fields, "index_sha256": index.digest()},
        unit="battles",
        sections=[("Tiers (global Elo)", [f"{i}. " + ", ".join(t) for i, t in enumerate(tiers)])],
    )
    prepared.log(
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
    "cosine_threshold",
)
