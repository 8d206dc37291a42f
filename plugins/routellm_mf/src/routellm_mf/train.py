"""``routellm train mf``: fit an MF router on battles / score matrices.

Pipeline: read files -> pairwise comparisons -> embed prompts (on-disk cache) ->
decontaminate against every evaluation benchmark -> split prompts into train /
validation -> train ``--members`` models with seeds ``seed, seed+1, ...`` (AdamW,
soft-label BCE, early stopping on validation loss) -> save the ensemble as one
checkpoint with ``training_summary.json``, ``decontamination.json`` /
``DECONTAMINATION.md`` and the generated data card ``TRAINING_DATA.md`` beside it.

Reading the data and decontamination are the core's (:mod:`routellm_core.training_data`,
:mod:`routellm_core.decontamination`); ``--decontaminate-against`` adds held-out evaluation files
(:mod:`routellm_mf.heldout`). ``--quality`` trains a quality head for N-model routing instead of the
pairwise model (:mod:`routellm_mf.quality`). Errors are raised as ``RoutellmError`` subclasses;
the ``routellm`` command turns them into a message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from routellm_core.plugin_api import (
    Comparisons,
    ConfigError,
    MissingDependencyError,
    add_data_arguments,
    check_minimums,
    command_line,
    parse_pairs,
    prepare,
    progress_iter,
    write_summary,
)

from .checkpoint import TRAIN_EXTRA, MFCheckpoint, prompt_features
from .quality import WEIGHTINGS

if TYPE_CHECKING:
    import torch

DEFAULT_FEATURES = ("log_chars", "bias")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--dim", type=int, default=8, help="model/text embedding dimension (default 8: capacity control)")
    parser.add_argument(
        "--features",
        default=",".join(DEFAULT_FEATURES),
        help="extra prompt features fed to the text projection, comma-separated (log_chars, log_words, bias; '' for none)",
    )
    parser.add_argument("--members", type=int, default=8, help="ensemble size: models trained with seeds seed..seed+members-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs per member")
    parser.add_argument("--patience", type=int, default=3, help="early stopping: epochs without validation improvement")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument(
        "--embedding-weight-decay",
        type=float,
        default=1.0,
        help="AdamW weight decay of the text projection's prompt-embedding columns (default 1.0: frozen "
        "sentence embeddings transfer poorly across tasks, so they are shrunk harder than the rest)",
    )
    parser.add_argument(
        "--tier-pairs",
        action="store_true",
        help="add virtual models tier:strong (each score file's best model) and tier:weak (its median "
        "model), compared on every prompt of every score matrix",
    )
    parser.add_argument(
        "--default-pair",
        action="append",
        default=[],
        metavar="STRONG,WEAK",
        help="default pair(s) stored in the checkpoint; several are averaged (repeatable; "
        "default: --default-strong,--default-weak)",
    )
    parser.add_argument(
        "--task-effects",
        action="store_true",
        help="train with a bias per (model, task) (file / eval_name / cluster_id) so the text part learns "
        "within-task difficulty; the biases are not saved",
    )
    parser.add_argument("--val-fraction", type=float, default=0.1, help="fraction of prompts held out for validation")
    parser.add_argument(
        "--default-strong",
        default=None,
        help="default strong model id stored in the checkpoint (--quality: default the model with the highest mean score)",
    )
    parser.add_argument(
        "--default-weak",
        default=None,
        help="default weak model id stored in the checkpoint (--quality: default the model with the lowest mean score)",
    )
    parser.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="DEPLOYMENT=MODEL",
        help="deployment name -> trained model id, stored in the checkpoint (repeatable)",
    )
    parser.add_argument(
        "--quality",
        action="store_true",
        help="N-model routing: train a quality head (each model's expected score per prompt; pointwise BCE on "
        "every score-matrix cell, the score as a soft label) instead of pairwise comparisons",
    )
    parser.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        default=None,
        help="--quality: weight of the score-matrix cells in the loss (cell: each score once; prompt: each prompt "
        "one unit; source: each file one unit)",
    )
    parser.add_argument(
        "--decontaminate-against",
        nargs="+",
        default=[],
        metavar="FILE",
        help="held-out evaluation files (score matrices, e.g. N-model test sets) whose prompts are removed from the "
        "training data too: equal after normalisation, or asking the same question (cosine of the questions >= "
        "--cosine-threshold, or its words in order; see routellm_mf.heldout); recorded in the decontamination report",
    )


def _require_torch() -> None:
    """Fail with the extra to install when torch is missing (``run`` calls it before reading data and embedding)."""
    try:
        importlib.import_module("torch")
    except ImportError:
        raise MissingDependencyError("torch", "training an MF router", TRAIN_EXTRA) from None


@contextmanager
def _deterministic_algorithms() -> Iterator[None]:
    """torch's deterministic algorithms on (bit-reproducible scatter-adds across runs), restored afterwards."""
    _require_torch()
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)


