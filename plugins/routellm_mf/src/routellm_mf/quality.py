"""Training an MF checkpoint with a quality head (``routellm train mf --quality``): N-model routing.

Each cell of a score matrix (a prompt and a model that has a score on it) is one training example:

    logit q(m, x) = c . ( P[m] * (W z) )        z: prompt embedding + standardised features (incl. a constant)
    loss = BCE(sigmoid(logit), score)            the score in [0, 1] is a soft label

The model vectors ``P`` are not normalised (each model has its own scale and, through the constant feature,
its own offset), so ``sigmoid(logit)`` estimates the model's expected score on the prompt. Ensembles of
``members`` seeds average the logits. Pairwise training (the default ``routellm train mf``) learns only
differences between models; this learns each model's level too, which choosing among N priced models needs.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from routellm_core.plugin_api import Comparisons, TrainingDataError, progress_iter

from .checkpoint import TIER_PREFIX, MFCheckpoint, prompt_features

#: how the cells of the training data are weighted in the loss
WEIGHTINGS = ("cell", "prompt", "source")


def quality_cells(data: Comparisons, weighting: str = "cell") -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The score-matrix cells of ``data``: ``(models, prompt index, model index, score, weight)``.

    ``weighting``: ``cell`` (each score counts once), ``prompt`` (each prompt's scores share one unit),
    ``source`` (each training file's scores share one unit); weights are scaled to mean 1.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; known: {', '.join(WEIGHTINGS)}")
    models = sorted({m for scores in data.scores for m in scores if not m.startswith(TIER_PREFIX)})
    ids = {m: i for i, m in enumerate(models)}
    p_idx: list[int] = []
    m_idx: list[int] = []
    y: list[float] = []
    for i, scores in enumerate(data.scores):
        for m, s in scores.items():
            if m in ids:
                p_idx.append(i)
                m_idx.append(ids[m])
                y.append(float(s))
    if not y:
        raise TrainingDataError("quality training needs score matrices (per-prompt scores per model); the data has none")
    pi = np.asarray(p_idx, np.int64)
    weight = np.ones(len(y), np.float64)
    if weighting == "prompt":
        per_prompt = np.bincount(pi, minlength=len(data.prompts)).astype(np.float64)
        weight = 1.0 / per_prompt[pi]
    elif weighting == "source":
        sources = np.asarray([data.sources[i] for i in p_idx], dtype=object)
        for src in set(sources):
            mask = sources == src
            weight[mask] = 1.0 / mask.sum()
    weight *= len(weight) / weight.sum()
    return models, pi, np.asarray(m_idx, np.int64), np.asarray(y, np.float32), weight.astype(np.float32)


def fit_quality_member(
    Z: np.ndarray,
    pi: np.ndarray,
    mi: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
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
    embedding_weight_decay: float | None,
    n_features: int,
    progress: bool = True,
    log: Callable[[str], object] = print,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train one quality model; early stopping on the validation prompts' weighted loss."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Zt = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))
    order = np.argsort(pi, kind="stable")
    pi, mi, y, weight = pi[order], mi[order], y[order], weight[order]
    n_prompts = len(val_prompt)
    starts = np.searchsorted(pi, np.arange(n_prompts + 1))
    counts = np.diff(starts)
    train_prompts = np.nonzero(~val_prompt & (counts > 0))[0]
    val_prompts = np.nonzero(val_prompt & (counts > 0))[0]
    per_prompt = max(1.0, float(counts[train_prompts].mean())) if len(train_prompts) else 1.0
    prompts_per_step = max(1, int(batch_size / per_prompt))
    t_pi, t_mi, t_y, t_w = (torch.from_numpy(x) for x in (pi, mi, y, weight))
    P = torch.nn.Parameter(torch.randn(n_models, dim, generator=gen) * 0.1)
    W0 = torch.randn(dim, Z.shape[1], generator=gen) / np.sqrt(Z.shape[1])
    n_emb = Z.shape[1] - n_features
    W_emb = torch.nn.Parameter(W0[:, :n_emb].clone())
    W_feat = torch.nn.Parameter(W0[:, n_emb:].clone())
    c = torch.nn.Parameter(torch.randn(dim, generator=gen) / np.sqrt(dim))
    params = [P, W_emb, W_feat, c]
    emb_wd = weight_decay if embedding_weight_decay is None else embedding_weight_decay
    opt = torch.optim.AdamW(
        [{"params": [P, W_feat, c], "weight_decay": weight_decay}, {"params": [W_emb], "weight_decay": emb_wd}], lr=lr
    )

    def cells_of(prompts: np.ndarray) -> np.ndarray:
        return np.concatenate([np.arange(starts[p], starts[p + 1]) for p in prompts]) if len(prompts) else np.zeros(0, np.int64)

    def loss_of(prompts: np.ndarray) -> tuple[torch.Tensor, float]:
        idx = torch.from_numpy(cells_of(prompts))
        local = torch.full((n_prompts,), -1, dtype=torch.long)
        local[torch.from_numpy(prompts)] = torch.arange(len(prompts))
        u = Zt[torch.from_numpy(prompts)] @ torch.cat([W_emb, W_feat], dim=1).T  # (prompts, dim)
        logit = (u[local[t_pi[idx]]] * P[t_mi[idx]] * c).sum(dim=1)
        w = t_w[idx]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, t_y[idx], weight=w, reduction="sum")
        return loss, float(w.sum())

    def val_loss() -> float:
        if len(val_prompts) == 0:
            return float("nan")
        with torch.no_grad():
            total, n = 0.0, 0.0
            for s in range(0, len(val_prompts), 2048):
                part, k = loss_of(val_prompts[s : s + 2048])
                total, n = total + float(part), n + k
            return total / max(n, 1e-12)

    best = (float("inf"), [p.detach().clone() for p in params], 0)
    history = []
    bad = 0
    for epoch in range(1, epochs + 1):
        perm = train_prompts[torch.randperm(len(train_prompts), generator=gen).numpy()]
        total, seen = 0.0, 0.0
        steps = range(0, len(perm), prompts_per_step)
        for s in progress_iter(steps, len(steps), f"seed {seed} epoch {epoch}", enabled=progress):
            loss, k = loss_of(perm[s : s + prompts_per_step])
            opt.zero_grad()
            torch.autograd.backward(loss / max(k, 1e-12))
            opt.step()
            total, seen = total + float(loss.detach()), seen + k
        vl = val_loss()
        history.append({"epoch": epoch, "train_loss": total / max(seen, 1e-12), "val_loss": vl})
        log(f"  seed {seed} epoch {epoch}: train loss {total / max(seen, 1e-12):.5f}  validation loss {vl:.5f}")
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


def standardised_input(
    embeddings: np.ndarray, prompts: Sequence[str], features: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, mean, std)``: embeddings with the standardised extra features appended (constant columns kept as they are)."""
    raw = prompt_features(prompts, features)
    mean = raw.mean(axis=0) if len(raw) else np.zeros(len(features), np.float32)
    std = raw.std(axis=0) if len(raw) else np.ones(len(features), np.float32)
    for i, name in enumerate(features):
        if name == "bias" or std[i] < 1e-6:
            mean[i], std[i] = (0.0 if name == "bias" else mean[i]), 1.0
    emb = np.asarray(embeddings, np.float32)
    z = np.concatenate([emb, (raw - mean) / std], axis=1) if features else emb
    return z, mean, std


