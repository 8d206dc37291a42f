"""``routellm eval`` on N-model benchmarks end to end, with a tiny N-model router installed as a real plugin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from routellm_core.cli import main
from routellm_core.evaluation import nmodel as N
from routellm_core.evaluation.data import load_nmodel_file
from routellm_core.plugins import reset_registry
from routellm_core.testing import shared_data_dir

from ..plugin_factory import pip_install_target, write_plugin

REPO = Path(__file__).resolve().parents[2]

TOY = """
    import numpy as np
    from routellm_core import Router
    from routellm_core.hookspecs import hookimpl
    from routellm_core.model_choice import QualityRouter


    def predicted(prompts, models):
        hard = np.array([len(p.split()) > 20 for p in prompts], dtype=float)
        table = {"big": np.full(len(prompts), 0.9), "mid": 0.8 - 0.5 * hard, "small": 0.7 - 0.7 * hard}
        return np.stack([table[m] for m in models], axis=1)


    class ToyQuality(Router, QualityRouter):
        \"\"\"Long prompts are hard: only 'big' gets them right.\"\"\"

        models = ("big", "mid", "small")

        @property
        def quality_models(self):
            return self.models

        def score(self, prompts):
            return np.array([min(1.0, len(p) / 200) for p in prompts])

        def predict_quality(self, prompts, models):
            return predicted(prompts, models)


    class PairOnly(ToyQuality):
        models = ("big", "small")


    @hookimpl
    def routellm_register_routers(register):
        register("toy-quality", ToyQuality)
        register("toy-pair", PairOnly)