def split_prompts(n: int, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask: True = validation prompt."""
    rng = np.random.default_rng(seed)
    val = np.zeros(n, bool)
    k = int(round(n * val_fraction))
    if k:
        val[rng.choice(n, size=k, replace=False)] = True
    return val


def fit_member(
    Z: np.ndarray,
    pi: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    val_prompt: np.ndarray,
    n_models: int,
    *,
    dim: int,
    seed: int,
    epochs: int,
    patience: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    progress: bool = True,
    log: Callable[[str], object] = print,
    groups: np.ndarray | None = None,
    n_features: int = 0,
    embedding_weight_decay: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train one MF model on comparisons; early stopping on the validation prompts' comparisons.

    ``groups`` (one integer per prompt: its task) adds task fixed effects: a bias per (model, task)
    that absorbs how good each model is on each task as a whole, so that the text-dependent part
    learns what makes a prompt hard *within* a task (what routing inside one workload needs).
    The biases are used in training only; they are not part of the checkpoint.

    Batches are groups of prompts (``batch_size`` comparisons on average): each prompt is projected
    once per step and all its comparisons are scored from that projection.
    """
    _require_torch()
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Zt = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))
    order = np.argsort(pi, kind="stable")
    pi, a, b, y = pi[order], a[order], b[order], y[order]
    n_prompts = len(val_prompt)
    starts = np.searchsorted(pi, np.arange(n_prompts + 1))
    counts = np.diff(starts)
    train_prompts = np.nonzero(~val_prompt & (counts > 0))[0]
    val_prompts = np.nonzero(val_prompt & (counts > 0))[0]
    per_prompt = max(1.0, float(counts[train_prompts].mean())) if len(train_prompts) else 1.0
    prompts_per_step = max(1, int(batch_size / per_prompt))
    t_a, t_b, t_y = (torch.from_numpy(x) for x in (a, b, y))
    t_pi = torch.from_numpy(pi)
    P = torch.nn.Parameter(torch.randn(n_models, dim, generator=gen) * 0.1)
    W0 = torch.randn(dim, Z.shape[1], generator=gen) / np.sqrt(Z.shape[1])
    n_emb = Z.shape[1] - n_features
    W_emb = torch.nn.Parameter(W0[:, :n_emb].clone())  # columns of the prompt embedding
    W_feat = torch.nn.Parameter(W0[:, n_emb:].clone())  # columns of the extra features
    c = torch.nn.Parameter(torch.randn(dim, generator=gen) / np.sqrt(dim))
    params = [P, W_emb, W_feat, c]
    emb_wd = weight_decay if embedding_weight_decay is None else embedding_weight_decay
    param_groups = [{"params": [P, W_feat, c], "weight_decay": weight_decay}, {"params": [W_emb], "weight_decay": emb_wd}]
    g_t = None
    if groups is not None:
        g_t = torch.from_numpy(np.asarray(groups, np.int64))
        beta = torch.nn.Parameter(torch.zeros(n_models, int(g_t.max()) + 1))
        param_groups.append({"params": [beta], "weight_decay": 0.0})
    opt = torch.optim.AdamW(param_groups, lr=lr)

    def comparisons_of(prompts: np.ndarray) -> np.ndarray:
        return np.concatenate([np.arange(starts[p], starts[p + 1]) for p in prompts]) if len(prompts) else np.zeros(0, np.int64)

    def loss_of(prompts: np.ndarray, reduction: str = "mean") -> tuple[torch.Tensor, int]:
        idx = torch.from_numpy(comparisons_of(prompts))
        local = torch.full((n_prompts,), -1, dtype=torch.long)
        local[torch.from_numpy(prompts)] = torch.arange(len(prompts))
        W = torch.cat([W_emb, W_feat], dim=1)
        u = Zt[torch.from_numpy(prompts)] @ W.T  # (prompts, dim)
        Pn = torch.nn.functional.normalize(P, dim=1)
        logit = ((Pn[t_a[idx]] - Pn[t_b[idx]]) * u[local[t_pi[idx]]]) @ c
        if g_t is not None:
            g = g_t[t_pi[idx]]
            logit = logit + beta[t_a[idx], g] - beta[t_b[idx], g]
        return torch.nn.functional.binary_cross_entropy_with_logits(logit, t_y[idx], reduction=reduction), len(idx)

    def val_loss() -> float:
        if len(val_prompts) == 0:
            return float("nan")
        with torch.no_grad():
            total, n = 0.0, 0
            for s in range(0, len(val_prompts), 2048):
                part, k = loss_of(val_prompts[s : s + 2048], "sum")
                total, n = total + float(part), n + k
            return total / max(n, 1)

    best = (float("inf"), [p.detach().clone() for p in params], 0)
    history = []
    bad = 0
    for epoch in range(1, epochs + 1):
        perm = train_prompts[torch.randperm(len(train_prompts), generator=gen).numpy()]
        total, seen = 0.0, 0
        steps = range(0, len(perm), prompts_per_step)
        for s in progress_iter(steps, len(steps), f"seed {seed} epoch {epoch}", enabled=progress):
            loss, k = loss_of(perm[s : s + prompts_per_step])
            opt.zero_grad()
            torch.autograd.backward(loss)  # loss.backward(), whose signature torch leaves unannotated
            opt.step()
            total, seen = total + float(loss.detach()) * k, seen + k
        vl = val_loss()
        history.append({"epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": vl})
        log(f"  seed {seed} epoch {epoch}: train loss {total / max(seen, 1):.5f}  validation loss {vl:.5f}")
        if len(val_prompts) == 0 or vl < best[0] - 1e-5:
            best = (vl, [p.detach().clone() for p in params], epoch)
            bad = 0
        else:
            bad += 1
            if bad >= patience:
                break
    Pb, Web, Wfb, cb = best[1]
    return (
        {"P": Pb.numpy(), "text_proj": torch.cat([Web, Wfb], dim=1).numpy(), "classifier": cb.numpy()},
        {"seed": seed, "best_epoch": best[2], "best_val_loss": best[0], "history": history},
    )


