"""``routellm eval`` end to end: a user JSONL benchmark with three models, cache reuse and invalidation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from routellm_core.cli import main
from routellm_core.default_plugins.length_router import LengthRouter
from routellm_core.evaluation import BenchmarkDataError, ScoreCache, load_file_benchmark
from routellm_core.evaluation import metrics as M
from routellm_core.evaluation.cache import cache_key_material
from routellm_core.plugins import get_registry


def _write_jsonl(path, n=60, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            length = int(rng.integers(1, 40))
            hard = length > 20
            fh.write(
                json.dumps(
                    {
                        "id": f"q{i}",
                        "prompt": f"question {i} " + "word " * length,
                        "big-model": 1.0 if hard or rng.random() < 0.9 else 0.0,
                        "mid-model": 0.5 if hard else 1.0,
                        "small-model": 0.0 if hard else float(rng.random() < 0.8),
                    }
                )
                + "\n"
            )
    return path


def _run(tmp_path, bench, *extra):
    out = tmp_path / "out"
    rc = main(
        [
            "eval",
            "--routers",
            "random",
            "length",
            "--benchmark",
            f"file:{bench}",
            "--output",
            str(out),
            "--bootstrap",
            "200",
            *extra,
        ]
    )
    assert rc == 0
    return out, json.loads((out / f"file_{bench.name}.json").read_text(encoding="utf-8"))


def test_user_jsonl_three_models_end_to_end(tmp_path, capsys):
    bench = _write_jsonl(tmp_path / "my_eval.jsonl")
    out, result = _run(tmp_path, bench, "--strong-model", "big-model", "--weak-model", "small-model")
    table = capsys.readouterr().out
    assert "random (expected)" in table and "oracle" in table and "APGR" in table
    assert (result["strong_model"], result["weak_model"]) == ("big-model", "small-model")
    by_name = {r["name"]: r for r in result["results"]}
    assert set(by_name) == {"random", "length", "random (expected)", "oracle"}
    assert by_name["random (expected)"]["apgr"] == 0.5
    # the numbers are the metrics of the length router's scores on the file
    data = load_file_benchmark(bench)
    scores = LengthRouter().score(data.prompts)
    curve = M.per_prompt_curve(scores, data.model_scores("big-model"), data.model_scores("small-model"))
    assert by_name["length"]["apgr"] == M.apgr(curve)
    assert by_name["length"]["cpt_50"] == M.cpt(curve, 0.5)
    assert by_name["length"]["apgr"] > 0.7  # length is informative on this file by construction
    assert by_name["length"]["bootstrap"]["apgr"][0] <= by_name["length"]["apgr"] <= by_name["length"]["bootstrap"]["apgr"][1]
    assert result["comparisons"][0]["a"] == "random" and result["comparisons"][0]["b"] == "length"
    for suffix in (".json", ".csv", "-curves.csv", ".png"):
        assert (out / f"file_my_eval.jsonl{suffix}").stat().st_size > 0
    assert (out / "file_my_eval.jsonl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(open(out / "file_my_eval.jsonl.csv", encoding="utf-8")))
    assert [r["router"] for r in rows] == ["random", "length", "random (expected)", "oracle"]
    assert float(rows[1]["apgr"]) == by_name["length"]["apgr"]
    # another pair of the three models
    _, mid = _run(tmp_path, bench, "--strong-model", "mid-model", "--weak-model", "small-model")
    assert mid["strong_model"] == "mid-model"


def test_second_run_uses_the_cache_and_changes_invalidate_it(tmp_path, capsys):
    bench = _write_jsonl(tmp_path / "b.jsonl")
    _, first = _run(tmp_path, bench)
    assert [r.get("cached") for r in first["results"][:2]] == [False, False]
    _, second = _run(tmp_path, bench)
    assert [r.get("cached") for r in second["results"][:2]] == [True, True]
    assert second["results"][1]["apgr"] == first["results"][1]["apgr"]
    # --overwrite-cache rescoring one router
    _, third = _run(tmp_path, bench, "--overwrite-cache", "length")
    assert [r.get("cached") for r in third["results"][:2]] == [True, False]
    # a router config change (via --config) is a different key
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("random:\n  seed: 3\n", encoding="utf-8")
    _, fourth = _run(tmp_path, bench, "--config", str(cfg))
    assert [r.get("cached") for r in fourth["results"][:2]] == [False, True]
    # changed benchmark data: new digest, nothing reused
    _write_jsonl(bench, seed=1)
    _, fifth = _run(tmp_path, bench)
    assert [r.get("cached") for r in fifth["results"][:2]] == [False, False]
    assert "from the cache" in capsys.readouterr().err


def test_cache_rejects_stale_or_corrupt_entries(tmp_path):
    cache = ScoreCache(tmp_path / "c")
    router = get_registry().create_router("random", {"seed": 1})
    material = cache_key_material(router, "digest-a", config={"seed": 1}, plugin="routellm-core==0.1.0:random_router")
    scores = np.array([0.1, 0.5, 0.9])
    npy, meta = cache.store(material, "bench", scores), None
    assert np.array_equal(cache.load(material, "bench", 3), scores)
    assert cache.load(material, "bench", 4) is None  # different number of prompts
    assert cache.load({**material, "benchmark_digest": "digest-b"}, "bench", 3) is None
    assert cache.load({**material, "checkpoint_digest": "abc"}, "bench", 3) is None
    # a tampered score file fails its checksum
    np.save(npy, np.array([0.2, 0.5, 0.9]), allow_pickle=False)
    assert cache.load(material, "bench", 3) is None
    # a meta file for other material at this path is not trusted
    cache.store(material, "bench", scores)
    meta = npy.with_suffix(".json")
    doc = json.loads(meta.read_text())
    doc["key"]["router"]["seed"] = 2
    meta.write_text(json.dumps(doc))
    assert cache.load(material, "bench", 3) is None
    # pickled object arrays are never loaded
    cache.store(material, "bench", scores)
    np.save(npy, np.array([object()], dtype=object), allow_pickle=True)
    assert cache.load(material, "bench", 3) is None


def test_eval_errors_are_clear(tmp_path, capsys):
    assert main(["eval", "--routers", "random", "--benchmark", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'nope'" in err and "gsm8k" in err and "file:PATH" in err
    assert main(["eval", "--routers", "nosuch", "--benchmark", "gsm8k"]) == 2
    assert "unknown router 'nosuch'" in capsys.readouterr().err
    bench = _write_jsonl(tmp_path / "b.jsonl", n=5)
    assert (
        main(
            [
                "eval",
                "--routers",
                "random",
                "--benchmark",
                f"file:{bench}",
                "--strong-model",
                "gpt-5",
                "--output",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "strong model 'gpt-5' is not in benchmark" in capsys.readouterr().err
    assert main(["eval", "--routers", "random", "random", "--benchmark", f"file:{bench}"]) == 2
    assert "twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.jsonl", '{"prompt": "x", "a": 1, "b": 0}\n{"prompt": "y", "a": 1\n', r"line 2: not valid JSON"),
        (
            "a.jsonl",
            '{"prompt": "x", "a": 1, "b": 0}\n{"prompt": "y", "a": "high", "b": 0}\n',
            r"line 2, column 'a': 'high' is not a number",
        ),
        ("a.jsonl", '{"prompt": "x", "a": 1, "b": 0}\n{"prompt": "y", "a": 1}\n', r"line 2: columns differ .* missing 'b'"),
        ("a.jsonl", '{"text2": "x", "a": 1, "b": 0}\n', r"line 1: no prompt column"),
        ("a.jsonl", '{"prompt": "x", "a": 1}\n', r"line 1: found 1 score column"),
        ("a.csv", "prompt,a,b\nx,1,0\ny,1\n", r"line 3: 2 fields, the header has 3"),
        ("a.csv", "prompt,a,b\nx,1,0\ny,1,NaN\n", r"line 3, column 'b': score must be finite"),
        ("a.txt", "hello\n", r"unsupported extension"),
    ],
)
def test_malformed_user_files_say_where(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BenchmarkDataError, match=message):
        load_file_benchmark(path)


def test_user_csv_and_nested_scores(tmp_path):
    csv_path = tmp_path / "b.csv"
    csv_path.write_text('prompt,m1,m2,m3\n"multi\nline",True,0.5,0\nshort,false,1,0.25\n', encoding="utf-8")
    data = load_file_benchmark(csv_path)
    assert data.prompts == ["multi\nline", "short"]
    assert data.scores.tolist() == [[1.0, 0.5, 0.0], [0.0, 1.0, 0.25]]
    assert (data.strong_model, data.weak_model) == ("m2", "m3")  # best and worst mean
    nested = tmp_path / "n.jsonl"
    nested.write_text('{"question": "q", "scores": {"x": 1, "y": 0}}\n', encoding="utf-8")
    assert load_file_benchmark(nested).models == ["x", "y"]


def test_calibrate_reports_interval_and_budgeted_threshold(tmp_path, capsys):
    bench = _write_jsonl(tmp_path / "lab.jsonl", n=80)
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(f"prompt {i} " + "x" * i for i in range(300)), encoding="utf-8")
    assert (
        main(
            [
                "calibrate",
                "--router",
                "length",
                "--strong-fraction",
                "0.3",
                "--prompts",
                str(prompts),
                "--labelled",
                str(bench),
                "--strong-model",
                "big-model",
                "--weak-model",
                "small-model",
                "--bootstrap",
                "500",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    low, high = result["strong_fraction_interval"]
    assert low < result["strong_fraction_on_sample"] < high and high - low < 0.15
    budget = result["budget"]
    assert budget["strong_fraction"] <= 0.3 and budget["model"].startswith("router-length-")
    data = load_file_benchmark(bench)
    s, w = data.model_scores("big-model"), data.model_scores("small-model")
    scores = LengthRouter().score(data.prompts)
    mask = scores >= budget["threshold"]
    assert mask.mean() == budget["strong_fraction"]
    assert np.where(mask, s, w).mean() == pytest.approx(budget["quality"], abs=1e-12)
    # no threshold within the budget does better (brute force over every cut)
    for t in np.unique(scores):
        if (scores >= t).mean() <= 0.3:
            assert np.where(scores >= t, s, w).mean() <= budget["quality"] + 1e-12
    # labelled file alone, human-readable
    assert main(["calibrate", "--router", "length", "--strong-fraction", "0.5", "--labelled", str(bench)]) == 0
    assert "best threshold within 0.5 strong calls" in capsys.readouterr().out
    assert main(["calibrate", "--router", "length", "--strong-fraction", "0.5"]) == 2
    assert "--prompts FILE, --labelled FILE" in capsys.readouterr().err


def test_eval_on_the_real_data_writes_everything_and_reuses_the_cache(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "eval",
        "--routers",
        "random",
        "length",
        "--benchmark",
        "gsm8k",
        "--data-dir",
        str(data_dir),
        "--output",
        str(out),
        "--bootstrap",
        "100",
    ]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "gsm8k: 1307 prompts" in first.out and "0 of 2 router(s) from the cache" in first.err
    for name in ("gsm8k.json", "gsm8k.csv", "gsm8k-curves.csv", "gsm8k.png"):
        assert (out / name).stat().st_size > 0
    assert main(args) == 0
    assert "2 of 2 router(s) from the cache" in capsys.readouterr().err
    result = json.loads((out / "gsm8k.json").read_text(encoding="utf-8"))
    rnd = result["results"][0]
    assert rnd["cached"] is True and abs(rnd["apgr"] - 0.5) < 0.03 and abs(rnd["apgr_binned"] - 0.5) < 0.03


def test_missing_matplotlib_skips_only_the_plot(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    bench = _write_jsonl(tmp_path / "b.jsonl", n=10)
    out = tmp_path / "o"
    assert main(["eval", "--routers", "random", "--benchmark", f"file:{bench}", "--output", str(out), "--bootstrap", "20"]) == 0
    err = capsys.readouterr().err
    assert "plot skipped" in err and "routellm-core[eval]" in err
    assert (out / "file_b.jsonl.json").exists() and not (out / "file_b.jsonl.png").exists()
