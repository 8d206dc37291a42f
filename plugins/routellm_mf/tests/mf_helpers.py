"""Helpers shared by the routellm-mf tests."""

from pathlib import Path

from routellm_core.testing import shared_data_dir


def data_dir() -> Path | None:
    return shared_data_dir(Path(__file__).resolve().parents[3])