def train_checkpoint(
    embeddings: np.ndarray,
    data: Comparisons,
    *,
    features: Sequence[str] = DEFAULT_FEATURES,
    dim: int = 8,
    members: int = 8,
    seed: int = 0,
    epochs: int = 30,
    patience: int = 3,
    batch_size: int = 4096,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    val_fraction: float = 0.1,
    embedder_spec: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], object] = print,
    task_effects: bool = False,
    embedding_weight_decay: float | None = None,
) -> tuple[MFCheckpoint, dict[str, Any]]:
    """Fit an ensemble of MF models on ``data`` (:class:`~routellm_core.training_data.Comparisons`) with prompt ``embeddings``."""
    with _deterministic_algorithms():
        return _train_checkpoint(
            embeddings,
            data,
            features=features,
            dim=dim,
            members=members,
            seed=seed,
            epochs=epochs,
            patience=patience,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            val_fraction=val_fraction,
            embedder_spec=embedder_spec,
            progress=progress,
            log=log,
            task_effects=task_effects,
            embedding_weight_decay=embedding_weight_decay,
        )


def _train_checkpoint(
    embeddings: np.ndarray,
    data: Comparisons,
    *,
    features: Sequence[str],
    dim: int,
    members: int,
    seed: int,
    epochs: int,
    patience: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    val_fraction: float,
    embedder_spec: dict[str, Any] | None,
    progress: bool,
    log: Callable[[str], object],
    task_effects: bool,
    embedding_weight_decay: float | None,
) -> tuple[MFCheckpoint, dict[str, Any]]:
    features = list(features)
    raw = prompt_features(data.prompts, features)
    mean = raw.mean(axis=0) if len(raw) else np.zeros(len(features), np.float32)
    std = raw.std(axis=0) if len(raw) else np.ones(len(features), np.float32)
    for i, name in enumerate(features):
        if name == "bias" or std[i] < 1e-6:  # constant columns stay as they are
            mean[i], std[i] = (0.0 if name == "bias" else mean[i]), 1.0
    Z = (
        np.concatenate([np.asarray(embeddings, np.float32), (raw - mean) / std], axis=1)
        if features
        else np.asarray(embeddings, np.float32)
    )
    pi, a, b, y = data.arrays()
    val_prompt = split_prompts(len(data.prompts), val_fraction, seed)
    groups = None
    if task_effects:
        task_ids = {t: i for i, t in enumerate(sorted(set(data.tasks)))}
        groups = np.asarray([task_ids[t] for t in data.tasks], np.int64)
    weights: dict[str, list[np.ndarray]] = {"P": [], "text_proj": [], "classifier": []}
    runs: list[dict[str, Any]] = []
    for k in range(members):
        w, info = fit_member(
            Z,
            pi,
            a,
            b,
            y,
            val_prompt,
            len(data.models),
            dim=dim,
            seed=seed + k,
            epochs=epochs,
            patience=patience,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            progress=progress,
            log=log,
            groups=groups,
            n_features=len(features),
            embedding_weight_decay=embedding_weight_decay,
        )
        for key in weights:
            weights[key].append(w[key])
        runs.append(info)
    ckpt = MFCheckpoint(
        P=np.stack(weights["P"]),
        text_proj=np.stack(weights["text_proj"]),
        classifier=np.stack(weights["classifier"]),
        models=list(data.models),
        features=features,
        feature_mean=[float(x) for x in mean],
        feature_std=[float(x) for x in std],
        embedder=embedder_spec or {"name": "minilm-l3", "kwargs": {"head_tokens": 32}},
    )
    info = {
        "members": runs,
        "validation_prompts": int(val_prompt.sum()),
        "train_prompts": int((~val_prompt).sum()),
        "hyperparameters": {
            "dim": dim,
            "members": members,
            "seed": seed,
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "val_fraction": val_fraction,
            "features": features,
            "optimizer": "AdamW",
            "task_effects": task_effects,
            "tasks": len(set(data.tasks)),
            "embedding_weight_decay": embedding_weight_decay,
            "loss": "BCE on sigmoid(s_a - s_b), soft labels (s_a - s_b + 1) / 2, ties 0.5",
        },
    }
    return ckpt, info


