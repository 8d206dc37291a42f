import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from routellm_core.errors import RoutingError
from routellm_core.threshold import (
    calibrate_threshold,
    format_model_name,
    parse_model_name,
    route_strong,
    strong_fraction,
    strong_mask,
    validate_threshold,
)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
score_lists = st.lists(unit, min_size=1, max_size=200)
router_names = st.from_regex(r"[a-z0-9_][a-z0-9_.-]{0,20}", fullmatch=True)


def test_rule_is_greater_or_equal():
    assert route_strong(0.5, 0.5)
    assert not route_strong(0.4999, 0.5)
    assert route_strong(0.0, 0.0)


@given(score_lists, unit, unit)
def test_raising_threshold_never_sends_more_to_strong(scores, t1, t2):
    lo, hi = sorted((t1, t2))
    assert strong_mask(scores, hi).sum() <= strong_mask(scores, lo).sum()
    # and the strong set at the higher threshold is a subset
    assert not np.any(strong_mask(scores, hi) & ~strong_mask(scores, lo))


@given(score_lists)
def test_threshold_zero_sends_all_to_strong(scores):
    assert strong_fraction(scores, 0.0) == 1.0


@given(score_lists)
def test_threshold_above_every_score_sends_all_to_weak(scores):
    assume(max(scores) < 1.0)
    above = float(np.nextafter(max(scores), 2.0))
    assert strong_fraction(scores, above) == 0.0


@given(score_lists, unit)
def test_calibration_meets_target_and_is_tight(scores, target):
    t = calibrate_threshold(scores, target)
    assert 0.0 <= t <= 1.0
    achieved = strong_fraction(scores, t)
    assert achieved >= target
    # tight: any larger score value used as threshold falls below the target
    larger = [s for s in set(scores) if s > t]
    if larger:
        assert strong_fraction(scores, min(larger)) < target
    if target == 0.0 and max(scores) < 1.0:
        assert achieved == 0.0


def test_calibration_hand_cases():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert calibrate_threshold(scores, 0.3) == 0.8  # 0.3 * 10 must not round up to 4
    assert calibrate_threshold(scores, 1.0) == 0.1
    assert calibrate_threshold(scores, 0.25) == 0.8
    assert calibrate_threshold([0.5, 0.5, 0.5], 0.1) == 0.5  # ties: all go strong, as tight as the data allows
    with pytest.raises(ValueError):
        calibrate_threshold([], 0.5)
    with pytest.raises(ValueError):
        calibrate_threshold([0.2], 1.5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "abc", None, True, "1e400"])
def test_validate_threshold_rejects(bad):
    with pytest.raises(RoutingError, match=r"\[0, 1\]"):
        validate_threshold(bad)


@given(router_names, unit)
def test_format_parse_round_trip(name, threshold):
    model = format_model_name(name, threshold)
    assert parse_model_name(model) == (name, threshold)


def test_format_examples():
    assert format_model_name("mf", 0.11593) == "router-mf-0.11593"
    assert format_model_name("mf", 1e-05) == "router-mf-0.00001"
    assert format_model_name("sw_ranking", 1) == "router-sw_ranking-1"
    assert parse_model_name("router-mf-0.116") == ("mf", 0.116)
    assert parse_model_name("router-causal-llm-.5") == ("causal-llm", 0.5)


@given(st.text())
def test_parse_raises_only_routing_error(text):
    try:
        name, threshold = parse_model_name(text)
    except RoutingError:
        return
    assert 0.0 <= threshold <= 1.0 and math.isfinite(threshold)
    assert text.startswith("router-")


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_parse_non_strings(value):
    with pytest.raises(RoutingError):
        parse_model_name(value)


@pytest.mark.parametrize(
    "model, fragment",
    [
        ("gpt-4", "router-<router>-<threshold>"),
        ("router-mf", "router-<router>-<threshold>"),
        ("router-mf-1.5", "[0, 1]"),
        ("router-mf-abc", "invalid threshold"),
        ("router--0.5", "router-<router>-<threshold>"),
        ("router-MF-0.5", "invalid router name"),
        ("router-mf-1e-3", "[0, 1]"),
        ("router-mf-nan", "invalid threshold"),
    ],
)
def test_parse_messages_say_what_is_valid(model, fragment):
    with pytest.raises(RoutingError) as info:
        parse_model_name(model)
    assert fragment in str(info.value)
