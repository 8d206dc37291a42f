"""What every ``routellm train <router>`` shares: the data flags, reading and embedding the files,
decontamination, and the ``training_summary.json`` / ``TRAINING_DATA.md`` written beside the result.

A trainer calls :func:`add_data_arguments` from its ``add_arguments``, :func:`prepare` at the start
of its ``run`` and :func:`write_summary` at the end; everything between is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import ConfigError
from .hashing import sha256_file
from .training_data import Comparisons, TrainingDataError

if TYPE_CHECKING:
    import numpy as np

    from .embedders import Embedder, EmbeddingCache


def add_data_arguments(
    parser: argparse.ArgumentParser,
    *,
    output_help: str = "directory for the checkpoint",
    embedder: str = "minilm-l3",
    embedder_kwargs: str = '{"head_tokens": 32}',
) -> None:
    """The flags every trainer shares: data files, output, embedder, decontamination, data card, quiet."""
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="FILE",
        help="training files: battles (model_a, model_b, winner) or score matrices (.json/.jsonl/.csv)",
    )
    parser.add_argument("--output", required=True, metavar="DIR", help=output_help)
    parser.add_argument("--embedder", default=embedder, help=f"registered embedder name (default: {embedder})")
    parser.add_argument(
        "--embedder-kwargs",
        default=embedder_kwargs,
        help=f"JSON keyword arguments of the embedder (default: {embedder_kwargs}; head_tokens 32: of texts longer "
        "than 128 word pieces, the first 32 and the last 94, where few-shot and long prompts put the question)",
    )
    parser.add_argument(
        "--eval-data-dir",
        default=None,
        help="RouteLLM evaluation data to decontaminate against (default: $ROUTELLM_DATA_DIR, then the "
        "user cache's data directory, when they hold it); registered benchmarks are always used",
    )
    parser.add_argument("--cosine-threshold", type=float, default=0.95)
    parser.add_argument("--no-decontaminate", action="store_true", help="skip decontamination (not for shipped artefacts)")
    parser.add_argument(
        "--data-root",
        default=None,
        help="directory the --data paths are recorded relative to in the data card (default: common parent)",
    )
    parser.add_argument(
        "--report-texts",
        action="store_true",
        help="write the dropped prompts' texts into the decontamination report (default: sha256 digests "
        "and indices only, so the report can ship without copying the data)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")


@dataclass
class PreparedData:
    """Training data after reading, embedding and decontamination, with what the summary records."""

    data: Comparisons
    embeddings: np.ndarray
    embedder: Embedder
    embedder_spec: dict[str, Any]
    cache: EmbeddingCache
    out: Path
    files: list[dict[str, Any]]
    decontamination: dict[str, Any]
    log: Callable[..., None]
    progress: bool
    started: float


def parse_pairs(items: Iterable[str], sep: str, flag: str, want: str) -> list[tuple[str, str]]:
    """``LEFT<sep>RIGHT`` command-line values as pairs; a ConfigError naming ``flag`` and the ``want``-ed form otherwise."""
    out = []
    for item in items:
        left, found, right = item.partition(sep)
        if not found or not left or not right:
            raise ConfigError(f"{flag} wants {want}, got {item!r}")
        out.append((left, right))
    return out


def check_minimums(args: argparse.Namespace, minimums: dict[str, float]) -> None:
    """ConfigError naming the flag unless each ``args.<name>`` is a finite number ``>= minimums[name]``."""
    for name, low in minimums.items():
        value = getattr(args, name)
        if not math.isfinite(value) or value < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be a finite number >= {low:g}, got {value}")


def parse_json_object(text: str | None, flag: str) -> dict[str, Any]:
    """A JSON object given on the command line (empty: ``{}``); ConfigError naming ``flag`` otherwise."""
    try:
        value = json.loads(text) if text else {}
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None
    return value


def prepare(args: argparse.Namespace, command: str, *, tier_pairs: bool = False) -> PreparedData:
    """Read ``args.data``, embed the prompts (on-disk cache) and decontaminate them unless ``--no-decontaminate``.

    ``command`` (e.g. ``"routellm train mf"``) prefixes warnings. The decontamination report is written
    into ``args.output``, which is created.
    """
    from .decontamination import collect_eval_prompts, decontaminate
    from .embedders import EmbeddingCache
    from .lookups import get_embedder
    from .paths import find_data_dir
    from .training_data import load_files

    started = time.time()
    quiet = bool(getattr(args, "quiet", False))
    log: Callable[..., None] = (lambda *a, **k: None) if quiet else (lambda *a, **k: print(*a, **k, file=sys.stderr, flush=True))
    paths = [Path(p) for p in args.data]
    for p in paths:
        if not p.is_file():
            raise TrainingDataError(f"no such file: {p}")
    kwargs = parse_json_object(args.embedder_kwargs, "--embedder-kwargs")
    root = Path(args.data_root) if args.data_root else Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    sources = [
        str(p.resolve().relative_to(root.resolve())) if p.resolve().is_relative_to(root.resolve()) else p.name for p in paths
    ]
    data = load_files(paths, sources, tier_pairs=tier_pairs)
    log(f"read {len(data.prompts)} prompts, {len(data)} comparisons, {len(data.models)} models from {len(paths)} files")
    if len(data) == 0:
        raise TrainingDataError("no comparisons in the data")
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
            print(f"{command}: warning: not decontaminating against benchmark {name!r}: {why}", file=sys.stderr)
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
    files = [{"path": src, "sha256": sha256_file(p), "bytes": p.stat().st_size} for src, p in zip(sources, paths, strict=True)]
    return PreparedData(
        data=data,
        embeddings=emb,
        embedder=embedder,
        embedder_spec={"name": args.embedder, "kwargs": kwargs},
        cache=cache,
        out=out,
        files=files,
        decontamination={k: v for k, v in report_json.items() if k != "items"},
        log=log,
        progress=not quiet,
        started=started,
    )


def command_line(
    command: str, args: argparse.Namespace, options: Iterable[str], flags: Iterable[str] = (), repeated: Iterable[str] = ()
) -> str:
    """The command that reproduces a run: ``--data``/``--output``, the data arguments of
    :func:`add_data_arguments` that change what is recorded or dropped (``--data-root``, ``--eval-data-dir``,
    ``--no-decontaminate``), then ``options`` that are set, ``flags`` that are true and every value of the
    ``repeated`` (append) options, in that order."""
    parts = [command, "--data", *args.data, "--output", str(args.output)]
    options, flags = list(options), list(flags)
    for name in ("data_root", "eval_data_dir"):
        if name not in options and getattr(args, name, None) is not None:
            parts += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    if "no_decontaminate" not in flags and getattr(args, "no_decontaminate", False):
        parts.append("--no-decontaminate")
    for name in options:
        value = getattr(args, name)
        if value is not None:
            parts += [f"--{name.replace('_', '-')}", json.dumps(value) if isinstance(value, str) and " " in value else str(value)]
    parts += [f"--{name.replace('_', '-')}" for name in flags if getattr(args, name)]
    for name in repeated:
        for value in getattr(args, name) or ():
            parts += [f"--{name.replace('_', '-')}", value]
    return " ".join(parts)


def write_summary(
    prepared: PreparedData,
    command: str,
    fields: dict[str, Any],
    *,
    unit: str = "comparisons",
    sections: Iterable[tuple[str, list[str]]] = (),
) -> dict[str, Any]:
    """Write ``training_summary.json`` and ``TRAINING_DATA.md`` into the output directory; returns the summary.

    The summary holds the command, the files with their digests, the data counts, the decontamination
    counts, the embedder, then ``fields`` and the seconds since :func:`prepare`. ``sections`` are extra
    ``(heading, lines)`` of the Markdown card, placed before the command.
    """
    summary: dict[str, Any] = {
        "command": command,
        "files": prepared.files,
        "data": prepared.data.summary(),
        "decontamination": prepared.decontamination,
        "embedder": prepared.embedder.describe(),
        **fields,
        "seconds": round(time.time() - prepared.started, 1),
    }
    out = prepared.out
    (out / "training_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    d = summary["data"]
    lines = [
        f"# Training data (generated by `{command.split(' --', 1)[0]}`)",
        "",
        "## Training files",
        "",
        f"| file | kind | prompts | {unit} | sha256 |",
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
        f"{d['prompts']} prompts, {d['comparisons']} {unit} ({d['ties']} ties), {len(d['models'])} models.",
        "",
        f"Decontamination: {json.dumps(summary['decontamination'])}",
        "",
    ]
    for heading, body in sections:
        lines += [f"## {heading}", "", *body, ""]
    lines += ["## Command", "", f"```\n{command}\n```", ""]
    (out / "TRAINING_DATA.md").write_text("\n".join(lines))
    return summary