def run(args: argparse.Namespace) -> int:
    _require_torch()  # before reading data and embedding: without the train extra, fail at once
    check_minimums(args, {"lr": 0.0, "weight_decay": 0.0})
    features = [f.strip() for f in (args.features or "").split(",") if f.strip()]
    aliases = dict(parse_pairs(args.alias, "=", "--alias", "DEPLOYMENT=MODEL"))
    default_pairs = [list(p) for p in parse_pairs(args.default_pair, ",", "--default-pair", "STRONG,WEAK")]
    if args.quality and (args.tier_pairs or args.task_effects):
        raise ConfigError("--tier-pairs and --task-effects are for pairwise training; --quality learns every model's own score")
    prepared = prepare(args, "routellm train mf", tier_pairs=args.tier_pairs)
    if args.decontaminate_against:
        drop_held_out(prepared, [Path(f) for f in args.decontaminate_against], args.cosine_threshold, args.data_root)
    data, log = prepared.data, prepared.log
    if args.quality:
        from .quality import train_quality_checkpoint

        ckpt, info = train_quality_checkpoint(
            prepared.embeddings,
            data,
            features=features,
            dim=args.dim,
            members=args.members,
            seed=args.seed,
            epochs=args.epochs,
            patience=args.patience,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            val_fraction=args.val_fraction,
            embedding_weight_decay=args.embedding_weight_decay,
            weighting=args.weighting or "cell",
            embedder_spec=prepared.embedder_spec,
            progress=prepared.progress,
            log=log,
        )
    else:
        ckpt, info = train_checkpoint(
            prepared.embeddings,
            data,
            features=features,
            dim=args.dim,
            members=args.members,
            seed=args.seed,
            epochs=args.epochs,
            patience=args.patience,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            val_fraction=args.val_fraction,
            embedding_weight_decay=args.embedding_weight_decay,
            task_effects=args.task_effects,
            embedder_spec=prepared.embedder_spec,
            progress=prepared.progress,
            log=log,
        )
    for model in [args.default_strong, args.default_weak, *aliases.values(), *(m for p in default_pairs for m in p)]:
        if model is not None and model not in ckpt.models:
            raise ConfigError(f"{model!r} is not a trained model; known: {', '.join(ckpt.models)}")
    ckpt.default_strong, ckpt.default_weak, ckpt.aliases = args.default_strong, args.default_weak, aliases
    if args.quality and not default_pairs and (ckpt.default_strong is None or ckpt.default_weak is None):
        # a pair for two-model use of a quality checkpoint: the models with the highest and lowest mean score
        by_mean = _models_by_mean_score(data)
        ckpt.default_strong = ckpt.default_strong or by_mean[0]
        ckpt.default_weak = ckpt.default_weak or next(m for m in reversed(by_mean) if m != ckpt.default_strong)
    ckpt.default_pairs = default_pairs
    ckpt.save(prepared.out)
    command = command_line(
        "routellm train mf",
        args,
        SUMMARY_OPTIONS,
        flags=("task_effects", "tier_pairs", "quality"),
        repeated=("default_pair", "alias"),
    )
    if args.decontaminate_against:  # nargs="+": recorded after the other options
        command += " --decontaminate-against " + " ".join(args.decontaminate_against)
    summary = write_summary(
        prepared,
        command,
        {"training": info, "checkpoint_sha256": ckpt.digest()},
        sections=[
            ("Models", [", ".join(f"`{m}`" for m in ckpt.models)]),
            *(
                [("Held-out evaluation files (none of their prompts was trained on)", [f"`{f}`" for f in held_out])]
                if (held_out := prepared.decontamination.get("held_out_files"))
                else []
            ),
        ],
    )
    log(f"saved {prepared.out} ({ckpt.members} members, {len(ckpt.models)} models) in {summary['seconds']} s")
    return 0


