"""``routellm train bert``: fine-tune the 3-label classifier on battles / score matrices.

Pipeline: read files, embed with the decontamination embedder and drop evaluation near-duplicates
(:mod:`routellm_core.training_run`) -> each prompt's outcome for the routing pair
(:func:`routellm_core.training_data.pair_outcomes`; score-matrix prompts without it are labelled by
``--matrix-label`` unless ``--pair-only``) -> soft 3-label targets -> tokenise with the head + tail rule -> run the frozen
bottom of the encoder once and keep its hidden states -> train the top ``--train-layers`` layers, the
pooler and the classifier (AdamW, soft-label cross-entropy, early stopping on a validation split) ->
``routellm_bert.json`` + ``trained.safetensors`` with ``training_summary.json``, the decontamination
report and ``TRAINING_DATA.md`` beside them. Deterministic for a seed on one machine.

Targets: a prompt whose outcome is P(strong beats weak) = ``p`` (1, 0, 0.5 for battles; the soft
label ``(s_strong - s_weak + 1) / 2`` for score matrices) gets the label distribution
``[max(0, 2p - 1), 1 - |2p - 1|, max(0, 1 - 2p)]`` over (strong wins, tie, weak wins): equal scores
are a tie, a full-point gap a win, a half-point gap half a win and half a tie.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import (
    MATRIX_LABELS,
    TIER_STRONG,
    TIER_WEAK,
    Comparisons,
    ConfigError,
    MissingDependencyError,
    add_data_arguments,
    check_minimums,
    command_line,
    matrix_outcomes,
    pair_outcomes,
    parse_pairs,
    prepare,
    progress_iter,
    write_summary,
)

from .base import BASES, DEFAULT_BASE
from .classifier import (
    DEFAULT_HEAD_TOKENS,
    DEFAULT_MAX_LENGTH,
    LENGTH_HEAD,
    LENGTH_SCALES,
    WEIGHTS_FILE,
    ClassifierSpec,
    bottom_hidden,
    build_base_model,
    strong_win_probability,
    top_logits,
    validate_truncation,
    with_length,
)

if TYPE_CHECKING:
    import torch

DEFAULT_STRONG = "gpt-4-1106-preview"
DEFAULT_WEAK = "mistralai/mixtral-8x7b-chat"
DEFAULT_ALIASES = ("mistralai/Mixtral-8x7B-Instruct-v0.1=mistralai/mixtral-8x7b-chat",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--base", choices=BASES, default=DEFAULT_BASE, help=f"base encoder (default {DEFAULT_BASE})")
    parser.add_argument(
        "--train-layers", type=int, default=1, help="top encoder layers trained with the pooler and classifier (default 1)"
    )
    parser.add_argument("--train-embeddings", action="store_true", help="train the embeddings too (full fine-tuning)")
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="word pieces read per prompt")
    parser.add_argument(
        "--head-tokens", type=int, default=DEFAULT_HEAD_TOKENS, help="of longer prompts, the first N and the last word pieces"
    )
    parser.add_argument("--strong-model", default=DEFAULT_STRONG, help=f"the routing pair's strong model ({DEFAULT_STRONG})")
    parser.add_argument("--weak-model", default=DEFAULT_WEAK, help=f"the routing pair's weak model ({DEFAULT_WEAK})")
    parser.add_argument(
        "--alias",
        action="append",
        default=None,
        metavar="NAME=MODEL",
        help=f"NAME in the data is MODEL (repeatable; default: {' '.join(DEFAULT_ALIASES)})",
    )
    parser.add_argument(
        "--pair-only",
        action="store_true",
        help="train only on prompts that compare the routing pair (default: the others are labelled by --matrix-label)",
    )
    parser.add_argument(
        "--matrix-label",
        choices=("tier", *MATRIX_LABELS),
        default="tier",
        help="label of score-matrix prompts without the routing pair: tier = the file's best vs median model, "
        "difficulty = an always-right model vs the prompt's average model, halves = the file's upper vs lower "
        "half of models (default tier)",
    )
    parser.add_argument(
        "--length-feature",
        action="store_true",
        help="the classifier also reads each prompt's untruncated length in word pieces (3 more weights)",
    )
    parser.add_argument(
        "--length-scale",
        choices=LENGTH_SCALES,
        default="log",
        help="how --length-feature reads the count n: log = log(n / 128), linear = n / 128 - 1 (default log)",
    )
    parser.add_argument("--length-lr", type=float, default=1e-3, help="learning rate of the length weights (default 1e-3)")
    parser.add_argument("--epochs", type=int, default=4, help="maximum epochs")
    parser.add_argument("--patience", type=int, default=1, help="early stopping: epochs without validation improvement")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--val-fraction", type=float, default=0.1, help="fraction of prompts held out for validation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="storage of the trained tensors")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's; results are bit-identical for one count)"
    )


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "training a bert router", "pip install torch==2.13.0") from None
    return torch


@dataclass
class Targets:
    """Prompts used for training with their soft 3-label targets and which pair labelled them."""

    prompts: np.ndarray  # indices into the data's prompts
    targets: np.ndarray  # (n, 3) float32
    from_pair: np.ndarray  # True: the routing pair; False: the prompt's score matrix (--matrix-label)


def soft_targets(p: np.ndarray) -> np.ndarray:
    """(strong wins, tie, weak wins) distributions from P(strong beats weak); see the module docstring."""
    p = np.clip(np.asarray(p, np.float64), 0.0, 1.0)
    win = np.maximum(0.0, 2 * p - 1)
    loss = np.maximum(0.0, 1 - 2 * p)
    return np.stack([win, 1.0 - win - loss, loss], axis=1).astype(np.float32)


def routing_pairs(strong: str, weak: str, aliases: dict[str, str], tier: bool) -> list[tuple[str, str]]:
    """Every (strong, weak) spelling the data may use, then the tier pair when ``tier``."""
    strongs = [strong, *sorted(k for k, v in aliases.items() if v == strong)]
    weaks = [weak, *sorted(k for k, v in aliases.items() if v == weak)]
    pairs = list(itertools.product(strongs, weaks))
    return pairs + ([(TIER_STRONG, TIER_WEAK)] if tier else [])


def make_targets(data: Comparisons, pairs: list[tuple[str, str]], matrix: str | None = None) -> Targets:
    """Soft targets of every prompt compared by one of ``pairs`` (the first one compared on it), then,
    with ``matrix`` (a rule of :func:`routellm_core.training_data.matrix_outcomes`), of every other
    score-matrix prompt."""
    out = pair_outcomes(data, pairs)
    prompts, labels = out.prompt, out.label
    real = np.array([pairs[k] != (TIER_STRONG, TIER_WEAK) for k in out.pair], dtype=bool)
    if matrix is not None:
        extra = matrix_outcomes(data, matrix)
        new = ~np.isin(extra.prompt, prompts)
        prompts = np.concatenate([prompts, extra.prompt[new]])
        labels = np.concatenate([labels, extra.label[new]])
        real = np.concatenate([real, np.zeros(int(new.sum()), bool)])
        order = np.argsort(prompts, kind="stable")
        prompts, labels, real = prompts[order], labels[order], real[order]
    return Targets(prompts=prompts, targets=soft_targets(labels), from_pair=real)


def encode_prompts(texts: Sequence[str], spec: ClassifierSpec) -> list[list[int]]:
    """Word pieces of each text with the head + tail rule (the tokenizer of the base encoder)."""
    return encode_with_lengths(texts, spec)[0]


def encode_with_lengths(texts: Sequence[str], spec: ClassifierSpec) -> tuple[list[list[int]], np.ndarray]:
    """:func:`encode_prompts`' rows and each text's word-piece count before truncation."""
    from .base import tokenizer_file
    from .classifier import encode_truncated, word_pieces

    rows, lengths = encode_truncated(word_pieces(tokenizer_file()), texts, spec.max_length, spec.head_tokens)
    return rows, np.array(lengths)


def frozen_states(model: Any, rows: Sequence[Sequence[int]], first_layer: int, progress: bool = False) -> list[torch.Tensor]:
    """Per row, the (frozen) hidden states entering layer ``first_layer``, float16; computed once."""
    import torch

    from .classifier import width_batches

    out: list[Any] = [None] * len(rows)
    model.eval()
    with torch.inference_mode():
        batches = width_batches(rows, 64)
        for idx in progress_iter(batches, len(batches), "frozen layers", enabled=progress, unit="batch"):
            hidden = bottom_hidden(model, torch.tensor([list(rows[i]) for i in idx], dtype=torch.long), first_layer)
            for j, i in enumerate(idx):
                out[i] = hidden[j].to(torch.float16).clone()
    return out


def _batches(widths: np.ndarray, idx: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """``idx`` in batches of equal width, shuffled (within widths and in order) when ``rng`` is given."""
    groups: dict[int, list[int]] = {}
    order = rng.permutation(idx) if rng is not None else idx
    for i in order:
        groups.setdefault(int(widths[i]), []).append(int(i))
    batches = [np.array(g[s : s + batch_size]) for _, g in sorted(groups.items()) for s in range(0, len(g), batch_size)]
    if rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


def fit(
    model: Any,
    spec: ClassifierSpec,
    states: Sequence[Any],
    widths: np.ndarray,
    targets: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    epochs: int = 4,
    patience: int = 1,
    batch_size: int = 32,
    lr: float = 1e-4,
    weight_decay: float = 0.01,
    seed: int = 0,
    lengths: np.ndarray | None = None,
    length_lr: float = 1e-3,
    progress: bool = False,
    log: Callable[..., None] = lambda *a, **k: None,
) -> dict[str, Any]:
    """Train the top of ``model`` on cached ``states`` (entries indexed like ``targets``); keeps the best
    epoch's weights in ``model``. ``lengths`` (untruncated word pieces, indexed like ``targets``) feed
    the length head of a ``spec.length_feature`` model, trained at ``length_lr``. Returns what happened
    (losses per epoch, best epoch)."""
    import torch

    layers = model.config.num_hidden_layers
    first = layers - spec.trained_layers
    prefixes = spec.trained_prefixes(layers)
    params: list[Any] = []
    length_params: list[Any] = []
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(pre) for pre in prefixes))
        if p.requires_grad:
            (length_params if name.startswith(LENGTH_HEAD) else params).append(p)
    torch.manual_seed(seed)
    groups: list[dict[str, Any]] = [{"params": params}]
    groups += [{"params": length_params, "lr": length_lr}] if length_params else []
    optim = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    y = torch.tensor(targets, dtype=torch.float32)
    rng = np.random.default_rng(seed)

    def batch_logits(idx: np.ndarray) -> torch.Tensor:
        if spec.train_embeddings:
            logits = model(input_ids=torch.stack([states[i] for i in idx])).logits
        else:
            logits = top_logits(model, torch.stack([states[i] for i in idx]).float(), first)
        return with_length(model, logits, None if lengths is None else lengths[idx])

    def val_loss() -> float:
        model.eval()
        total = 0.0
        with torch.no_grad():
            for idx in _batches(widths, val_idx, 256, None):
                logp = torch.log_softmax(batch_logits(idx), dim=1)
                total += float(-(y[idx] * logp).sum())
        return total / max(len(val_idx), 1)

    history = []
    best = (val_loss(), 0)
    best_state = {k: t.detach().clone() for k, t in model.state_dict().items() if any(k.startswith(p) for p in prefixes)}
    log(f"epoch 0: validation loss {best[0]:.5f}")
    bad = 0
    for epoch in range(1, epochs + 1):
        model.train()
        running, seen = 0.0, 0
        batches = _batches(widths, train_idx, batch_size, rng)
        for idx in progress_iter(batches, len(batches), f"epoch {epoch}", enabled=progress, unit="batch"):
            logp = torch.log_softmax(batch_logits(idx), dim=1)
            loss = -(y[idx] * logp).sum(dim=1).mean()
            optim.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)  # loss.backward(), which torch leaves unannotated
            optim.step()
            running += float(loss.detach()) * len(idx)
            seen += len(idx)
        v = val_loss()
        history.append({"epoch": epoch, "train_loss": round(running / max(seen, 1), 6), "val_loss": round(v, 6)})
        log(f"epoch {epoch}: train loss {running / max(seen, 1):.5f}, validation loss {v:.5f}")
        if v < best[0] - 1e-6:
            best, bad = (v, epoch), 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items() if any(k.startswith(p) for p in prefixes)}
        else:
            bad += 1
            if bad > patience:
                break
    model.load_state_dict(best_state, strict=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return {"history": history, "best_epoch": best[1], "best_val_loss": round(best[0], 6)}


def score_states(
    model: Any,
    spec: ClassifierSpec,
    states: Sequence[Any],
    widths: np.ndarray,
    idx: np.ndarray,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """P(strong wins) of the rows ``idx`` from their cached states (what the router computes from text);
    ``lengths`` as in :func:`fit`."""
    import torch

    first = model.config.num_hidden_layers - spec.trained_layers
    out = np.zeros(len(idx))
    pos = {int(i): k for k, i in enumerate(idx)}
    model.eval()
    with torch.inference_mode():
        for b in _batches(widths, np.asarray(idx), 256, None):
            x = torch.stack([states[i] for i in b])
            logits = model(input_ids=x).logits if spec.train_embeddings else top_logits(model, x.float(), first)
            logits = with_length(model, logits, None if lengths is None else lengths[b])
            out[[pos[int(i)] for i in b]] = strong_win_probability(logits.double().numpy())
    return out


def split_prompts(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of ``n`` prompts, a seeded random split."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train_classifier(
    texts: Sequence[str],
    targets: np.ndarray,
    spec: ClassifierSpec,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    progress: bool = False,
    log: Callable[..., None] = lambda *a, **k: None,
    **fit_kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune a classifier on ``texts`` with soft ``targets``; returns the model and what happened."""
    torch = _import_torch()
    validate_truncation(spec.max_length, spec.head_tokens)
    model = build_base_model(spec, seed)
    rows, lengths = encode_with_lengths(texts, spec)
    widths = np.array([len(r) for r in rows])
    first = model.config.num_hidden_layers - spec.trained_layers
    if spec.train_embeddings:
        states: list[Any] = [torch.tensor(r, dtype=torch.long) for r in rows]
    else:
        states = frozen_states(model, rows, first, progress)
    train_idx, val_idx = split_prompts(len(rows), val_fraction, seed)
    if len(train_idx) == 0:
        raise ConfigError("no training prompts left after the validation split")
    info = fit(
        model,
        spec,
        states,
        widths,
        targets,
        train_idx,
        val_idx,
        seed=seed,
        lengths=lengths,
        progress=progress,
        log=log,
        **fit_kwargs,
    )
    info.update({"train_prompts": int(len(train_idx)), "val_prompts": int(len(val_idx))})
    return model, info


