"""Calibrating the cost knob to a budget (routellm_core.budget) and ``routellm calibrate --models``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.budget import calibrate_knob, shortest_decimal, smallest_knob_reaching
from routellm_core.cli import main
from routellm_core.model_choice import choose_many, knob_lambda
from routellm_core.threshold import KNOB, parse_nmodel_name

from .test_nmodel_routing import NAMES, PRICES, registered


def sample_cost(quality: np.ndarray, cost: np.ndarray, w: float) -> float:
    """The sample's total expected cost at knob ``w``, with the routing rule itself."""
    chosen = choose_many(quality, cost, w)
    return float(np.sum(cost[np.arange(chosen.size), chosen]))


@st.composite
def samples(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(2, 5))
    levels = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1)
    quality = np.asarray(draw(st.lists(st.lists(levels, min_size=m, max_size=m), min_size=n, max_size=n)))
    prices = st.sampled_from([0.0, 1e-6, 1e-3, 0.01, 0.01, 1.0]) | st.floats(0, 10)
    cost = np.asarray(draw(st.lists(st.lists(prices, min_size=m, max_size=m), min_size=n, max_size=n)))
    return quality, cost


@settings(max_examples=300, deadline=None)
@given(samples(), st.floats(0, 1.3))
def test_the_knob_meets_the_budget_and_is_the_smallest_that_does(sample, share):
    quality, cost = sample
    n = quality.shape[0]
    cheapest, best = sample_cost(quality, cost, 1.0), sample_cost(quality, cost, 0.0)
    per_1k = (cheapest + share * (best - cheapest)) * 1000 / n
    if cheapest > per_1k * n / 1000:  # float rounding below the cheapest: refused
        with pytest.raises(ValueError, match="below the cheapest"):
            calibrate_knob(quality, cost, max_cost_per_1k=per_1k)
        return
    result = calibrate_knob(quality, cost, max_cost_per_1k=per_1k)
    budget = per_1k * n / 1000
    assert sample_cost(quality, cost, result.knob) <= budget
    assert result.cost_per_1k == pytest.approx(sample_cost(quality, cost, result.knob) * 1000 / n)
    if result.knob > 0:  # the next smaller knob is over the budget
        below = float(np.nextafter(result.knob, -1.0))
        assert sample_cost(quality, cost, below) > budget
    # the short knob routes the sample exactly as the knob does
    assert np.array_equal(choose_many(quality, cost, result.short_knob), choose_many(quality, cost, result.knob))
    assert sum(result.counts) == n and sum(result.mix) == pytest.approx(1.0)
    assert result.best_cost_per_1k >= result.cost_per_1k >= result.cheapest_cost_per_1k


@settings(max_examples=200, deadline=None)
@given(samples(), st.floats(0, 1.5))
def test_fraction_of_best_budget(sample, fraction):
    quality, cost = sample
    best = sample_cost(quality, cost, 0.0)
    try:
        result = calibrate_knob(quality, cost, max_fraction_of_best=fraction)
    except ValueError as exc:
        assert "below the cheapest" in str(exc)
        assert sample_cost(quality, cost, 1.0) > fraction * best
        return
    assert sample_cost(quality, cost, result.knob) <= fraction * best
    if fraction >= 1.0:
        assert result.knob == 0.0 and result.quality == result.best_quality


@given(st.floats(1e-12, 1e12))
def test_smallest_knob_reaching_a_slope(slope):
    w = smallest_knob_reaching(slope)
    assert knob_lambda(w) >= slope
    assert w == 0.0 or knob_lambda(float(np.nextafter(w, -1.0))) < slope


def test_shortest_decimal():
    assert shortest_decimal(0.33333333333333337, 0.4) == pytest.approx(0.34)
    assert shortest_decimal(0.0, 0.5) == 0.0
    assert shortest_decimal(0.123, 0.1231) == pytest.approx(0.123)
    assert shortest_decimal(1.0, 1.1) == 1.0