def train_quality_checkpoint(
    embeddings: np.ndarray,
    data: Comparisons,
    *,
    features: Sequence[str] = ("log_chars", "bias"),
    dim: int = 16,
    members: int = 4,
    seed: int = 0,
    epochs: int = 60,
    patience: int = 4,
    batch_size: int = 4096,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    embedding_weight_decay: float | None = None,
    val_fraction: float = 0.1,
    weighting: str = "cell",
    embedder_spec: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], object] = print,
) -> tuple[MFCheckpoint, dict[str, Any]]:
    """Fit an ensemble of quality models on the score-matrix cells of ``data`` with prompt ``embeddings``."""
    from .train import _deterministic_algorithms, split_prompts

    features = list(features)
    models, pi, mi, y, weight = quality_cells(data, weighting)
    Z, mean, std = standardised_input(embeddings, data.prompts, features)
    val_prompt = split_prompts(len(data.prompts), val_fraction, seed)
    weights: dict[str, list[np.ndarray]] = {"P": [], "text_proj": [], "classifier": []}
    runs: list[dict[str, Any]] = []
    with _deterministic_algorithms():
        for k in range(members):
            w, info = fit_quality_member(
                Z,
                pi,
                mi,
                y,
                weight,
                val_prompt,
                len(models),
                dim=dim,
                seed=seed + k,
                epochs=epochs,
                patience=patience,
                batch_size=batch_size,
                lr=lr,
                weight_decay=weight_decay,
                embedding_weight_decay=embedding_weight_decay,
                n_features=len(features),
                progress=progress,
                log=log,
            )
            for key in weights:
                weights[key].append(w[key])
            runs.append(info)
    ckpt = MFCheckpoint(
        P=np.stack(weights["P"]),
        text_proj=np.stack(weights["text_proj"]),
        classifier=np.stack(weights["classifier"]),
        models=models,
        features=features,
        feature_mean=[float(x) for x in mean],
        feature_std=[float(x) for x in std],
        embedder=embedder_spec or {"name": "minilm-l3", "kwargs": {"head_tokens": 32}},
        head="quality",
    )
    info = {
        "members": runs,
        "cells": int(len(y)),
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
            "embedding_weight_decay": embedding_weight_decay,
            "val_fraction": val_fraction,
            "features": features,
            "weighting": weighting,
            "optimizer": "AdamW",
            "loss": "BCE on sigmoid(c . (P[m] * W z)) per score-matrix cell, the score in [0, 1] as a soft label",
        },
    }
    return ckpt, info
