"""N-model routing: predicted quality per model, prices, the cost knob and the choice rule.

A router that can predict, for each prompt, a quality in [0, 1] for each of N named models
implements :class:`QualityRouter` next to :class:`~routellm_core.router.Router` (``class MyRouter(Router,
QualityRouter)``) and registers through the same ``routellm_register_routers`` hook as any router; the
two-model ``Router`` contract is unchanged. A two-model router is the N = 2 case through
:class:`TwoModelQuality`: quality 1 for the strong model and ``1 - score`` for the weak one, so the
knob below sweeps exactly its thresholds.

The choice rule (:func:`choose`): with each model's expected cost for the request, the chosen model
maximises ``quality - lambda(w) * cost / max_cost`` over the candidates, where ``w`` in [0, 1] is the
knob: ``w = 0`` picks the best predicted model (the cheapest of equals), ``w = 1`` the cheapest (the best
of equals). **Monotonicity is the contract**: for a fixed prompt, the chosen model's cost never increases
as ``w`` increases. The rule walks the upper concave hull of (cost, quality) from the cheapest model
towards dearer ones while a step gains more quality per unit of cost than ``lambda(w)``; the hull and its
slopes depend on the prompt only, so the number of steps can only shrink as ``w`` grows, exactly, in
floating point too.

The second policy (:func:`cheapest_at_least`): the cheapest model whose predicted quality is at least
``q``; when none is, the best predicted one.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .errors import ConfigError, RoutingError
from .threshold import unit_interval

#: prices are in USD per this many tokens
TOKENS_PER_PRICE_UNIT = 1_000_000


class QualityRouter(abc.ABC):
    """A router that predicts, for each prompt, a quality in [0, 1] for each of N named models.

    Implement :attr:`quality_models` (every model the router can predict for) and
    :meth:`predict_quality`; combine it with :class:`~routellm_core.router.Router`
    (``class MyRouter(Router, QualityRouter)``). Predictions must be deterministic for a fixed
    configuration and batched (a prompt's row does not depend on the other prompts in the batch).
    """

    @property
    @abc.abstractmethod
    def quality_models(self) -> tuple[str, ...]:
        """The names of the models this router predicts quality for (its own names for them)."""

    @abc.abstractmethod
    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        """A float array ``(len(prompts), len(models))`` in [0, 1]: the predicted quality of each model's answer."""

    def resolve_quality_model(self, model: str) -> str:
        """The router's own name for ``model`` (override to accept aliases); RoutingError when it is unknown."""
        if model in self.quality_models:
            return model
        raise RoutingError(f"unknown model {model!r} for this router; it predicts quality for: {', '.join(self.quality_models)}")


def supports_quality(router: object) -> bool:
    """True when ``router`` predicts per-model quality (implements :class:`QualityRouter`)."""
    return isinstance(router, QualityRouter)


def predict_quality_checked(router: QualityRouter, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
    """:meth:`QualityRouter.predict_quality` with its contract enforced: known models, shape, finite, in [0, 1]."""
    prompts = list(prompts)
    models = list(models)
    if not models:
        raise RoutingError("give at least one model to predict quality for")
    resolved = [router.resolve_quality_model(m) for m in models]
    name = getattr(router, "name", "") or type(router).__name__
    quality = np.asarray(router.predict_quality(prompts, resolved), dtype=np.float64)
    if quality.shape != (len(prompts), len(models)):
        raise ValueError(
            f"router {name!r} returned quality of shape {quality.shape} for {len(prompts)} prompts x {len(models)} models"
        )
    if not np.all(np.isfinite(quality)) or np.any(quality < 0.0) or np.any(quality > 1.0):
        raise ValueError(f"router {name!r} returned a quality outside [0, 1]")
    return quality


class TwoModelQuality(QualityRouter):
    """A two-model router as an N = 2 quality predictor: quality 1 for ``strong``, ``1 - score`` for ``weak``.

    With the knob, the strong model is chosen iff ``score > lambda(w) * (1 - weak_cost / strong_cost)``: a
    threshold rising from 0 (``w = 0``: always strong) to past 1 (``w = 1``: always weak), so the knob sweeps
    the router's thresholds in order.
    """

    def __init__(self, router: Any, strong: str, weak: str) -> None:
        if strong == weak:
            raise ConfigError(f"a two-model router needs two different models, got {strong!r} twice")
        self.router = router
        self.name = getattr(router, "name", "")
        self.strong, self.weak = strong, weak

    @property
    def quality_models(self) -> tuple[str, ...]:
        return (self.strong, self.weak)

    def predict_quality(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        scores = np.asarray(self.router.score_checked(list(prompts)), dtype=np.float64)
        columns = {self.strong: np.ones_like(scores), self.weak: 1.0 - scores}
        return np.stack([columns[m] for m in models], axis=1) if len(prompts) else np.zeros((0, len(models)))


# -- prices ------------------------------------------------------------------------------------


def check_cost(value: object, *, what: str) -> float:
    """``value`` as a finite, non-negative float; ConfigError naming ``what`` and the value otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a finite number >= 0 (USD), got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]  # any object: float() errors become ConfigError below
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{what} must be a finite number >= 0 (USD), got {value!r}") from None
    if not math.isfinite(number) or number < 0.0:
        raise ConfigError(f"{what} must be a finite number >= 0 (USD), got {value!r}")
    return number


@dataclass(frozen=True)
class ModelPrice:
    """A model's price in USD per 1M input and per 1M output tokens (checked: finite, >= 0)."""

    input_per_million: float
    output_per_million: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_per_million", check_cost(self.input_per_million, what="input price per 1M tokens"))
        object.__setattr__(self, "output_per_million", check_cost(self.output_per_million, what="output price per 1M tokens"))

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """USD for a call with these token counts."""
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / TOKENS_PER_PRICE_UNIT


def litellm_price(model: str) -> ModelPrice | None:
    """The price litellm's cost map knows for ``model`` (a litellm model id), or None when it has none."""
    from .litellm_import import import_litellm

    litellm = import_litellm()
    entry = litellm.model_cost.get(model)
    if entry is None and "/" in model:
        entry = litellm.model_cost.get(model.split("/", 1)[1])
    if not entry:
        return None
    try:
        return ModelPrice(
            float(entry.get("input_cost_per_token") or 0.0) * TOKENS_PER_PRICE_UNIT,
            float(entry.get("output_cost_per_token") or 0.0) * TOKENS_PER_PRICE_UNIT,
        )
    except ConfigError:
        return None


# -- the knob and the choice -------------------------------------------------------------------


def validate_knob(w: object) -> float:
    """``w`` as a float in [0, 1]; RoutingError naming the value otherwise."""
    return unit_interval(w, f"the cost knob must be a number in [0, 1] (0: best predicted model, 1: cheapest), got {w!r}")


def validate_quality_level(level: object) -> float:
    """``level`` as a float in [0, 1]; RoutingError naming the value otherwise."""
    what = "the cheapest model predicted at least this good"
    return unit_interval(level, f"the quality level must be a number in [0, 1] ({what}), got {level!r}")


def knob_lambda(w: float) -> float:
    """The price of cost in quality units: ``w / (1 - w)`` (0 at ``w = 0``, infinite at ``w = 1``), non-decreasing in ``w``.

    Costs are divided by the dearest candidate's cost first, so ``w = 0.5`` trades one whole unit of
    quality for the dearest model's cost.
    """
    w = validate_knob(w)
    return math.inf if w >= 1.0 else w / (1.0 - w)


def _vectors(quality: npt.ArrayLike, cost: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(quality, dtype=np.float64).reshape(-1)
    c = np.asarray(cost, dtype=np.float64).reshape(-1)
    if q.size == 0 or q.shape != c.shape:
        raise ValueError(f"need one quality and one cost per model, got {q.size} qualities and {c.size} costs")
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("qualities must be finite and costs finite and >= 0")
    return q, c


def frontier(quality: npt.ArrayLike, cost: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The upper concave hull of (cost, quality) from the cheapest model: its model indices and the slopes between them.

    Indices run from the cheapest model (the best of equally cheap ones) to the best one (the cheapest
    of equally good ones); ``slopes[i]`` is the quality gained per unit of normalised cost (cost divided by
    the dearest model's) by stepping from ``indices[i]`` to ``indices[i + 1]``.
    """
    q, c = _vectors(quality, cost)
    order = sorted(range(q.size), key=lambda j: (c[j], -q[j], j))
    hull: list[int] = []
    for j in order:
        if hull and q[j] <= q[hull[-1]]:
            continue  # no better than a model that costs no more
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies on or under the segment a -> j: drop it (cross-multiplied to avoid dividing)
            if (q[b] - q[a]) * (c[j] - c[a]) <= (q[j] - q[a]) * (c[b] - c[a]):
                hull.pop()
            else:
                break
        hull.append(j)
    idx = np.asarray(hull, dtype=np.int64)
    dq = np.diff(q[idx])
    dc = np.diff(c[idx]) / float(c.max()) if idx.size > 1 else np.zeros(0)  # costs rise strictly along the hull
    with np.errstate(divide="ignore", over="ignore"):
        slopes = dq / dc
    return idx, slopes


def choose(quality: npt.ArrayLike, cost: npt.ArrayLike, w: float) -> int:
    """The index of the model the knob ``w`` picks for one prompt (see the module docstring).

    ``quality``: predicted quality per model; ``cost``: expected cost per model (USD, >= 0).
    """
    lam = knob_lambda(w)
    idx, slopes = frontier(quality, cost)
    steps = 0
    while steps < slopes.size and slopes[steps] > lam:
        steps += 1
    return int(idx[steps])


def choose_many(quality: npt.ArrayLike, cost: npt.ArrayLike, w: float) -> np.ndarray:
    """:func:`choose` for each row: ``quality`` ``(n, m)``, ``cost`` ``(n, m)`` or ``(m,)`` -> indices ``(n,)``."""
    q = np.asarray(quality, dtype=np.float64)
    c = np.broadcast_to(np.asarray(cost, dtype=np.float64), q.shape)
    return np.asarray([choose(q[i], c[i], w) for i in range(q.shape[0])], dtype=np.int64)


def cheapest_at_least(quality: npt.ArrayLike, cost: npt.ArrayLike, level: float) -> int:
    """The cheapest model whose predicted quality is >= ``level`` (the best of equally cheap ones); the best
    predicted model (the cheapest of equals) when none reaches it."""
    level = validate_quality_level(level)
    q, c = _vectors(quality, cost)
    ok = np.flatnonzero(q >= level)
    if ok.size == 0:
        best = np.flatnonzero(q == q.max())
        return int(min(best, key=lambda j: (c[j], j)))
    return int(min(ok, key=lambda j: (c[j], -q[j], j)))


def expected_cost(prices: Sequence[ModelPrice], input_tokens: float, output_tokens: float) -> np.ndarray:
    """Each model's expected cost (USD) for a call with these token counts."""
    return np.asarray([p.cost(input_tokens, output_tokens) for p in prices], dtype=np.float64)


def estimate_tokens(text: str) -> int:
    """A provider-independent token estimate for cost: about four characters per token, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def prices_from_mapping(prices: Mapping[str, Any], *, what: str = "prices") -> dict[str, ModelPrice]:
    """``{model: {"input": usd_per_1m, "output": usd_per_1m}}`` checked into :class:`ModelPrice` objects."""
    out: dict[str, ModelPrice] = {}
    for model, entry in prices.items():
        if not isinstance(entry, Mapping) or set(entry) - {"input", "output"} or not entry:
            raise ConfigError(
                f"{what}: the price of {model!r} must be {{input: USD per 1M tokens, output: USD per 1M tokens}}, got {entry!r}"
            )
        out[model] = ModelPrice(
            check_cost(entry.get("input", 0.0), what=f"{what}: input price of {model!r}"),
            check_cost(entry.get("output", 0.0), what=f"{what}: output price of {model!r}"),
        )
    return out


__all__ = [
    "ModelPrice",
    "QualityRouter",
    "TOKENS_PER_PRICE_UNIT",
    "TwoModelQuality",
    "cheapest_at_least",
    "check_cost",
    "choose",
    "choose_many",
    "estimate_tokens",
    "expected_cost",
    "frontier",
    "knob_lambda",
    "litellm_price",
    "predict_quality_checked",
    "prices_from_mapping",
    "supports_quality",
    "validate_knob",
    "validate_quality_level",
]
