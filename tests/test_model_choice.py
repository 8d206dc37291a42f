"""The N-model contract: the choice rule (monotone in the knob), the quality floor, prices and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.errors import ConfigError, RoutingError
from routellm_core.model_choice import (
    ModelPrice,
    QualityRouter,
    TwoModelQuality,
    cheapest_at_least,
    choose,
    choose_many,
    frontier,
    knob_lambda,
    predict_quality_checked,
    prices_from_mapping,
    supports_quality,
    validate_knob,
)
from routellm_core.router import Router

unit = st.floats(0.0, 1.0, allow_nan=False)
costs = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def models(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    m = draw(st.integers(1, 8))
    return draw(st.lists(unit, min_size=m, max_size=m)), draw(st.lists(costs, min_size=m, max_size=m))


@settings(max_examples=500)
@given(models(), st.lists(unit, min_size=2, max_size=6))
def test_chosen_cost_never_increases_with_the_knob(qc: tuple[list[float], list[float]], knobs: list[float]) -> None:
    quality, cost = qc
    chosen = [cost[choose(quality, cost, w)] for w in sorted(knobs)]
    assert all(later <= earlier for earlier, later in zip(chosen, chosen[1:], strict=False))


@settings(max_examples=300)
@given(models())
def test_the_ends_of_the_knob(qc: tuple[list[float], list[float]]) -> None:
    quality, cost = qc
    q, c = np.asarray(quality), np.asarray(cost)
    best = choose(q, c, 0.0)
    assert q[best] == q.max()
    assert c[best] == c[q == q.max()].min()  # the cheapest of the best
    cheapest = choose(q, c, 1.0)
    assert c[cheapest] == c.min()
    assert q[cheapest] == q[c == c.min()].max()  # the best of the cheapest


@settings(max_examples=300)
@given(models(), unit)
def test_the_choice_maximises_quality_minus_priced_cost(qc: tuple[list[float], list[float]], w: float) -> None:
    quality, cost = qc
    q, c = np.asarray(quality), np.asarray(cost)
    lam = knob_lambda(w)
    if math.isinf(lam) or c.max() == 0:
        return
    value = q - lam * c / c.max()
    assert value[choose(q, c, w)] >= value.max() - 1e-9


@settings(max_examples=200)
@given(models())
def test_frontier_is_concave_and_increasing(qc: tuple[list[float], list[float]]) -> None:
    idx, slopes = frontier(*qc)
    q = np.asarray(qc[0])[idx]
    assert np.all(np.diff(q) > 0)
    assert np.all(slopes > 0)
    assert np.all(np.diff(slopes) <= 1e-9 * np.maximum(1.0, np.abs(slopes[1:])))


def test_choose_many_matches_choose_row_by_row() -> None:
    rng = np.random.default_rng(0)
    q, c = rng.random((50, 5)), rng.random(5) * 10
    for w in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert list(choose_many(q, c, w)) == [choose(q[i], c, w) for i in range(50)]


@settings(max_examples=300)
@given(models(), unit)
def test_cheapest_at_least(qc: tuple[list[float], list[float]], level: float) -> None:
    q, c = np.asarray(qc[0]), np.asarray(qc[1])
    j = cheapest_at_least(q, c, level)
    if (q >= level).any():
        assert q[j] >= level and c[j] == c[q >= level].min()
    else:
        assert q[j] == q.max()


class _Half(Router):
    def score(self, prompts):  # type: ignore[no-untyped-def]
        return np.full(len(prompts), 0.5)


@settings(max_examples=200)
@given(st.integers(0, 1024), st.floats(0.0, 0.99), unit)
def test_two_model_router_is_the_n2_case(steps: int, cost_ratio: float, w: float) -> None:
    """Strong iff score > lambda(w) * (1 - weak_cost / strong_cost): a threshold rule, the threshold rising with w.

    (Scores on a grid where ``1 - score`` is exact in floating point.)
    """
    score = steps / 1024

    class Fixed(Router):
        def score(self, prompts):  # type: ignore[no-untyped-def]
            return np.full(len(prompts), score)

    two = TwoModelQuality(Fixed(), "strong", "weak")
    q = predict_quality_checked(two, ["p"], ["strong", "weak"])[0]
    cost = np.asarray([1.0, cost_ratio])
    threshold = knob_lambda(w) * (1 - cost_ratio)
    assert (choose(q, cost, w) == 0) == (score > threshold)
    if score > 0:  # w = 0: strong unless the router is sure the weak answer is as good
        assert choose(q, cost, 0.0) == 0


def test_supports_quality_and_unknown_models() -> None:
    two = TwoModelQuality(_Half(), "a", "b")
    assert supports_quality(two) and not supports_quality(_Half())
    with pytest.raises(RoutingError, match="unknown model 'c'.*a, b"):
        predict_quality_checked(two, ["p"], ["a", "c"])
    with pytest.raises(ConfigError, match="two different models"):
        TwoModelQuality(_Half(), "a", "a")


def test_a_bad_quality_router_is_caught() -> None:
    class Bad(QualityRouter):
        quality_models = ("a",)  # type: ignore[assignment]

        def predict_quality(self, prompts, models):  # type: ignore[no-untyped-def]
            return np.full((len(prompts), len(models)), 1.5)

    with pytest.raises(ValueError, match="outside"):
        predict_quality_checked(Bad(), ["p"], ["a"])


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf, "x", None, True])
def test_bad_knob_names_the_value(bad: object) -> None:
    with pytest.raises(RoutingError, match=r"knob must be a number in \[0, 1\].*got"):
        validate_knob(bad)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "cheap", None])
def test_bad_price_names_the_value(bad: object) -> None:
    with pytest.raises(ConfigError, match="input price.*got"):
        ModelPrice(bad, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'m'"):
        prices_from_mapping({"m": {"input": bad, "output": 1.0}})


def test_price_cost() -> None:
    assert ModelPrice(2.0, 10.0).cost(1000, 500) == pytest.approx((2000 + 5000) / 1e6)
    with pytest.raises(ConfigError, match="must be"):
        prices_from_mapping({"m": {"inputs": 1}})
