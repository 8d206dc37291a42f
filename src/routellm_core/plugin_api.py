"""Everything a plugin needs from routellm-core, in one module.

Code under ``plugins/*/src`` (and any third-party plugin) imports the core through this module
and, in its tests, :mod:`routellm_core.testing`; nothing else of the core is a plugin's API.
``docs/PLUGINS.md`` walks through writing a router plugin and says what each name is for.

- **Registering**: :data:`hookimpl`, the ``Register*`` protocols of the ``register`` callables,
  :func:`lazy` (a callable that imports its module when called, to keep plugin loading light).
- **Building**: :class:`Router` (and :class:`QualityRouter` for a router that predicts quality per model),
  :class:`Embedder`, :class:`PluginConfig` (the one declaration of
  a plugin's settings: the registry validates them and hands the factory the validated instance),
  :class:`BenchmarkData` for benchmark loaders.
- **Plumbing**: :func:`shared_embedder` (one validated embedder per name and settings in the
  process), :func:`resolve_checkpoint` (a local directory or a Hugging Face repo id), the file,
  hashing, progress and cache-directory helpers, the errors.
- **Training**: the shared trainer pipeline (``add_data_arguments``, ``prepare``,
  ``write_summary``, ...) and the training-data readers; imported on first use.
- **Adapters** (the LiteLLM proxy plugin): :class:`Controller`, the model-name and threshold
  helpers, the routing policies; for N-model routing the cost knob's names (:func:`parse_nmodel_name`),
  prices (:class:`ModelPrice`, :func:`litellm_price`) and the choice rule (:func:`choose`).
"""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .config import PluginConfig, expand_env, load_config
from .embedders import Embedder, EmbeddingCache, l2_normalise
from .errors import ConfigError, DataError, MissingDependencyError, PluginError, RoutellmError, RoutingError
from .fileio import atomic_write_bytes, atomic_write_text
from .hashing import sha256_file, sha256_text
from .hookspecs import RegisterBenchmark, RegisterEmbedder, RegisterRouter, RegisterTrainer, hookimpl, lazy
from .messages import POLICIES, check_policy
from .model_choice import (
    ModelPrice,
    QualityRouter,
    TwoModelQuality,
    cheapest_at_least,
    check_cost,
    choose,
    estimate_tokens,
    litellm_price,
    predict_quality_checked,
    supports_quality,
    validate_knob,
    validate_quality_level,
)
from .paths import user_cache_dir
from .progress import progress_bar, progress_iter
from .router import Router
from .threshold import (
    KNOB,
    MODEL_PREFIX,
    QUALITY_FLOOR,
    format_nmodel_name,
    parse_model_name,
    parse_nmodel_name,
    validate_threshold,
)

if TYPE_CHECKING:
    from .controller import Controller, Decision
    from .decontamination import EvalPrompts, decontaminate
    from .evaluation.data import BenchmarkData
    from .tabular import read_records
    from .training_data import (
        MATRIX_LABELS,
        TIE_WINNERS,
        TIER_STRONG,
        TIER_WEAK,
        Comparisons,
        TrainingDataError,
        load_files,
        matrix_outcomes,
        pair_outcomes,
        ranked_models,
    )
    from .training_run import add_data_arguments, check_minimums, command_line, parse_pairs, prepare, write_summary

