"""Lookups by registered name: benchmarks get ``download`` when they take it, and nothing sets the environment."""

from __future__ import annotations

import os

import numpy as np
import pytest

from routellm_core.cli import main
from routellm_core.evaluation import BenchmarkData, downloads_allowed
from routellm_core.hookspecs import lazy
from routellm_core.lookups import get_embedder, load_benchmark
from routellm_core.plugins import get_registry

SEEN: list[dict[str, object]] = []


def _data(name: str) -> BenchmarkData:
    return BenchmarkData(name, ["a", "bb", "ccc"], ["s", "w"], np.array([[1, 0], [1, 1], [0, 0]]), "s", "w")


def new_loader(data_dir=None, *, download=None):
    SEEN.append({"data_dir": data_dir, "download": download, "env": os.environ.get("ROUTELLM_DOWNLOAD")})
    return _data("new")


def old_loader(data_dir=None):
    SEEN.append({"data_dir": data_dir})
    return _data("old")


@pytest.fixture
def loaders(monkeypatch, tmp_path):
    monkeypatch.delenv("ROUTELLM_DOWNLOAD", raising=False)
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    registry = get_registry()
    make = type(registry.get("benchmarks", "gsm8k"))
    for name, loader in (("t-new", new_loader), ("t-old", old_loader), ("t-lazy", lazy(f"{__name__}:old_loader"))):
        monkeypatch.setitem(registry.items["benchmarks"], name, make("benchmarks", name, loader, "test", "test"))
    SEEN.clear()
    return SEEN


def test_download_goes_to_loaders_that_take_it(loaders):
    assert load_benchmark("t-new", "d", download=True).name == "new"
    load_benchmark("t-new", "d", download=False)
    load_benchmark("t-new")
    assert loaders == [
        {"data_dir": "d", "download": True, "env": None},
        {"data_dir": "d", "download": False, "env": None},
        {"data_dir": None, "download": None, "env": None},
    ]


@pytest.mark.parametrize("name", ["t-old", "t-lazy"])
def test_loaders_written_for_data_dir_only_keep_working(loaders, name):
    assert load_benchmark(name, "d", download=True).name == "old"
    assert loaders == [{"data_dir": "d"}]


def test_the_environment_is_the_default_and_read_in_one_place(monkeypatch):
    monkeypatch.delenv("ROUTELLM_DOWNLOAD", raising=False)
    assert downloads_allowed() is False and downloads_allowed(True) is True
    monkeypatch.setenv("ROUTELLM_DOWNLOAD", "yes")
    assert downloads_allowed() is True and downloads_allowed(None) is True and downloads_allowed(False) is False


@pytest.mark.parametrize("flag, download", [(["--download"], True), ([], None)])
def test_eval_passes_download_as_an_argument(loaders, tmp_path, flag, download):
    argv = ["eval", "--routers", "random", "--benchmark", "t-new", "--output", str(tmp_path / "out")]
    assert main([*argv, "--no-plot", "--no-cache", "--bootstrap", "0", *flag]) == 0
    assert loaders == [{"data_dir": None, "download": download, "env": None}]
    assert "ROUTELLM_DOWNLOAD" not in os.environ


def test_get_embedder_builds_through_the_registry():
    embedder = get_embedder("litellm", model="openai/text-embedding-3-large", api_base="http://localhost:1")
    assert embedder.dimension == 3072
