"""MF checkpoints: the project's format and RouteLLM's published one. Numpy only, never pickle.

The model (RouteLLM paper, section 4.1.2): for a prompt embedding ``x`` and a
model ``m``,

    s(m, x) = c . ( normalise(P[m]) * (W x) )       P: model embeddings, W: text projection, c: linear scorer
    P(m_a beats m_b | x) = sigmoid(s(m_a, x) - s(m_b, x))

For a fixed (strong, weak) pair this collapses to a linear function of ``x``,
``(W^T (c * (n(P_s) - n(P_w)))) . x``, so scoring a batch is one matrix-vector
product after the embedder.

Project format (a directory):
  ``config.json``       ``{"format": "routellm-mf", "version": 1, "dim", "text_dim", "members", "models": [...],
                          "features": [...], "feature_mean", "feature_std", "embedder": {"name", "kwargs"},
                          "aliases": {...}, "default_strong", "default_weak", ...}``
  ``model.safetensors`` ``P`` (members, models, dim), ``text_proj`` (members, dim, text_in), ``classifier`` (members, dim)

``text_in`` is the embedding dimension plus the extra prompt features listed in
``features`` (e.g. ``log_chars``, ``bias``), standardised with the stored mean/std.
Ensembles of several seeds are ``members`` > 1; their score differences are averaged.

Quality head (``"head": "quality"``, format version 2; N-model routing): the same tensors, trained
pointwise on score matrices, with the model vectors **not** normalised. Model ``m``'s predicted quality is

    quality(m, x) = sigmoid( mean_k c_k . ( P_k[m] * (W_k z) ) )      z: embedding + standardised features

(through the ``bias`` feature each model gets its own offset), and a pair's score is
``sigmoid(logit quality(strong) - logit quality(weak))``. Readers of version 1 refuse such a checkpoint
instead of normalising its vectors.

RouteLLM format (Hugging Face repo ``routellm/mf_gpt4_augmented`` and friends):
  ``config.json``       ``{"dim": 128, "num_models": 64, "text_dim": 1536, "num_classes": 1, "use_proj": true}``
  ``model.safetensors`` (or ``pytorch_model.bin``, read with ``weights_only=True``)
                        ``P.weight`` (num_models, dim), ``text_proj.0.weight`` (dim, text_dim), ``classifier.0.weight`` (1, dim)
  Model ids are RouteLLM's ``MODEL_IDS`` table (:data:`ROUTELLM_MODEL_IDS`); prompts are
  embedded with OpenAI ``text-embedding-3-small``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import MissingDependencyError

FORMAT = "routellm-mf"
TRAIN_EXTRA = "pip install 'routellm-mf[train]'"  # torch: training, and RouteLLM's pytorch_model.bin checkpoints
FORMAT_VERSION = 2  # the newest version this module reads; pairwise checkpoints are still written as version 1
HEADS = ("pairwise", "quality")
TIER_PREFIX = "tier:"  # virtual models of --tier-pairs training (not deployable)
KNOWN_FEATURES = ("log_chars", "log_words", "bias")

#: RouteLLM's model-id table (``routellm/routers/matrix_factorization/model.py``: ``MODEL_IDS``),
#: the Chatbot Arena models its published MF checkpoints were trained on, in id order.
ROUTELLM_MODELS = (
    "RWKV-4-Raven-14B",
    "alpaca-13b",
    "chatglm-6b",
    "chatglm2-6b",
    "chatglm3-6b",
    "claude-1",
    "claude-2.0",
    "claude-2.1",
    "claude-instant-1",
    "codellama-34b-instruct",
    "deepseek-llm-67b-chat",
    "dolly-v2-12b",
    "dolphin-2.2.1-mistral-7b",
    "falcon-180b-chat",
    "fastchat-t5-3b",
    "gemini-pro",
    "gemini-pro-dev-api",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0314",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-4-0125-preview",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-1106-preview",
    "gpt4all-13b-snoozy",
    "guanaco-33b",
    "koala-13b",
    "llama-13b",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
    "llama-2-7b-chat",
    "llama2-70b-steerlm-chat",
    "mistral-7b-instruct",
    "mistral-7b-instruct-v0.2",
    "mistral-medium",
    "mixtral-8x7b-instruct-v0.1",
    "mpt-30b-chat",
    "mpt-7b-chat",
    "nous-hermes-2-mixtral-8x7b-dpo",
    "oasst-pythia-12b",
    "openchat-3.5",
    "openchat-3.5-0106",
    "openhermes-2.5-mistral-7b",
    "palm-2",
    "pplx-70b-online",
    "pplx-7b-online",
    "qwen-14b-chat",
    "qwen1.5-4b-chat",
    "qwen1.5-72b-chat",
    "solar-10.7b-instruct-v1.0",
    "stablelm-tuned-alpha-7b",
    "starling-lm-7b-alpha",
    "stripedhyena-nous-7b",
    "tulu-2-dpo-70b",
    "vicuna-13b",
    "vicuna-33b",
    "vicuna-7b",
    "wizardlm-13b",
    "wizardlm-70b",
    "yi-34b-chat",
    "zephyr-7b-alpha",
    "zephyr-7b-beta",
)
ROUTELLM_DEFAULT_STRONG = "gpt-4-1106-preview"
ROUTELLM_DEFAULT_WEAK = "mixtral-8x7b-instruct-v0.1"


class UnknownModelError(ValueError):
    """A model name the checkpoint was not trained on."""


def prompt_features(prompts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Raw (unstandardised) extra features of prompts, one column per name in ``names``."""
    cols = []
    for name in names:
        if name == "log_chars":
            cols.append([math.log1p(len(p)) for p in prompts])
        elif name == "log_words":
            cols.append([math.log1p(len(p.split())) for p in prompts])
        elif name == "bias":
            cols.append([1.0] * len(prompts))
        else:
            raise ValueError(f"unknown prompt feature {name!r}; known: {', '.join(KNOWN_FEATURES)}")
    if not cols:
        return np.zeros((len(prompts), 0), dtype=np.float32)
    table: np.ndarray = np.asarray(cols, dtype=np.float32).T.reshape(len(prompts), len(names))
    return table


