"""The shipped checkpoint: present and small, zero-configuration routing, and its training data against
the evaluation prompts (the last needs ../shared/data and skips without it)."""

from __future__ import annotations

import numpy as np
import pytest
from bert_helpers import data_dir
from routellm_bert.router import DEFAULT_CHECKPOINT

from routellm_core.cli import main
from routellm_core.plugins import get_registry
from routellm_core.testing import MISSING
from routellm_core.testing.shipped import check_shipped_decontamination


def test_shipped_checkpoint_is_complete_and_small():
    names = {p.name for p in DEFAULT_CHECKPOINT.iterdir()}
    expected = {"routellm_bert.json", "trained.safetensors", "DATA_CARD.md", "TRAINING_DATA.md", "training_summary.json"}
    assert expected | {"DECONTAMINATION.md", "decontamination.json"} <= names
    assert sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir()) <= 10 * 2**20


def test_zero_configuration_router_scores():
    router = get_registry().create_router("bert", {})
    scores = router.score(["Hi!", "Prove that there are infinitely many primes of the form 4k + 3."])
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_route_command_uses_the_shipped_checkpoint(capsys):
    assert main(["route", "--router", "bert", "--threshold", "0.0", "Prove that sqrt(2) is irrational."]) == 0
    assert "strong" in capsys.readouterr().out


def test_no_shipped_training_prompt_equals_an_evaluation_prompt():
    shared = data_dir()
    if shared is None:
        pytest.skip(MISSING)
    check_shipped_decontamination(DEFAULT_CHECKPOINT, shared)
