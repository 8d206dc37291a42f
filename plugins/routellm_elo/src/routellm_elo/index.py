"""The sw_ranking index: prompt embeddings, per-prompt tier win tables, the model tiers; build, save, load.

Built once from battles ``(prompt, model_a, model_b, P(a wins))``:

1. global Elo ratings of the models over all battles (:func:`~routellm_elo.elo.fit_ratings`; a tiny ridge
   centres groups of models that never met, e.g. training files without a shared model, at the same mean);
2. the descending ratings cut into ``num_tiers`` tiers (:func:`~routellm_elo.elo.compute_tiers`); every model
   is replaced by its tier;
3. per prompt, the table of tier wins of its battles (a tie: half a win each way), ``(T + 1) × (T + 1)``:
   the extra player ``T`` holds the battles between two models of the same tier. RouteLLM's design matrix
   (``compute_elo_mle_with_tie`` after mapping models to tiers) gives such a battle a row with ``−ln 10`` in
   its tier's column only (the second assignment overwrites the first), which is a game of the tier against
   a player fixed at rating 1000 that "wins" when ``model_a`` won; player ``T`` is that player. With
   ``same_tier="ignore"`` those battles carry no information, as in a plain Bradley–Terry fit.

Scoring a query needs only the similarities to the indexed prompts: its win table is the
similarity-weighted sum of the prompts' tables, one matrix product for a whole batch.

Files: ``config.json`` (models, tiers, ratings, embedder, defaults, weighting) and ``index.safetensors``
(``embeddings`` (P × d, float16 or float32), optional ``projection`` (D × d) applied to the embedder's
D-dimensional vectors, and the tables in compressed sparse rows: ``tables_indptr``, ``tables_cells``
(``j · (T + 1) + k``), ``tables_values``: half battles as uint8 when every count is a whole number of them,
else float16 or float32 like the embeddings, with ``tables_value_scale`` in the config). Never pickle.

An **N-model index** (``routellm train sw_ranking --n-model``) also keeps each indexed prompt's raw score
of every model scored on it (``scores_indptr``, ``scores_models``, ``scores_values``: compressed sparse
rows, the values float16) and the settings of :class:`QualitySettings` in the config's ``quality`` key,
from which :meth:`SWIndex.quality_for_similarities` predicts a quality in [0, 1] per model for a query.
An index without them (every index built before, and the shipped two-model one) is read and scored
exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_core.plugin_api import ConfigError

from .elo import INIT_RATING, compute_tiers, fit_ratings, win_tables

FORMAT = "routellm-elo"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "index.safetensors"
DEFAULT_NUM_TIERS = 10
#: ridge of the global model ratings (natural log-odds units): only fixes the offset between groups of models
#: that never met, and the ratings of models that never lost
GLOBAL_RIDGE = 1e-3
SAME_TIER = ("routellm", "ignore")
#: batches up to this many queries avoid BLAS (see :meth:`SWIndex.similarities`)
SMALL_BATCH = 8
#: how an index turns a query into per-model quality (see :class:`QualitySettings`)
QUALITY_METHODS = ("neighbours", "elo")


class SWIndexError(ConfigError):
    """An index directory is missing or malformed."""


@dataclass
class Weighting:
    """How a query weighs the indexed prompts' battles.

    ``w_i = 10 ** (sharpness · (max(s_i, min_similarity) − 1))`` for cosine similarity ``s_i`` (``s_i / max_j s_j``
    with ``relative_to_max``, RouteLLM's choice). An identical prompt weighs 1; ``min_similarity`` gives every
    battle at least the weight of one at that similarity (a prior: the global table), and ``ridge`` is an L2
    penalty on the query's tier ratings (natural log-odds units) that keeps them finite when the weighted
    battles leave a tier undefeated. RouteLLM: ``10 · 10 ** (s_i / max_j s_j)``, i.e. ``sharpness=1,
    relative_to_max=True`` (no minimum) up to a constant factor, which does not change the fit.
    ``length_scale`` (0: off) makes prompts of different length less similar: ``s_i`` is reduced by
    ``length_scale · |ln(1 + chars_query) − ln(1 + chars_i)|`` (needs an index that stores prompt lengths). ``same_tier``:
    battles between two models of one tier count as RouteLLM's design matrix counts them (``"routellm"``) or
    not at all (``"ignore"``).
    """

    sharpness: float = 1.0
    min_similarity: float = -1.0
    ridge: float = 1e-9
    length_scale: float = 0.0
    relative_to_max: bool = False
    same_tier: str = "routellm"

    def __post_init__(self) -> None:
        if self.same_tier not in SAME_TIER:
            raise ValueError(f"same_tier must be one of {', '.join(SAME_TIER)}, got {self.same_tier!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "sharpness": self.sharpness,
            "min_similarity": self.min_similarity,
            "length_scale": self.length_scale,
            "ridge": self.ridge,
            "relative_to_max": self.relative_to_max,
            "same_tier": self.same_tier,
        }


@dataclass
class QualitySettings:
    """How a query's quality per model is predicted (N-model routing).

    ``method="neighbours"``: the similarity-weighted mean of the model's scores on the indexed prompts that
    score it, shrunk towards the model's mean over all of them: ``q_j = (sum_i w_i s_ij + prior · m_j) /
    (sum_i w_i + prior)``, ``w_i = 10 ** (sharpness · (max(cos_i, min_similarity) − 1))`` (an identical prompt
    weighs 1, ``prior`` is the weight of the model's global mean ``m_j`` in units of identical prompts).
    ``method="elo"``: the query's similarity-weighted Elo ratings of the tiers (the router's two-model fit);
    a model's quality is its expected win rate against the other requested models (0.5 when alone).
    """

    method: str = "elo"
    sharpness: float = 40.0
    min_similarity: float = 0.6
    prior: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in QUALITY_METHODS:
            raise ValueError(f"quality method must be one of {', '.join(QUALITY_METHODS)}, got {self.method!r}")
        if not (np.isfinite(self.sharpness) and self.sharpness >= 0):
            raise ValueError(f"quality sharpness must be a finite number >= 0, got {self.sharpness}")
        if not (np.isfinite(self.prior) and self.prior > 0):
            raise ValueError(f"quality prior must be a finite number > 0, got {self.prior}")

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "sharpness": self.sharpness, "min_similarity": self.min_similarity, "prior": self.prior}


@dataclass
class SWIndex:
    """Everything a sw_ranking router scores with."""

    embeddings: np.ndarray  # (P, d) unit rows
    tables: np.ndarray  # (P, T + 1, T + 1) tier win tables of each prompt's battles (player T: same-tier battles)
    models: list[str]
    model_tiers: np.ndarray  # (M,) tier of each model
    model_ratings: np.ndarray  # (M,) global Elo ratings
    num_tiers: int
    projection: np.ndarray | None = None  # (D, d): embedder vectors -> index space
    log_chars: np.ndarray | None = None  # (P,) ln(1 + characters) of each indexed prompt
    embedder: dict[str, Any] = field(default_factory=dict)
    weighting: Weighting = field(default_factory=Weighting)
    default_strong: str | None = None
    default_weak: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    labels: str = "hard"
    meta: dict[str, Any] = field(default_factory=dict)
    scores: np.ndarray | None = None  # (P, M) each model's score on each indexed prompt, NaN where not scored (N-model)
    quality: QualitySettings | None = None  # how quality per model is predicted (None: the Elo win rate over tiers)

    def __post_init__(self) -> None:
        t = self.num_tiers + 1
        if self.tables.ndim != 3 or self.tables.shape[1:] != (t, t) or len(self.tables) != len(self.embeddings):
            raise SWIndexError(f"index tables have shape {self.tables.shape}; expected ({len(self.embeddings)}, {t}, {t})")
        if len(self.model_tiers) != len(self.models) or len(self.model_ratings) != len(self.models):
            raise SWIndexError("index: one tier and one rating per model expected")
        flat = self.tables.reshape(len(self.tables), t * t)
        self._flat32 = np.ascontiguousarray(flat, dtype=np.float32)
        self._emb = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        if self.scores is not None:
            sc = np.asarray(self.scores, np.float32)
            if sc.shape != (len(self.embeddings), len(self.models)):
                raise SWIndexError(f"index scores have shape {sc.shape}; expected ({len(self.embeddings)}, {len(self.models)})")
            present = ~np.isnan(sc)
            if np.any(sc[present] < 0) or np.any(sc[present] > 1):
                raise SWIndexError("index scores must lie in [0, 1]")
            self.scores = sc
            self._score_mask = np.ascontiguousarray(present, dtype=np.float32)
            self._score_vals = np.ascontiguousarray(np.where(present, sc, 0.0), dtype=np.float32)
            counts = present.sum(axis=0)
            self._score_prior = np.where(counts > 0, self._score_vals.sum(axis=0) / np.maximum(counts, 1), np.nan)

    # -- geometry --------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        """The dimension of the embedder's vectors this index expects."""
        return int(self.projection.shape[0]) if self.projection is not None else int(self.embeddings.shape[1])

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Embedder vectors -> unit vectors in the index space."""
        v = np.asarray(vectors, np.float32)
        if v.ndim != 2 or v.shape[1] != self.input_dim:
            raise ValueError(f"query vectors have dimension {v.shape[-1] if v.ndim else 0}; the index expects {self.input_dim}")
        if self.projection is not None:
            v = v @ self.projection
        unit: np.ndarray = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return unit

    # -- scoring ---------------------------------------------------------------
    def query_tables(
        self, vectors: np.ndarray, weighting: Weighting | None = None, log_chars: np.ndarray | None = None
    ) -> np.ndarray:
        """``(Q, T + 1, T + 1)`` similarity-weighted tier win tables of the queries (embedder vectors, and
        ``ln(1 + characters)`` of each query when the weighting has a ``length_scale``)."""
        wt = weighting or self.weighting
        return self.tables_for_similarities(self.similarities(vectors, wt, log_chars), wt)

    def similarities(
        self, vectors: np.ndarray, weighting: Weighting | None = None, log_chars: np.ndarray | None = None
    ) -> np.ndarray:
        """``(Q, P)`` similarities (float32) of the queries (embedder vectors) to the indexed prompts: cosine, less
        the length term of the weighting (see :class:`Weighting`)."""
        wt = weighting or self.weighting
        z = self.project(vectors)
        # a few queries: numpy's own loops; a multi-threaded BLAS call for one row can take tens of milliseconds on a
        # busy machine (threads waiting for cores) for work of well under one
        sims: np.ndarray = np.einsum("qd,pd->qp", z, self._emb) if len(z) <= SMALL_BATCH else z @ self._emb.T
        if wt.length_scale:
            if self.log_chars is None or log_chars is None:
                raise ValueError("length_scale needs prompt lengths: an index built with them and the queries' lengths")
            gap = np.abs(np.asarray(log_chars, np.float32)[:, None] - self.log_chars.astype(np.float32)[None, :])
            sims -= np.float32(wt.length_scale) * gap
        return sims

    def weights_for_similarities(self, sims: np.ndarray, weighting: Weighting | None = None) -> np.ndarray:
        """The weight of each indexed prompt's battles (``(Q, P)``, float32).

        ``sims`` is overwritten when it is a float32 array (the weights are computed in place: this is
        the largest array of a batch)."""
        wt = weighting or self.weighting
        s = sims if isinstance(sims, np.ndarray) and sims.dtype == np.float32 else np.asarray(sims, np.float32)
        if wt.relative_to_max:
            s /= np.maximum(s.max(axis=1, keepdims=True), np.float32(1e-12))
        np.maximum(s, np.float32(wt.min_similarity), out=s)
        s -= np.float32(1.0)
        s *= np.float32(wt.sharpness * np.log(10.0))
        weights: np.ndarray = np.exp(s, out=s)
        return weights

    def tables_for_similarities(self, sims: np.ndarray, weighting: Weighting | None = None) -> np.ndarray:
        """The query tables from similarities (``sims`` is overwritten when float32, see :meth:`weights_for_similarities`)."""
        wt = weighting or self.weighting
        w = self.weights_for_similarities(sims, wt)
        flat = (np.einsum("qp,pc->qc", w, self._flat32) if len(w) <= SMALL_BATCH else w @ self._flat32).astype(np.float64)
        t = self.num_tiers
        tables = flat.reshape(len(w), t + 1, t + 1)
        if wt.same_tier == "ignore":
            tables[:, t, :] = 0.0
            tables[:, :, t] = 0.0
        return tables

    def tier_ratings(self, vectors: np.ndarray, weighting: Weighting | None = None) -> np.ndarray:
        """``(Q, T)`` Elo ratings of the tiers for each query, on RouteLLM's scale (the same-tier player at 1000)."""
        wt = weighting or self.weighting
        r = fit_ratings(self.query_tables(vectors, wt), ridge=wt.ridge)
        ratings: np.ndarray = r[:, :-1] - r[:, -1:] + INIT_RATING
        return ratings

    # -- quality per model (N-model routing) ----------------------------------
    @property
    def quality_settings(self) -> QualitySettings:
        """The index's settings, or the Elo win rate over tiers for an index without scores."""
        return self.quality if self.quality is not None else QualitySettings(method="elo")

    def quality_model_ids(self) -> list[int]:
        """Indices of the models this index predicts quality for: scored ones (``neighbours``), else tiered ones."""
        if self.quality_settings.method == "neighbours" and self.scores is not None:
            return [int(j) for j in np.flatnonzero(~np.isnan(self._score_prior))]
        return [int(j) for j in np.flatnonzero(self.model_tiers >= 0)]

    def quality_for_similarities(
        self, sims: np.ndarray, model_ids: Sequence[int], weighting: Weighting | None = None
    ) -> np.ndarray:
        """``(Q, len(model_ids))`` quality in [0, 1] of each model for queries with these similarities (``(Q, P)``;
        overwritten when float32). ``weighting``: the two-model weighting (used by the ``elo`` method)."""
        settings = self.quality_settings
        ids = np.asarray(model_ids, np.int64)
        if settings.method == "neighbours":
            if self.scores is None:
                raise SWIndexError("the neighbours quality method needs an index with scores (train it with --n-model)")
            qw = Weighting(sharpness=settings.sharpness, min_similarity=settings.min_similarity)
            w = self.weights_for_similarities(sims, qw)
            # every model's column in one product (slicing the (P, M) arrays per call would copy them), then the requested ones
            small = len(w) <= SMALL_BATCH
            num = (np.einsum("qp,pm->qm", w, self._score_vals) if small else w @ self._score_vals)[:, ids].astype(np.float64)
            den = (np.einsum("qp,pm->qm", w, self._score_mask) if small else w @ self._score_mask)[:, ids].astype(np.float64)
            prior = np.float64(settings.prior)
            q: np.ndarray = np.clip((num + prior * self._score_prior[ids]) / (den + prior), 0.0, 1.0)
            return q
        wt = weighting or self.weighting
        ratings = fit_ratings(self.tables_for_similarities(sims, wt), ridge=wt.ridge)
        r = ratings[:, self.model_tiers[ids]]  # (Q, m): each requested model's tier rating
        if len(ids) < 2:
            return np.full((len(r), len(ids)), 0.5)
        p = 1.0 / (1.0 + np.power(10.0, (r[:, None, :] - r[:, :, None]) / 400.0))  # p[q, j, k] = P(j beats k)
        win: np.ndarray = np.clip((p.sum(axis=2) - 0.5) / (len(ids) - 1), 0.0, 1.0)  # the diagonal holds P(j beats j) = 0.5
        return win

    # -- models ----------------------------------------------------------------
    def resolve(self, name: str, aliases: dict[str, str] | None = None) -> int:
        """Index of a model given its trained name or an alias (configured, then the index's own)."""
        for table in (aliases or {}, self.aliases):
            name = table.get(name, name)
        try:
            return self.models.index(name)
        except ValueError:
            raise KeyError(name) from None

    def tier_of(self, model: int) -> int:
        return int(self.model_tiers[model])

    # -- files -----------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str], dtype: str = "float16") -> None:
        """Write ``config.json`` and ``index.safetensors`` into ``directory``; ``dtype`` of the embeddings and of
        fractional table counts (whole half-battles are stored exactly as uint8)."""
        from safetensors.numpy import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        flat = self.tables.reshape(len(self.tables), -1)
        rows, cells = np.nonzero(flat)
        indptr = np.zeros(len(flat) + 1, np.int64)
        np.add.at(indptr, rows + 1, 1)
        values = flat[rows, cells]
        halves = np.rint(2 * values)
        if len(values) and np.array_equal(halves, 2 * values) and halves.max() <= 255:
            values_t = halves.astype(np.uint8)  # whole battles (hard labels): counts of half battles
            scale = 0.5
        else:  # fractional wins (soft labels): stored like the embeddings
            values_t, scale = values.astype(np.dtype(dtype)), 1.0
        tensors = {
            "embeddings": np.ascontiguousarray(self.embeddings, dtype=np.dtype(dtype)),
            "tables_indptr": np.cumsum(indptr).astype(np.int32),
            "tables_cells": cells.astype(np.uint8 if flat.shape[1] <= 256 else np.int32),
            "tables_values": values_t,
        }
        if self.log_chars is not None:
            tensors["log_chars"] = np.asarray(self.log_chars, np.float32)
        if self.projection is not None:
            tensors["projection"] = np.ascontiguousarray(self.projection, dtype=np.float32)
        if self.scores is not None:
            rows_s, cols_s = np.nonzero(self._score_mask)
            indptr_s = np.zeros(len(self.scores) + 1, np.int64)
            np.add.at(indptr_s, rows_s + 1, 1)
            tensors["scores_indptr"] = np.cumsum(indptr_s).astype(np.int32)
            tensors["scores_models"] = cols_s.astype(np.uint8 if len(self.models) <= 256 else np.int32)
            tensors["scores_values"] = self.scores[rows_s, cols_s].astype(np.float16)
        save_file(tensors, str(out / WEIGHTS_FILE))
        config = {
            "format": FORMAT,
            "version": VERSION,
            "prompts": len(self.embeddings),
            "dimension": int(self.embeddings.shape[1]),
            "input_dimension": self.input_dim,
            "num_tiers": self.num_tiers,
            "labels": self.labels,
            "models": self.models,
            "model_tiers": {m: int(t) for m, t in zip(self.models, self.model_tiers, strict=True)},
            "model_ratings": {m: round(float(r), 4) for m, r in zip(self.models, self.model_ratings, strict=True)},
            "tables_value_scale": scale,
            "embedder": self.embedder,
            "weighting": self.weighting.as_dict(),
            "default_strong": self.default_strong,
            "default_weak": self.default_weak,
            "aliases": self.aliases,
            **({"meta": self.meta} if self.meta else {}),
            **({"quality": self.quality.as_dict()} if self.quality is not None else {}),
        }
        (out / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n")

    def digest(self) -> str:
        """sha256 of the index's arrays and scoring configuration (cache keys)."""
        h = hashlib.sha256()
        for arr in (
            self._emb,
            self._flat32,
            self.projection if self.projection is not None else np.zeros(0),
            np.asarray(self.model_tiers),
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(json.dumps([self.models, self.weighting.as_dict()], sort_keys=True).encode())
        if self.scores is not None:  # N-model indexes only: the digest of every other index is unchanged
            h.update(np.ascontiguousarray(self._score_vals).tobytes())
            h.update(np.ascontiguousarray(self._score_mask).tobytes())
        if self.quality is not None:
            h.update(json.dumps(self.quality.as_dict(), sort_keys=True).encode())
        return h.hexdigest()


def default_index_dir() -> Path:
    """The index shipped in the package (``routellm_elo/default_index``)."""
    return Path(str(resources.files("routellm_elo") / "default_index"))


def nmodel_index_dir() -> Path:
    """The N-model index shipped in the package (``routellm_elo/nmodel_index``): quality for every model of
    RouterBench's and LLMRouter's score matrices, trained without their test files."""
    return Path(str(resources.files("routellm_elo") / "nmodel_index"))


def load_index(directory: str | os.PathLike[str]) -> SWIndex:
    """Read an index written by :meth:`SWIndex.save`."""
    from safetensors.numpy import load_file

    d = Path(directory)
    cfg_path, weights_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights_path.is_file():
        raise SWIndexError(f"{d}: not a sw_ranking index (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        cfg = json.loads(cfg_path.read_text())
    except ValueError as exc:
        raise SWIndexError(f"{cfg_path}: not valid JSON: {exc}") from None
    if cfg.get("format") != FORMAT:
        raise SWIndexError(f"{cfg_path}: format {cfg.get('format')!r}, expected {FORMAT!r}")
    tensors = load_file(str(weights_path))
    try:
        t = int(cfg["num_tiers"])
        emb = tensors["embeddings"].astype(np.float32)
        indptr, cells, values = tensors["tables_indptr"], tensors["tables_cells"], tensors["tables_values"]
        models = list(cfg["models"])
        tiers = np.asarray([cfg["model_tiers"][m] for m in models], np.int64)
        ratings = np.asarray([cfg["model_ratings"][m] for m in models], np.float64)
    except KeyError as exc:
        raise SWIndexError(f"{d}: missing {exc.args[0]!r}") from None
    if (
        len(indptr) != len(emb) + 1
        or len(cells) != len(values)
        or (len(cells) and (cells.min() < 0 or cells.max() >= (t + 1) ** 2))
    ):
        raise SWIndexError(f"{weights_path}: inconsistent table arrays")
    flat = np.zeros((len(emb), (t + 1) ** 2), np.float64)
    bounds = indptr.astype(np.int64)
    rows = np.repeat(np.arange(len(emb)), bounds[1:] - bounds[:-1])  # the prompt of each cell (np.diff: mistyped by numpy stubs)
    flat[rows, cells.astype(np.int64)] = values.astype(np.float64) * float(cfg.get("tables_value_scale", 1.0))
    w = cfg.get("weighting") or {}
    scores = None
    if "scores_values" in tensors:
        s_ptr = tensors["scores_indptr"].astype(np.int64)
        s_cols = tensors["scores_models"].astype(np.int64)
        s_vals = tensors["scores_values"]
        if len(s_ptr) != len(emb) + 1 or len(s_cols) != len(s_vals) or (len(s_cols) and s_cols.max() >= len(models)):
            raise SWIndexError(f"{weights_path}: inconsistent score arrays")
        scores = np.full((len(emb), len(models)), np.nan, np.float32)
        scores[np.repeat(np.arange(len(emb)), s_ptr[1:] - s_ptr[:-1]), s_cols] = s_vals.astype(np.float32)
    try:
        quality = QualitySettings(**cfg["quality"]) if cfg.get("quality") else None
    except (TypeError, ValueError) as exc:
        raise SWIndexError(f"{cfg_path}: bad quality settings: {exc}") from None
    return SWIndex(
        embeddings=emb,
        tables=flat.reshape(len(emb), t + 1, t + 1),
        models=models,
        model_tiers=tiers,
        model_ratings=ratings,
        num_tiers=t,
        projection=tensors["projection"].astype(np.float32) if "projection" in tensors else None,
        log_chars=tensors["log_chars"].astype(np.float32) if "log_chars" in tensors else None,
        embedder=dict(cfg.get("embedder") or {}),
        weighting=Weighting(**w),
        default_strong=cfg.get("default_strong"),
        default_weak=cfg.get("default_weak"),
        aliases=dict(cfg.get("aliases") or {}),
        labels=cfg.get("labels", "hard"),
        meta=dict(cfg.get("meta") or {}),
        scores=scores,
        quality=quality,
    )


def log_chars(prompts: Sequence[str]) -> np.ndarray:
    """``ln(1 + characters)`` of each prompt (float32)."""
    return np.log1p(np.asarray([len(p) for p in prompts], np.float64)).astype(np.float32)


def hard_labels(label: np.ndarray) -> np.ndarray:
    """Battles from soft labels: the better-scored model wins (1 / 0), equal scores tie (0.5)."""
    y = np.asarray(label, np.float64)
    return np.where(y > 0.5, 1.0, np.where(y < 0.5, 0.0, 0.5))


def build_index(
    embeddings: np.ndarray,
    prompt_idx: np.ndarray,
    model_a: np.ndarray,
    model_b: np.ndarray,
    label: np.ndarray,
    models: list[str],
    *,
    num_tiers: int = DEFAULT_NUM_TIERS,
    labels: str = "hard",
    dim: int | None = None,
    weighting: Weighting | None = None,
    embedder: dict[str, Any] | None = None,
    default_strong: str | None = None,
    default_weak: str | None = None,
    aliases: dict[str, str] | None = None,
    prompts: list[str] | None = None,
    scores: np.ndarray | None = None,
    quality: QualitySettings | None = None,
) -> SWIndex:
    """An index from per-prompt battles.

    ``embeddings``: one unit row per prompt; ``prompt_idx``, ``model_a``, ``model_b``, ``label``: one entry per
    battle (``label`` = P(a wins): 1, 0, 0.5 for a tie, or a soft label). ``labels``: ``"hard"`` turns soft
    labels into wins/ties as battles (the better-scored model wins), ``"soft"`` counts ``label`` as a fractional
    win. ``dim``: keep the top ``dim`` principal directions of the embeddings (uncentred), which the query
    vectors are projected on too. ``prompts``: the prompts' texts, whose lengths the index keeps (for ``length_scale``).
    ``scores`` (N-model index): ``(P, M)`` each model's score on each prompt, NaN where it has none, stored as
    float16 (rounded here, so an index predicts the same before and after saving); ``quality``: its settings.
    """
    if labels not in ("hard", "soft"):
        raise ValueError(f"labels must be 'hard' or 'soft', got {labels!r}")
    emb = np.asarray(embeddings, np.float32)
    pi = np.asarray(prompt_idx, np.int64)
    a, b = np.asarray(model_a, np.int64), np.asarray(model_b, np.int64)
    y = np.asarray(label, np.float64)
    if labels == "hard":
        y = hard_labels(y)
    n_models = len(models)
    ratings = fit_ratings(win_tables(a, b, y, n_models), ridge=GLOBAL_RIDGE)
    seen = np.zeros(n_models, bool)
    seen[a], seen[b] = True, True
    tiers = np.full(n_models, -1, np.int64)
    tiers[seen] = compute_tiers(ratings[seen], num_tiers)
    t = int(tiers.max()) + 1 if seen.any() else 1
    ta, tb = tiers[a], tiers[b]
    u = t + 1  # player t: the opponent of same-tier battles (see the module docstring)
    same = ta == tb
    row_a = np.where(same, t, ta)  # a same-tier battle won by model_a is a win of player t over the tier
    flat = np.zeros((len(emb), u * u))
    np.add.at(flat, (pi, row_a * u + tb), y)
    np.add.at(flat, (pi, tb * u + row_a), 1.0 - y)
    projection = None
    if dim is not None and dim < emb.shape[1]:
        _, _, vt = np.linalg.svd(emb.astype(np.float64), full_matrices=False)
        projection = vt[:dim].T.astype(np.float32)
        emb = emb @ projection
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return SWIndex(
        embeddings=emb,
        tables=flat.reshape(len(emb), u, u),
        models=list(models),
        model_tiers=tiers,
        model_ratings=ratings,
        num_tiers=t,
        projection=projection,
        embedder=dict(embedder or {}),
        log_chars=None if prompts is None else log_chars(prompts),
        weighting=weighting or Weighting(),
        default_strong=default_strong,
        default_weak=default_weak,
        aliases=dict(aliases or {}),
        labels=labels,
        scores=None if scores is None else np.asarray(scores, np.float32).astype(np.float16).astype(np.float32),
        quality=quality,
    )
