"""The one threshold rule, calibration, and router model names.

Rule: a prompt goes to the strong model **iff score >= threshold**, with the
threshold in [0, 1]. Controller, server, evaluation and calibration all use
the functions here.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from .errors import RoutingError

MODEL_PREFIX = "router-"
_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,63}$")
_THRESHOLD_RE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")


def unit_interval(value: object, message: str) -> float:
    """``value`` as a float in [0, 1]; RoutingError with ``message`` for anything else (bools, NaN, strings...)."""
    if isinstance(value, bool):
        raise RoutingError(message)
    try:
        number = float(value)  # type: ignore[arg-type]  # any object: float() errors are turned into RoutingError below
    except (TypeError, ValueError, OverflowError):
        raise RoutingError(message) from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise RoutingError(message)
    return number


def validate_threshold(threshold: object) -> float:
    """Return ``threshold`` as a float, or raise RoutingError if it is not in [0, 1]."""
    return unit_interval(threshold, f"threshold must be a number in [0, 1], got {threshold!r}")


def route_strong(score: float, threshold: float) -> bool:
    """True when the prompt goes to the strong model."""
    return bool(score >= threshold)


def strong_mask(scores: Sequence[float] | np.ndarray, threshold: float) -> np.ndarray:
    """Vectorised :func:`route_strong`: boolean mask of prompts sent to the strong model."""
    return np.asarray(scores, dtype=np.float64) >= threshold


def strong_fraction(scores: Sequence[float] | np.ndarray, threshold: float) -> float:
    """Fraction of prompts whose score is >= threshold."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no scores")
    return float(np.count_nonzero(scores >= threshold)) / scores.size


def calibrate_threshold(scores: Sequence[float] | np.ndarray, strong_fraction_target: float) -> float:
    """Threshold that sends at least ``strong_fraction_target`` of these prompts to strong.

    Returns the largest threshold ``t`` with ``fraction(scores >= t) >= target``:
    the k-th largest score with ``k = ceil(target * n)``. With ties the fraction
    may exceed the target; that is as tight as the data allows. A target of 0
    returns the smallest threshold above every score (1.0 when a score is 1.0).
    """
    target = float(strong_fraction_target)
    if not math.isfinite(target) or not 0.0 <= target <= 1.0:
        raise ValueError(f"strong fraction must be in [0, 1], got {strong_fraction_target!r}")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = scores.size
    if n == 0:
        raise ValueError("cannot calibrate on zero prompts")
    if not np.all(np.isfinite(scores)) or np.any(scores < 0) or np.any(scores > 1):
        raise ValueError("scores must be finite and in [0, 1]")
    k = math.ceil(target * n)
    while k > 0 and (k - 1) / n >= target:  # guard against float rounding up in target * n
        k -= 1
    while k < n and k / n < target:
        k += 1
    ordered = np.sort(scores)[::-1]
    if k == 0:
        top = float(ordered[0])
        return min(1.0, float(np.nextafter(top, np.inf)))
    return float(ordered[k - 1])


def format_threshold(threshold: float) -> str:
    """Shortest positional decimal that round-trips (no exponent, so names stay parseable)."""
    value = validate_threshold(threshold)
    text = np.format_float_positional(value, trim="-", unique=True)
    return text


def format_model_name(router: str, threshold: float) -> str:
    """``router-<router>-<threshold>``, e.g. ``router-mf-0.11593``."""
    if not isinstance(router, str) or not _NAME_RE.match(router):
        raise RoutingError(f"invalid router name {router!r}: use lower-case letters, digits, '_', '.' and '-'")
    return f"{MODEL_PREFIX}{router}-{format_threshold(threshold)}"