"""


def _predicted(prompts: list[str], models: list[str]) -> np.ndarray:  # what ToyQuality predicts
    hard = np.array([len(p.split()) > 20 for p in prompts], dtype=float)
    table = {"big": np.full(len(prompts), 0.9), "mid": 0.8 - 0.5 * hard, "small": 0.7 - 0.7 * hard}
    return np.stack([table[m] for m in models], axis=1)


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    site = root / "site"
    pip_install_target([write_plugin(root, "routellm-toy-quality", "routellm_toy_quality", TOY)], site)
    return site


@pytest.fixture
def toy_plugin(toy_site, monkeypatch):
    monkeypatch.syspath_prepend(str(toy_site))
    monkeypatch.setenv("ROUTELLM_PLUGINS", "routellm-toy-quality")  # this plugin only, whatever else is installed
    reset_registry()
    yield
    reset_registry()


def _rows(n: int = 60, seed: int = 0, costs: bool = True) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        length = int(rng.integers(1, 40))
        hard = length > 20
        row: dict[str, object] = {
            "question": f"question {i} " + "word " * length,
            "scores": {
                "big": 1.0 if hard or rng.random() < 0.9 else 0.0,
                "mid": 0.0 if hard else 1.0,
                "small": 0.0 if hard else float(rng.random() < 0.8),
            },
        }
        if costs:
            row["costs"] = {"big": 0.01 + 0.0001 * length, "mid": 0.002, "small": 0.0005}
        rows.append(row)
    return rows


def _eval(tmp_path: Path, bench: Path, *extra: str, routers=("toy-quality", "length", "toy-pair")) -> tuple[int, Path]:
    out = tmp_path / "out"
    rc = main(["eval", "--routers", *routers, "--benchmark", f"file:{bench}", "--output", str(out), "--bootstrap", "100", *extra])
    return rc, out


def test_user_nmodel_file_end_to_end(tmp_path, toy_plugin, capsys):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(_rows()), encoding="utf-8")
    rc, out = _eval(tmp_path, bench)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "zero router" in captured.out and "oracle" in captured.out and "AIQ" in captured.out
    assert "skipped toy-pair: unknown model 'mid'" in captured.err

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"routers", "baselines"}
    assert set(summary["baselines"]) == {"zero_router", "oracle", "best_single"}
    assert set(summary["baselines"]["zero_router"]) == {"aiq"}
    assert set(summary["baselines"]["best_single"]) == {"model", "quality", "cost"}
    assert summary["baselines"]["best_single"]["model"] == "big"
    assert set(summary["routers"]) == {"toy-quality", "length", "toy-pair"}
    assert summary["routers"]["toy-pair"]["aiq"] is None and "unknown model 'mid'" in summary["routers"]["toy-pair"]["skipped"]
    assert summary["routers"]["length"]["models"] == ["big", "small"]  # two-model router as N = 2

    # the numbers are the metrics of the toy router's predictions on the file
    data = load_nmodel_file(bench)
    assert data.costs is not None
    ref = N.nmodel_reference(data.models, data.scores, data.costs)
    toy = N.cost_quality_metrics(N.knob_curve(_predicted(data.prompts, data.models), data.scores, data.costs), ref)
    zero = N.cost_quality_metrics(N.zero_router_curve(data.scores, data.costs), ref)
    oracle = N.cost_quality_metrics(N.oracle_curve(data.scores, data.costs), ref)
    entry = summary["routers"]["toy-quality"]
    assert entry["aiq"] == toy.aiq and entry["quality_at_best_single_cost"] == toy.quality_at_best_single_cost
    assert entry["cost_fraction_to_best_single_quality"] == toy.cost_fraction_to_best_single_quality
    assert summary["baselines"]["zero_router"]["aiq"] == zero.aiq and summary["baselines"]["oracle"]["aiq"] == oracle.aiq
    assert entry["curve_aiq"] == toy.curve_aiq <= toy.aiq
    assert zero.aiq < toy.curve_aiq and toy.aiq <= oracle.aiq  # the toy router knows which prompts are hard
    assert entry["aiq_ci"][0] <= toy.aiq <= entry["aiq_ci"][1]
    assert entry["cost_fraction_to_best_single_quality"] < 1.0

    stem = "file_bench.json"
    for suffix in (".json", ".csv", "-curves.csv", ".png"):
        assert (out / f"{stem}{suffix}").stat().st_size > 0
    full = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    by_name = {r["name"]: r for r in full["results"]}
    assert by_name["toy-quality"]["cached"] is False and by_name["toy-quality"]["hull"]["cost"]
    assert full["skipped"] == {"toy-pair": summary["routers"]["toy-pair"]["skipped"]}
    header = (out / f"{stem}.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("benchmark,router,kind,aiq,")

    # second run: the predicted qualities come from the cache
    rc, out = _eval(tmp_path, bench)
    assert rc == 0
    full = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    assert {r["name"]: r.get("cached") for r in full["results"]}["toy-quality"] is True
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary


def test_prices_fill_rows_without_costs(tmp_path, toy_plugin, capsys):
    bench = tmp_path / "priced.json"
    bench.write_text(json.dumps(_rows(costs=False)), encoding="utf-8")
    rc, _ = _eval(tmp_path, bench, routers=("toy-quality",))
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "priced.json: record 1: no 'costs' and no price for model 'big'" in err
    prices = tmp_path / "prices.yaml"
    prices.write_text("big: {input: 10, output: 30}\nmid: {input: 1, output: 2}\nsmall: {input: 0.1, output: 0.2}\n")
    rc, out = _eval(tmp_path, bench, "--prices", str(prices), "--no-plot", routers=("toy-quality",))
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["baselines"]["best_single"]["model"] == "big" and summary["routers"]["toy-quality"]["aiq"] > 0


def test_bad_nmodel_input_is_one_line(tmp_path, toy_plugin, capsys):
    rows = _rows(n=3)
    rows[2]["costs"] = {"big": -1, "mid": 0.1, "small": 0.1}
    bench = tmp_path / "bad.json"
    bench.write_text(json.dumps(rows), encoding="utf-8")
    assert _eval(tmp_path, bench, routers=("toy-quality",))[0] == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.json: record 3: cost of 'big' must be a finite number >= 0 (USD), got -1" in err
    prices = tmp_path / "p.yaml"
    prices.write_text("big: {input: 1, output: 1}\n")
    assert main(["eval", "--routers", "length", "--benchmark", "mmlu", "--prices", str(prices)]) == 2
    assert "--prices gives the costs of an N-model file:PATH.json benchmark" in capsys.readouterr().err


def test_routerbench_zs_through_the_cli(tmp_path, capsys):
    data_dir = shared_data_dir(REPO, needs="train")
    if data_dir is None:
        pytest.skip("shared data not found (set ROUTELLM_DATA_DIR or put it at ../shared/data)")
    out = tmp_path / "out"
    argv = ["eval", "--routers", "length", "--benchmark", "routerbench-zs", "--data-dir", str(data_dir)]
    assert main([*argv, "--output", str(out), "--bootstrap", "20", "--no-plot"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    best = summary["baselines"]["best_single"]
    assert best["model"] == "gpt-4-1106-preview" and best["quality"] == pytest.approx(0.8741, abs=1e-4)
    assert summary["baselines"]["zero_router"]["aiq"] < summary["baselines"]["oracle"]["aiq"]
    assert summary["routers"]["length"]["models"] == ["gpt-4-1106-preview", "mistralai/mixtral-8x7b-chat"]
