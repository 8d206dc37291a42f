import json

import pytest

from routellm_core.cli import main


def test_route_prints_model_and_score(capsys):
    assert main(["route", "hello", "--router", "random", "--threshold", "0"]) == 0
    out = capsys.readouterr().out
    assert "model: strong" in out and "score: " in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["route", "x", "--router", "random", "--threshold", "1.5"], "[0, 1]"),
        (["route", "x", "--router", "random", "--threshold", "abc"], "[0, 1]"),
        (["route", "x", "--router", "nope", "--threshold", "0.5"], "unknown router 'nope'; available: "),
    ],
)
def test_route_errors(capsys, args, fragment):
    assert main(args) == 2
    assert fragment in capsys.readouterr().err


def test_calibrate(tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(f"prompt number {i}" for i in range(200)))
    assert main(["calibrate", "--router", "random", "--strong-fraction", "0.3", "--prompts", str(prompts), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["strong_fraction_on_sample"] >= 0.3
    assert result["strong_fraction_on_sample"] < 0.3 + 1 / 200 + 1e-12
    assert result["model"].startswith("router-random-")
    # the calibrated threshold reproduces the fraction with the same rule the controller uses
    from routellm_core.default_plugins.random_router import RandomConfig, RandomRouter

    scores = RandomRouter(RandomConfig(seed=0)).score(prompts.read_text().splitlines())
    assert (scores >= result["threshold"]).mean() == result["strong_fraction_on_sample"]


def test_calibrate_bad_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["calibrate", "--router", "random", "--strong-fraction", "2", "--prompts", "x"])
    assert main(["calibrate", "--router", "random", "--strong-fraction", "0.5", "--prompts", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read prompts file" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "route" in capsys.readouterr().out


def test_train_without_trainers_is_clear(capsys, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PLUGINS", "")
    from routellm_core import plugins

    plugins.reset_registry()
    try:
        assert main(["train"]) == 2
        assert "choose a router to train" in capsys.readouterr().out
    finally:
        plugins.reset_registry()
