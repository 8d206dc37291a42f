from __future__ import annotations

from pathlib import Path

import pytest

from routellm_core.testing import shared_data_dir

REPO = Path(__file__).resolve().parents[2]


def find_data_dir() -> Path | None:
    """``$ROUTELLM_DATA_DIR`` or ``../shared/data`` next to the repository, if it holds RouteLLM's eval files."""
    return shared_data_dir(REPO)


@pytest.fixture
def evals_root(data_dir) -> Path:
    """The directory holding ``mmlu/``, ``gsm8k/`` and ``mt_bench/``."""
    return data_dir / "routellm-evals" if (data_dir / "routellm-evals").is_dir() else data_dir


@pytest.fixture
def data_dir() -> Path:
    found = find_data_dir()
    if found is None:
        pytest.skip("RouteLLM evaluation data not found: set ROUTELLM_DATA_DIR or put it at ../shared/data")
    return found


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ROUTELLM_DOWNLOAD", raising=False)
