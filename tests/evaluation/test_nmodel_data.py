"""N-model benchmarks: the file:PATH.json format, prices, its errors, and the built-in loaders on the real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from routellm_core.default_plugins import benchmarks as B
from routellm_core.evaluation import BenchmarkData, BenchmarkDataError, load_file_benchmark
from routellm_core.evaluation.data import (
    EXPECTED_OUTPUT_TOKENS,
    load_nmodel_file,
    load_prices_file,
    nmodel_default_pair,
    prompt_costs,
)
from routellm_core.lookups import load_benchmark
from routellm_core.model_choice import ModelPrice, estimate_tokens
from routellm_core.testing import shared_data_dir
from routellm_core.testing.data import MISSING

REPO = Path(__file__).resolve().parents[2]
ROWS = [
    {
        "question": "What is 2 + 2?",
        "scores": {"big": 1, "mid": 1, "small": 1},
        "costs": {"big": 0.01, "mid": 0.002, "small": 0.0},
    },
    {
        "question": "Prove Fermat's last theorem.",
        "scores": {"big": 0.5, "mid": 0, "small": 0},
        "costs": {"big": 0.05, "mid": 0.004, "small": 0.0001},
    },
]


def _write(path: Path, rows: object) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_nmodel_file_with_costs(tmp_path):
    data = load_file_benchmark(_write(tmp_path / "n.json", ROWS))  # .json: the N-model format
    assert data.has_costs and data.models == ["big", "mid", "small"] and data.name == "file:n.json"
    assert data.scores.tolist() == [[1.0, 1.0, 1.0], [0.5, 0.0, 0.0]]
    assert data.costs is not None and data.costs.tolist() == [[0.01, 0.002, 0.0], [0.05, 0.004, 0.0001]]
    assert (data.strong_model, data.weak_model) == ("big", "small")  # best single, best of the cheapest
    same = load_nmodel_file(tmp_path / "n.json")
    assert same.digest == data.digest
    cheaper = [dict(r, costs={**r["costs"], "big": 0.02}) for r in ROWS]
    assert load_nmodel_file(_write(tmp_path / "m.json", cheaper)).digest != data.digest  # costs are in the digest


def test_rows_without_costs_take_them_from_prices(tmp_path):
    rows = [ROWS[0], {k: v for k, v in ROWS[1].items() if k != "costs"}]
    prices_path = tmp_path / "prices.yaml"
    prices_path.write_text("big: {input: 10, output: 30}\nmid: {input: 1, output: 2}\nsmall: {input: 0.1, output: 0.1}\n")
    prices = load_prices_file(prices_path)
    data = load_nmodel_file(_write(tmp_path / "n.json", rows), prices=prices)
    tokens = estimate_tokens(ROWS[1]["question"])
    expected = [(tokens * i + EXPECTED_OUTPUT_TOKENS * o) / 1e6 for i, o in ((10, 30), (1, 2), (0.1, 0.1))]
    assert data.costs is not None
    assert data.costs[0].tolist() == [0.01, 0.002, 0.0] and data.costs[1].tolist() == pytest.approx(expected)
    json_prices = tmp_path / "prices.json"
    json_prices.write_text(json.dumps({m: {"input": 1, "output": 1} for m in ("big", "mid", "small")}))
    assert set(load_prices_file(json_prices)) == {"big", "mid", "small"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], r"n\.json' contains no records"),
        ({"x": 1}, r"n\.json: a JSON object without a list of records"),
        ([ROWS[0], {**ROWS[1], "costs": {**ROWS[1]["costs"], "huge": 1}}], r"n\.json: record 2: 'costs' names model 'huge'"),
        ([{**ROWS[0], "costs": {**ROWS[0]["costs"], "mid": -0.5}}], r"n\.json: record 1: cost of 'mid' must be .*got -0\.5"),
        ([{**ROWS[0], "costs": {**ROWS[0]["costs"], "mid": "cheap"}}], r"record 1: cost of 'mid' .* got 'cheap'"),
        ([{**ROWS[0], "costs": {"big": 1, "mid": 1}}], r"record 1: 'costs' has no cost for model 'small'"),
        (
            [ROWS[0], {"question": "q", "scores": {"big": 1, "mid": 0}}],
            r"record 2: the models in 'scores' differ.*missing 'small'",
        ),
        (
            [ROWS[0], {"question": "q", "scores": {"big": 1, "mid": 0, "small": 0}}],
            r"record 2: no 'costs' and no price for model 'big'",
        ),
        ([{"question": "q", "scores": {"big": 1}, "costs": {"big": 1}}], r"record 1: 'scores' has 1 model"),
        ([{"scores": {"a": 1, "b": 0}}], r"record 1: no string prompt"),
        (
            [{**ROWS[0], "scores": {"big": "high", "mid": 1, "small": 1}}],
            r"record 1, column 'scores.big': 'high' is not a number",
        ),
        ([{**ROWS[0], "extra": 1}], r"record 1: unexpected key 'extra'"),
    ],
)
def test_bad_nmodel_files_get_one_line_naming_file_record_and_value(tmp_path, rows, message):
    path = _write(tmp_path / "n.json", rows)
    with pytest.raises(BenchmarkDataError, match=message) as info:
        load_nmodel_file(path)
    assert "\n" not in str(info.value)


def test_non_finite_cost_is_refused(tmp_path):
    path = tmp_path / "n.json"
    path.write_text(json.dumps([ROWS[0]]).replace("0.002", "NaN"), encoding="utf-8")
    with pytest.raises(BenchmarkDataError, match=r"n\.json: record 1: cost of 'mid' must be a finite number >= 0 .*nan"):
        load_nmodel_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"prices\.yaml'.*an empty file"),
        ("big: 3\n", r"prices\.yaml'.*price of 'big' must be"),
        ("big: {input: -1, output: 1}\n", r"prices\.yaml'.*input price of 'big' must be .*-1"),
        ("big: {input: 1, output: .inf}\n", r"output price of 'big' must be .*inf"),
        ("[1, 2]\n", r"prices\.yaml'.*expected a mapping"),
    ],
)
def test_bad_prices_files(tmp_path, text, message):
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BenchmarkDataError, match=message):
        load_prices_file(path)


def test_costs_are_checked_by_benchmark_data():
    with pytest.raises(BenchmarkDataError, match="costs have shape"):
        BenchmarkData("b", ["p"], ["a", "b"], [[1, 0]], "a", "b", costs=[[1.0]])
    with pytest.raises(BenchmarkDataError, match="costs must be finite numbers >= 0"):
        BenchmarkData("b", ["p"], ["a", "b"], [[1, 0]], "a", "b", costs=[[1.0, -1.0]])
    plain = BenchmarkData("b", ["p"], ["a", "b"], [[1, 0]], "a", "b")
    assert not plain.has_costs


def test_prompt_costs_and_default_pair():
    prices = {"a": ModelPrice(1.0, 2.0), "b": ModelPrice(0.0, 0.0)}
    costs = prompt_costs(["x" * 8], ["a", "b"], prices, output_tokens=10)
    assert costs.tolist() == [[(2 * 1.0 + 10 * 2.0) / 1e6, 0.0]]
    scores = np.array([[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]])
    assert nmodel_default_pair(["x", "y", "z"], scores, np.array([[3.0, 1.0, 1.0]] * 2)) == ("x", "y")
    assert nmodel_default_pair(["x", "y", "z"], scores, np.array([[1.0, 2.0, 3.0]] * 2)) == ("x", "z")  # best is cheapest


# -- the built-in N-model benchmarks ----------------------------------------------------------------


@pytest.fixture
def train_dir() -> Path:
    found = shared_data_dir(REPO, needs="train")
    if found is None:
        pytest.skip(MISSING)
    return found


def test_routerbench_zs_on_the_real_data(train_dir):
    data = load_benchmark("routerbench-zs", train_dir)
    assert len(data) == 953 and len(data.models) == 11 and data.has_costs
    assert (data.strong_model, data.weak_model) == ("gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat")
    assert set(np.unique(data.scores)) <= {0.0, 1.0}
    assert data.costs is not None and np.all(data.costs > 0)
    assert data.info["empty_scores_as_0"] == 62
    gpt4 = data.model_index("gpt-4-1106-preview")
    assert data.scores[:, gpt4].mean() == pytest.approx(0.8741, abs=1e-4)
    assert data.costs[:, gpt4].mean() == pytest.approx(0.005033, rel=1e-3)
    assert load_benchmark("routerbench-zs", train_dir / "train").digest == data.digest  # the train dir itself works too


def test_llmrouter_dcrouter_on_the_real_data(train_dir):
    data = load_benchmark("llmrouter-dcrouter", train_dir)
    assert len(data) == 500 and sorted(data.models) == sorted(B.DCROUTER_PRICES) and data.has_costs
    assert np.all((data.scores >= 0) & (data.scores <= 1))
    assert data.costs is not None
    expected = prompt_costs(data.prompts, data.models, B.DCROUTER_PRICES)
    assert np.array_equal(data.costs, expected)
    assert data.strong_model == "llama-3.1-nemotron-51b-instruct" and data.weak_model == "llama-3.1-8b-instruct"


@pytest.mark.parametrize("name", ["routerbench-zs", "llmrouter-dcrouter"])
def test_missing_data_is_explained(tmp_path, monkeypatch, name):
    monkeypatch.delenv("ROUTELLM_DATA_DIR", raising=False)
    with pytest.raises(BenchmarkDataError, match=rf"benchmark '{name}': data not found; looked for .* --data-dir .*github\.com"):
        load_benchmark(name, tmp_path)