def drop_held_out(prepared: Any, files: list[Path], threshold: float, data_root: str | None = None) -> None:
    """Remove the prompts of held-out evaluation ``files`` from ``prepared`` (see :mod:`routellm_mf.heldout`)
    and add what was dropped to the decontamination report that ``prepare`` wrote."""
    from .heldout import find_held_out, read_eval_prompts

    data = prepared.data
    names = {}
    for f in files:
        if not f.is_file():
            raise ConfigError(f"--decontaminate-against: no such file: {f}")
        names[_relative_name(f, data_root)] = read_eval_prompts(f)
    keep, report = find_held_out(
        data.prompts, data.sources, prepared.embeddings, names, lambda texts: prepared.cache.embed(texts), threshold=threshold
    )
    prepared.data = keep_prompts(data, keep)
    prepared.embeddings = np.asarray(prepared.embeddings)[keep]
    items = report.items()
    prepared.log(f"held-out evaluation files: dropped {len(items)} more training prompts")
    out = prepared.out
    path = out / "decontamination.json"
    merged: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {"items": []}
    merged.pop("skipped", None)
    merged.setdefault("items", [])
    merged["items"] += items
    merged["dropped"] = len(merged["items"])
    for key, field in (("dropped_by_reason", "reason"), ("dropped_by_benchmark", "benchmark"), ("dropped_by_source", "source")):
        counts: dict[str, int] = {}
        for item in merged["items"]:
            counts[item[field]] = counts.get(item[field], 0) + 1
        merged[key] = counts
    merged["held_out_files"] = sorted(names)
    merged["held_out_prompts"] = report.sets
    path.write_text(json.dumps(merged, indent=1) + "\n")
    md = out / "DECONTAMINATION.md"
    by_reason: dict[str, int] = {}
    for item in items:
        by_reason[item["reason"]] = by_reason.get(item["reason"], 0) + 1
    lines = [
        "",
        "## Held-out evaluation files",
        "",
        "Also removed: every training prompt equal (after normalisation) to a prompt of these files, or asking "
        f"the same question (embedding cosine of the questions >= {threshold}, or its words in order; "
        "see `routellm_mf.heldout`):",
        "",
        *(f"- `{name}` ({count} prompts)" for name, count in report.sets.items()),
        "",
        f"Dropped: **{len(items)}**; by reason {by_reason}; by training source "
        f"{_count(items, 'source')}; by held-out file {_count(items, 'benchmark')}. "
        "Every one is listed in `decontamination.json` (sha256 digests, no text).",
        "",
    ]
    md.write_text((md.read_text() if md.is_file() else "# Decontamination report\n") + "\n".join(lines))
    prepared.decontamination = {k: v for k, v in merged.items() if k != "items"}


