"""The reproducing command line that trainers record in training_summary.json."""

from __future__ import annotations

import argparse
import re

import pytest

from routellm_core.errors import ConfigError
from routellm_core.training_run import add_data_arguments, check_minimums, command_line, parse_pairs


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_data_arguments(parser, embedder="minilm-l3", embedder_kwargs="{}", output_help="where")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--flag", action="store_true")
    return parser.parse_args(argv)


def test_command_records_what_changes_the_recorded_paths_and_the_dropped_prompts():
    args = _parse(
        ["--data", "d/train/a.json", "--output", "out", "--data-root", "d", "--eval-data-dir", "d", "--epochs", "3", "--flag"]
    )
    command = command_line("routellm train x", args, ["epochs"], flags=["flag"])
    assert command == "routellm train x --data d/train/a.json --output out --data-root d --eval-data-dir d --epochs 3 --flag"
    again = _parse(command.split()[3:])
    assert (again.data_root, again.eval_data_dir, again.epochs, again.flag) == ("d", "d", 3, True)


def test_command_keeps_no_decontaminate_and_omits_unset_data_arguments():
    args = _parse(["--data", "a.json", "--output", "out", "--no-decontaminate"])
    assert command_line("routellm train x", args, ["epochs"]) == "routellm train x --data a.json --output out --no-decontaminate"


def test_parse_pairs_names_the_flag_and_the_form_it_wants():
    assert parse_pairs(["a=b", "c=d=e"], "=", "--alias", "NAME=MODEL") == [("a", "b"), ("c", "d=e")]
    for bad in ("ab", "=b", "a="):
        with pytest.raises(ConfigError, match=f"--alias wants NAME=MODEL, got '{re.escape(bad)}'"):
            parse_pairs([bad], "=", "--alias", "NAME=MODEL")


@pytest.mark.parametrize("value", [-1e-9, float("nan"), float("inf"), float("-inf")])
def test_check_minimums_names_the_flag_and_the_value(value):
    with pytest.raises(ConfigError, match=r"^--weight-decay must be a finite number >= 0, got "):
        check_minimums(argparse.Namespace(lr=0.1, weight_decay=value), {"lr": 0.0, "weight_decay": 0.0})


def test_check_minimums_accepts_the_bound_itself():
    check_minimums(argparse.Namespace(lr=0.0, min_similarity=-1.0), {"lr": 0.0, "min_similarity": -1.0})