def _split_model_name(model: object, expected: str) -> tuple[str, str, str]:
    """``router-<router>-<value>`` as ``(router, value text, the name as shown in messages)``; RoutingError otherwise."""
    if not isinstance(model, str):
        raise RoutingError(f"model must be a string; {expected}")
    shown = model if len(model) <= 80 else model[:77] + "..."
    if not model.startswith(MODEL_PREFIX):
        raise RoutingError(f"invalid model name {shown!r}: {expected}")
    body = model[len(MODEL_PREFIX) :]
    router, sep, value_text = body.rpartition("-")
    if not sep or not router or not value_text:
        raise RoutingError(f"invalid model name {shown!r}: {expected}")
    if not _NAME_RE.match(router):
        raise RoutingError(f"invalid router name in {shown!r}: {expected}")
    return router, value_text, shown


def parse_model_name(model: object) -> tuple[str, float]:
    """Split ``router-<router>-<threshold>`` into ``(router, threshold)``.

    Raises RoutingError (never anything else) for any other input.
    """
    expected = "expected 'router-<router>-<threshold>' with a threshold in [0, 1], e.g. 'router-mf-0.116'"
    router, threshold_text, shown = _split_model_name(model, expected)
    if not _THRESHOLD_RE.match(threshold_text):
        raise RoutingError(f"invalid threshold {threshold_text[:40]!r} in {shown!r}: {expected}")
    value = float(threshold_text)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise RoutingError(f"threshold {threshold_text[:40]} in {shown!r} is outside [0, 1]; {expected}")
    return router, value


# -- N-model names: the cost knob and the quality floor ----------------------------------------

#: with a models list: ``router-<router>-<w>`` routes with the cost knob ``w``
KNOB = "knob"
#: with a models list: ``router-<router>-q<level>`` sends to the cheapest model predicted at least ``level``
QUALITY_FLOOR = "quality_floor"
#: what marks a quality floor in a model name
QUALITY_MARK = "q"

NMODEL_EXPECTED = (
    "with a models list, use 'router-<router>-<w>' with the cost knob w in [0, 1] (0: the best predicted model, "
    "1: the cheapest; e.g. 'router-mf-0.3') or 'router-<router>-q<level>' for the cheapest model predicted at "
    "least <level> in [0, 1] (e.g. 'router-mf-q0.8')"
)


def parse_nmodel_name(model: object) -> tuple[str, str, float]:
    """Split an N-model name into ``(router, policy, value)``: ``policy`` is :data:`KNOB` or :data:`QUALITY_FLOOR`.

    ``router-<router>-<w>``: the cost knob ``w`` in [0, 1]; ``router-<router>-q<level>``: the quality floor
    ``level`` in [0, 1]. Raises RoutingError (never anything else) for any other input, naming the value and
    what is valid.
    """
    router, value_text, shown = _split_model_name(model, NMODEL_EXPECTED)
    policy, what = KNOB, "cost knob"
    if value_text.startswith(QUALITY_MARK):
        policy, what, value_text = QUALITY_FLOOR, "quality level", value_text[len(QUALITY_MARK) :]
    if not _THRESHOLD_RE.match(value_text):
        raise RoutingError(f"invalid {what} {value_text[:40]!r} in {shown!r}: {NMODEL_EXPECTED}")
    value = float(value_text)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise RoutingError(f"{what} {value_text[:40]} in {shown!r} is outside [0, 1]; {NMODEL_EXPECTED}")
    return router, policy, value


def format_nmodel_name(router: str, policy: str, value: float) -> str:
    """``router-<router>-<w>`` (policy :data:`KNOB`) or ``router-<router>-q<level>`` (:data:`QUALITY_FLOOR`)."""
    if policy not in (KNOB, QUALITY_FLOOR):
        raise ValueError(f"unknown N-model policy {policy!r}; valid: {KNOB}, {QUALITY_FLOOR}")
    name = format_model_name(router, value)
    if policy == QUALITY_FLOOR:
        head, _, tail = name.rpartition("-")
        name = f"{head}-{QUALITY_MARK}{tail}"
    return name