def _models_by_mean_score(data: Comparisons) -> list[str]:
    """The score-matrix models of ``data`` by mean score over the prompts that score them, best first (ties by name)."""
    sums: dict[str, list[float]] = {}
    for scores in data.scores:
        for m, value in scores.items():
            sums.setdefault(m, []).append(float(value))
    return sorted(sums, key=lambda m: (-float(np.mean(sums[m])), m))


def _count(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item[key]] = counts.get(item[key], 0) + 1
    return counts


def _relative_name(path: Path, data_root: str | None) -> str:
    """A held-out file's name as the data card records it: relative to ``--data-root`` when given, else ``folder/file``."""
    if data_root is not None:
        try:
            return str(path.resolve().relative_to(Path(data_root).resolve()))
        except ValueError:
            pass
    return f"{path.parent.name}/{path.name}"


def keep_prompts(data: Comparisons, keep: np.ndarray) -> Comparisons:
    """The part of ``data`` on the prompts where ``keep`` is True, prompts renumbered."""
    keep = np.asarray(keep, bool)
    new_index = np.full(len(data.prompts), -1, np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    out = Comparisons(
        prompts=[p for p, k in zip(data.prompts, keep, strict=True) if k],
        sources=[s for s, k in zip(data.sources, keep, strict=True) if k],
        tasks=[t for t, k in zip(data.tasks, keep, strict=True) if k],
        scores=[s for s, k in zip(data.scores, keep, strict=True) if k],
        models=list(data.models),
        file_stats=list(data.file_stats),
    )
    pi, a, b, y = data.arrays()
    mask = keep[pi] if len(pi) else np.zeros(0, bool)
    out.prompt_idx = new_index[pi[mask]].tolist()
    out.model_a, out.model_b, out.label = a[mask].tolist(), b[mask].tolist(), y[mask].tolist()
    return out


#: options recorded in the reproducing command, in this order
SUMMARY_OPTIONS = (
    "embedder",
    "embedder_kwargs",
    "dim",
    "features",
    "members",
    "seed",
    "epochs",
    "patience",
    "batch_size",
    "lr",
    "weight_decay",
    "embedding_weight_decay",
    "val_fraction",
    "default_strong",
    "default_weak",
    "cosine_threshold",
    "weighting",
)