def test_worked_example():
    # two prompts, three models (dear, mid, cheap)
    quality = np.array([[0.9, 0.6, 0.2], [0.9, 0.85, 0.8]])
    cost = np.array([10.0, 1.0, 0.1]) / 1000  # USD per request
    all_best = calibrate_knob(quality, cost, max_fraction_of_best=1.0)
    assert all_best.knob == 0.0 and all_best.counts == (2, 0, 0)
    assert all_best.cost_per_1k == pytest.approx(10.0)
    cheap = calibrate_knob(quality, cost, max_cost_per_1k=0.1)
    assert cheap.counts == (0, 0, 2) and cheap.cost_per_1k == pytest.approx(0.1)
    middle = calibrate_knob(quality, cost, max_cost_per_1k=5.5)  # the hard prompt keeps the dear model
    assert middle.counts[0] == 1 and middle.cost_per_1k <= 5.5
    with pytest.raises(ValueError, match=r"below the cheapest routing of this sample: \$0.1 per 1,000"):
        calibrate_knob(quality, cost, max_cost_per_1k=0.05)
    with pytest.raises(ValueError, match="exactly one budget"):
        calibrate_knob(quality, cost)
    with pytest.raises(ValueError, match="finite number"):
        calibrate_knob(quality, cost, max_cost_per_1k=float("nan"))


# -- routellm calibrate --models ------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        + "".join(
            f"  - {{name: {n}, model: openai/{n}-llm, price: {{input: {PRICES[n][0]}, output: {PRICES[n][1]}}}}}\n" for n in NAMES
        )
    )
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(["a hard proof"] * 2 + ["a medium essay"] * 3 + ["an easy sum"] * 5) + "\n")
    return models, prompts


def test_calibrate_command_per_1k(files, capsys):
    models, prompts = files
    with registered():
        code = main(
            ["calibrate", "--router", "toyq", "--models", str(models), "--prompts", str(prompts), "--max-cost-per-1k", "3"]
        )
        out = capsys.readouterr().out
        assert code == 0
        assert "model name: router-toyq-" in out and "mix:" in out and "expected cost per 1,000 requests" in out
        code = main(
            ["calibrate", "--router", "toyq", "--models", str(models), "--prompts", str(prompts)]
            + ["--max-cost-per-1k", "3", "--json"]
        )
        report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["cost_per_1k"] <= 3 and set(report["mix"]) == set(NAMES)
    assert sum(v["prompts"] for v in report["mix"].values()) == 10
    assert report["mix"]["big"]["prompts"] >= 2  # the hard prompts stay on the dear model
    assert parse_nmodel_name(report["model"]) == ("toyq", KNOB, report["short_knob"])


def test_calibrate_command_percent_and_errors(files, capsys):
    models, prompts = files
    with registered():
        code = main(
            ["calibrate", "--router", "toyq", "--models", str(models), "--prompts", str(prompts)]
            + ["--max-cost-percent", "100", "--json"]
        )
        report = json.loads(capsys.readouterr().out)
        assert code == 0 and report["knob"] == 0.0 and report["model"] == "router-toyq-0"
        code = main(
            ["calibrate", "--router", "toyq", "--models", str(models), "--prompts", str(prompts), "--max-cost-per-1k", "0"]
        )
        err = capsys.readouterr().err
        assert code == 2 and "below the cheapest routing" in err and len(err.strip().splitlines()) == 1
        code = main(["calibrate", "--router", "toyq", "--models", str(models), "--prompts", str(prompts)])
        err = capsys.readouterr().err
        assert code == 2 and "exactly one of --max-cost-per-1k" in err
        code = main(
            ["calibrate", "--router", "twoonly", "--models", str(models), "--prompts", str(prompts)]
            + ["--max-cost-percent", "50"]
        )
        err = capsys.readouterr().err
        assert code == 2 and "router 'twoonly'" in err
    code = main(["calibrate", "--router", "random"])
    assert code == 2 and "--strong-fraction P" in capsys.readouterr().err