#: names imported on first use (the trainer pipeline, the Controller, benchmark data), so loading a plugin stays light
_LAZY: dict[str, str] = {
    **dict.fromkeys(("Controller", "Decision"), "routellm_core.controller"),
    "BenchmarkData": "routellm_core.evaluation.data",
    "read_records": "routellm_core.tabular",
    **dict.fromkeys(
        (
            "MATRIX_LABELS",
            "TIE_WINNERS",
            "TIER_STRONG",
            "TIER_WEAK",
            "Comparisons",
            "TrainingDataError",
            "matrix_outcomes",
            "pair_outcomes",
            "ranked_models",
        ),
        "routellm_core.training_data",
    ),
    **dict.fromkeys(("EvalPrompts", "decontaminate"), "routellm_core.decontamination"),
    "load_files": "routellm_core.training_data",
    **dict.fromkeys(
        ("add_data_arguments", "check_minimums", "command_line", "parse_pairs", "prepare", "write_summary"),
        "routellm_core.training_run",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


_EMBEDDERS: dict[str, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def shared_embedder(name: str, settings: Mapping[str, Any] | None = None, *, user: str) -> Embedder:
    """The process's one embedder for (name, settings), built through the registry on first use.

    The settings are validated against the embedder's settings model first; routers that name the same
    embedder with the same settings share one instance (and its memory). ``user`` names the caller in
    errors, e.g. ``"MF router"``: an embedder that is not registered is a ConfigError that says so.
    """
    key = json.dumps([name, dict(settings or {})], sort_keys=True, default=str)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            from .plugins import get_registry

            try:
                _EMBEDDERS[key] = get_registry().create_embedder(name, settings)
            except RoutingError as exc:  # not registered: say what is available and what to install
                hint = " (pip install routellm-minilm)" if name.startswith("minilm") else ""
                raise ConfigError(f"{user}: embedder {name!r} is not available{hint}: {exc}") from None
        return _EMBEDDERS[key]


def resolve_checkpoint(
    path: str | None,
    *,
    default: Callable[[], Path],
    what: str,
    install_hint: str,
    allow_patterns: list[str] | None = None,
) -> Path:
    """A checkpoint directory: ``default()`` for None, a local path, or a Hugging Face repo id (``org/name``).

    A repo id is fetched with ``huggingface_hub.snapshot_download`` (only ``allow_patterns`` if given); without
    huggingface_hub that is a MissingDependencyError with ``install_hint``. ``what`` names the checkpoint in
    errors, e.g. ``"MF checkpoint"``.
    """
    if path is None:
        return default()
    local = Path(path).expanduser()
    if local.exists():
        return local
    if path.count("/") == 1 and not path.startswith((".", "/", "~")):
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise MissingDependencyError("huggingface_hub", f"downloading the {what} {path!r}", install_hint) from None
        try:
            return Path(snapshot_download(repo_id=path, allow_patterns=allow_patterns))
        except Exception as exc:
            raise ConfigError(f"cannot download {what} {path!r} from the Hugging Face hub: {exc}") from None
    raise ConfigError(f"{what} {path!r} not found")


__all__ = [
    # registering
    "hookimpl",
    "lazy",
    "RegisterBenchmark",
    "RegisterEmbedder",
    "RegisterRouter",
    "RegisterTrainer",
    # building
    "BenchmarkData",
    "Embedder",
    "EmbeddingCache",
    "PluginConfig",
    "QualityRouter",
    "Router",
    "l2_normalise",
    # plumbing
    "atomic_write_bytes",
    "atomic_write_text",
    "expand_env",
    "load_config",
    "progress_bar",
    "progress_iter",
    "read_records",
    "resolve_checkpoint",
    "sha256_file",
    "sha256_text",
    "shared_embedder",
    "user_cache_dir",
    # errors
    "ConfigError",
    "DataError",
    "MissingDependencyError",
    "PluginError",
    "RoutellmError",
    "RoutingError",
    # training
    "MATRIX_LABELS",
    "TIE_WINNERS",
    "TIER_STRONG",
    "TIER_WEAK",
    "Comparisons",
    "EvalPrompts",
    "TrainingDataError",
    "add_data_arguments",
    "check_minimums",
    "command_line",
    "decontaminate",
    "load_files",
    "matrix_outcomes",
    "pair_outcomes",
    "parse_pairs",
    "prepare",
    "ranked_models",
    "write_summary",
    # adapters
    "Controller",
    "Decision",
    "MODEL_PREFIX",
    "POLICIES",
    "check_policy",
    "parse_model_name",
    "validate_threshold",
    # N-model routing: quality per model, prices, the cost knob and the names that carry it
    "KNOB",
    "QUALITY_FLOOR",
    "ModelPrice",
    "TwoModelQuality",
    "cheapest_at_least",
    "check_cost",
    "choose",
    "estimate_tokens",
    "format_nmodel_name",
    "litellm_price",
    "parse_nmodel_name",
    "predict_quality_checked",
    "supports_quality",
    "validate_knob",
    "validate_quality_level",
]