def _normalise_rows(a: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    return normalised


@dataclass
class MFCheckpoint:
    """Weights and metadata of an MF router (one or more ensemble members)."""

    P: np.ndarray  # (members, models, dim)
    text_proj: np.ndarray  # (members, dim, text_in)
    classifier: np.ndarray  # (members, dim)
    models: list[str]
    features: list[str] = field(default_factory=list)
    feature_mean: list[float] = field(default_factory=list)
    feature_std: list[float] = field(default_factory=list)
    embedder: dict[str, Any] = field(default_factory=lambda: {"name": "minilm", "kwargs": {}})
    aliases: dict[str, str] = field(default_factory=dict)
    default_strong: str | None = None
    default_weak: str | None = None
    default_pairs: list[list[str]] = field(default_factory=list)
    source_format: str = FORMAT
    meta: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    head: str = "pairwise"  # "quality": pointwise per-model quality (see the module docstring)

    def __post_init__(self) -> None:
        self.P = np.asarray(self.P, dtype=np.float32)
        self.text_proj = np.asarray(self.text_proj, dtype=np.float32)
        self.classifier = np.asarray(self.classifier, dtype=np.float32)
        if self.P.ndim == 2:
            self.P, self.text_proj, self.classifier = self.P[None], self.text_proj[None], self.classifier.reshape(1, -1)
        k, m, d = self.P.shape
        if self.text_proj.shape[:2] != (k, d) or self.classifier.shape != (k, d):
            raise ValueError(
                f"inconsistent MF weights: P {self.P.shape}, text_proj {self.text_proj.shape}, classifier {self.classifier.shape}"
            )
        if len(self.models) > m:
            raise ValueError(f"checkpoint names {len(self.models)} models but has embeddings for {m}")
        if len(self.features) != len(self.feature_mean) or len(self.features) != len(self.feature_std):
            raise ValueError("features, feature_mean and feature_std must have the same length")
        if self.text_dim <= 0:
            raise ValueError(f"text projection input ({self.text_in}) is smaller than the feature count")
        if self.head not in HEADS:
            raise ValueError(f"unknown MF head {self.head!r}; known: {', '.join(HEADS)}")
        prompt_features([""], self.features)  # validates names

    # -- shape -----------------------------------------------------------------
    @property
    def members(self) -> int:
        return int(self.P.shape[0])

    @property
    def dim(self) -> int:
        return int(self.P.shape[2])

    @property
    def text_in(self) -> int:
        return int(self.text_proj.shape[2])

    @property
    def text_dim(self) -> int:
        """Dimension of the prompt embedding the checkpoint expects."""
        return self.text_in - len(self.features)

    # -- models ----------------------------------------------------------------
    def resolve(self, model: str, aliases: dict[str, str] | None = None) -> int:
        """Index of a model given by trained id or deployment alias; :class:`UnknownModelError` otherwise."""
        table = {**self.aliases, **(aliases or {})}
        name = table.get(model, model)
        try:
            return self.models.index(name)
        except ValueError:
            known = ", ".join(self.models)
            alias_note = f"; aliases: {', '.join(f'{a} -> {t}' for a, t in sorted(table.items()))}" if table else ""
            raise UnknownModelError(
                f"model {model!r} is not in the MF checkpoint; known models: {known}{alias_note}. "
                "Map your deployment name to one of them with the router's model_aliases config."
            ) from None

    @property
    def has_quality(self) -> bool:
        """True for a checkpoint with a quality head: it predicts a quality in [0, 1] per model."""
        return self.head == "quality"

    def pair_vector(self, strong: int, weak: int) -> np.ndarray:
        """(members, text_in) weights w with logit(P(strong beats weak)) = mean_k w_k . z."""
        P = self.P if self.has_quality else _normalise_rows(self.P)
        delta = (P[:, strong, :] - P[:, weak, :]) * self.classifier  # (k, d)
        weights: np.ndarray = np.einsum("kd,kdt->kt", delta, self.text_proj)
        return weights

    def quality_vectors(self) -> np.ndarray:
        """(models, text_in) float64 weights ``a`` with logit(quality(m, x)) = a[m] . z (members averaged); quality head only."""
        if not self.has_quality:
            raise ValueError("this MF checkpoint was trained on pairwise comparisons: it has no per-model quality head")
        P = self.P.astype(np.float64) * self.classifier.astype(np.float64)[:, None, :]  # (k, m, d)
        vectors: np.ndarray = np.einsum("kmd,kdt->mt", P, self.text_proj.astype(np.float64)) / self.members
        return vectors

    def text_input(self, embeddings: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        """Concatenate prompt embeddings with the standardised extra features."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.text_dim:
            raise ValueError(f"the checkpoint expects {self.text_dim}-d prompt embeddings, got shape {embeddings.shape}")
        if not self.features:
            return embeddings
        feats = prompt_features(prompts, self.features)
        feats = (feats - np.asarray(self.feature_mean, np.float32)) / np.asarray(self.feature_std, np.float32)
        return np.concatenate([embeddings, feats], axis=1)

    def digest(self) -> str:
        h = hashlib.sha256()
        for arr in (self.P, self.text_proj, self.classifier):
            h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
        h.update(json.dumps([self.models, self.features, self.feature_mean, self.feature_std], sort_keys=True).encode())
        if self.has_quality:  # pairwise digests stay what they were
            h.update(b"head=quality")
        return h.hexdigest()

    # -- saving ----------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 2 if self.has_quality else 1,
            **({"head": self.head} if self.has_quality else {}),
            "dim": self.dim,
            "text_dim": self.text_dim,
            "members": self.members,
            "models": list(self.models),
            "features": list(self.features),
            "feature_mean": [float(x) for x in self.feature_mean],
            "feature_std": [float(x) for x in self.feature_std],
            "embedder": self.embedder,
            "aliases": dict(self.aliases),
            "default_strong": self.default_strong,
            "default_weak": self.default_weak,
            **({"default_pairs": self.default_pairs} if self.default_pairs else {}),
            **({"meta": self.meta} if self.meta else {}),
        }

    def save(self, directory: str | os.PathLike[str]) -> Path:
        from safetensors.numpy import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "P": np.ascontiguousarray(self.P),
                "text_proj": np.ascontiguousarray(self.text_proj),
                "classifier": np.ascontiguousarray(self.classifier),
            },
            str(out / "model.safetensors"),
            metadata={"format": FORMAT, "version": "2" if self.has_quality else "1"},
        )
        (out / "config.json").write_text(json.dumps(self.config(), indent=1) + "\n")
        return out


def _read_tensors(directory: Path) -> dict[str, np.ndarray]:
    st = directory / "model.safetensors"
    if st.is_file():
        from safetensors.numpy import load_file

        return load_file(str(st))
    for name in ("pytorch_model.bin", "model.pt", "model.pth"):
        f = directory / name
        if f.is_file():
            try:
                import torch  # RouteLLM's older uploads: a torch state dict, read without unpickling code
            except ImportError:
                raise MissingDependencyError("torch", f"reading RouteLLM's torch checkpoint {f}", TRAIN_EXTRA) from None
            state = torch.load(str(f), map_location="cpu", weights_only=True)
            return {k: v.detach().float().numpy() for k, v in state.items()}
    raise FileNotFoundError(f"no model.safetensors (or pytorch_model.bin) in {directory}")


def load_checkpoint(path: str | os.PathLike[str]) -> MFCheckpoint:
    """Load an MF checkpoint directory in the project's or RouteLLM's format."""
    directory = Path(path)
    cfg_file = directory / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"MF checkpoint {directory}: no config.json")
    cfg = json.loads(cfg_file.read_text())
    tensors = _read_tensors(directory)
    if cfg.get("format") == FORMAT:
        if int(cfg.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(
                f"MF checkpoint {directory} has format version {cfg['version']}; this routellm-mf reads <= {FORMAT_VERSION}"
            )
        ckpt = MFCheckpoint(
            P=tensors["P"],
            text_proj=tensors["text_proj"],
            classifier=tensors["classifier"],
            models=list(cfg["models"]),
            features=list(cfg.get("features", [])),
            feature_mean=list(cfg.get("feature_mean", [])),
            feature_std=list(cfg.get("feature_std", [])),
            embedder=dict(cfg.get("embedder") or {"name": "minilm", "kwargs": {}}),
            aliases=dict(cfg.get("aliases") or {}),
            default_strong=cfg.get("default_strong"),
            default_weak=cfg.get("default_weak"),
            default_pairs=[list(p) for p in cfg.get("default_pairs") or []],
            source_format=FORMAT,
            meta=dict(cfg.get("meta") or {}),
            head=str(cfg.get("head", "pairwise")),
        )
    elif {"dim", "num_models", "text_dim"} <= set(cfg):
        missing = [k for k in ("P.weight", "classifier.0.weight") if k not in tensors]
        if missing:
            raise ValueError(f"RouteLLM MF checkpoint {directory}: missing tensors {missing}")
        if int(cfg.get("num_classes", 1)) != 1:
            raise ValueError("RouteLLM MF checkpoints with num_classes != 1 are not supported")
        P = tensors["P.weight"]
        dim, text_dim = int(cfg["dim"]), int(cfg["text_dim"])
        if cfg.get("use_proj", True):
            proj = tensors["text_proj.0.weight"]
        else:
            if text_dim != dim:
                raise ValueError("use_proj=false needs text_dim == dim")
            proj = np.eye(dim, dtype=np.float32)
        if P.shape != (int(cfg["num_models"]), dim) or proj.shape != (dim, text_dim):
            raise ValueError(
                f"RouteLLM MF checkpoint {directory}: tensor shapes {P.shape}, {proj.shape} do not match config {cfg}"
            )
        names = list(cfg.get("model_names") or ROUTELLM_MODELS)
        ckpt = MFCheckpoint(
            P=P,
            text_proj=proj,
            classifier=tensors["classifier.0.weight"].reshape(-1),
            models=names[: P.shape[0]],
            embedder={"name": "litellm", "kwargs": {"model": cfg.get("embedding_model", "text-embedding-3-small")}},
            default_strong=ROUTELLM_DEFAULT_STRONG if ROUTELLM_DEFAULT_STRONG in names else None,
            default_weak=ROUTELLM_DEFAULT_WEAK if ROUTELLM_DEFAULT_WEAK in names else None,
            source_format="routellm",
        )
    else:
        raise ValueError(
            f"{cfg_file}: neither a routellm-mf checkpoint (format={FORMAT!r}) nor RouteLLM's MF config "
            "(dim, num_models, text_dim)"
        )
    ckpt.path = str(directory)
    return ckpt


def default_checkpoint_dir() -> Path:
    """The checkpoint shipped in this package."""
    return Path(__file__).parent / "default_checkpoint"


def default_quality_checkpoint_dir() -> Path:
    """The N-model (quality head) checkpoint shipped in this package."""
    return Path(__file__).parent / "default_nmodel"