def trained_tensors(model: Any, spec: ClassifierSpec, dtype: str = "float16") -> dict[str, Any]:
    """The trained tensors of ``model`` (what ``trained.safetensors`` holds), contiguous, in ``dtype``."""
    import torch

    prefixes = spec.trained_prefixes(model.config.num_hidden_layers)
    want = torch.float16 if dtype == "float16" else torch.float32
    return {k: v.detach().to(want).contiguous() for k, v in model.state_dict().items() if any(k.startswith(p) for p in prefixes)}


def _aliases(items: list[str] | None) -> dict[str, str]:
    return dict(parse_pairs(DEFAULT_ALIASES if items is None else items, "=", "--alias", "NAME=MODEL"))


#: options recorded in the reproducing command, in this order
SUMMARY_OPTIONS = (
    "embedder",
    "embedder_kwargs",
    "base",
    "train_layers",
    "max_length",
    "head_tokens",
    "strong_model",
    "weak_model",
    "matrix_label",
    "length_scale",
    "length_lr",
    "epochs",
    "patience",
    "batch_size",
    "lr",
    "weight_decay",
    "val_fraction",
    "seed",
    "dtype",
    "threads",
    "cosine_threshold",
)


def run(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    torch = _import_torch()  # fail before reading and embedding the data
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    check_minimums(args, {"epochs": 1, "batch_size": 1, "lr": 0.0, "length_lr": 0.0, "weight_decay": 0.0})
    if not 0.0 <= args.val_fraction < 1.0:
        raise ConfigError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    validate_truncation(args.max_length, args.head_tokens)
    aliases = _aliases(args.alias)
    spec = ClassifierSpec(
        base=args.base,
        trained_layers=args.train_layers,
        train_embeddings=args.train_embeddings,
        max_length=args.max_length,
        head_tokens=args.head_tokens,
        strong_model=args.strong_model,
        weak_model=args.weak_model,
        length_feature=args.length_feature,
        length_scale=args.length_scale,
    )
    tier = not args.pair_only and args.matrix_label == "tier"
    prepared = prepare(args, "routellm train bert", tier_pairs=tier)
    data, log = prepared.data, prepared.log
    known = set(data.models) | set(aliases)
    for model_name in (args.strong_model, args.weak_model):
        if model_name not in known:
            raise ConfigError(f"{model_name!r} is not a model of the training data; known: {', '.join(sorted(data.models))}")
    pairs = routing_pairs(args.strong_model, args.weak_model, aliases, tier=tier)
    labelled = make_targets(data, pairs, None if args.pair_only or tier else args.matrix_label)
    if len(labelled.prompts) == 0:
        raise ConfigError(f"no prompt compares {args.strong_model!r} with {args.weak_model!r}")
    log(
        f"{len(labelled.prompts)} labelled prompts ({int(labelled.from_pair.sum())} by the routing pair, "
        f"{int((~labelled.from_pair).sum())} by their score matrix)"
    )
    model, info = train_classifier(
        [data.prompts[i] for i in labelled.prompts],
        labelled.targets,
        spec,
        val_fraction=args.val_fraction,
        seed=args.seed,
        progress=prepared.progress,
        log=log,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        length_lr=args.length_lr,
    )
    out = prepared.out
    tensors = trained_tensors(model, spec, args.dtype)
    save_file(tensors, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    spec.save(out)
    from routellm_core.plugin_api import sha256_file

    mean_target = labelled.targets.mean(axis=0)
    command = command_line(
        "routellm train bert",
        args,
        SUMMARY_OPTIONS,
        flags=("train_embeddings", "pair_only", "length_feature"),
        repeated=("alias",),
    )
    summary = write_summary(
        prepared,
        command,
        {
            "labels": {
                "prompts": int(len(labelled.prompts)),
                "routing_pair": int(labelled.from_pair.sum()),
                "score_matrix": int((~labelled.from_pair).sum()),
                "mean_target": {k: round(float(v), 4) for k, v in zip(("strong", "tie", "weak"), mean_target, strict=True)},
            },
            "training": info,
            "trained_parameters": int(sum(t.numel() for t in tensors.values())),
            "checkpoint_sha256": sha256_file(out / WEIGHTS_FILE),
        },
        sections=[("Routing pair", [f"strong `{args.strong_model}`, weak `{args.weak_model}`"])],
    )
    log(f"saved {out} ({summary['trained_parameters']} trained parameters) in {summary['seconds']} s")
    return 0
