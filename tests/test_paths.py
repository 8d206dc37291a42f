"""Where data and cache files are looked for: one environment variable each."""

from pathlib import Path

from routellm_core.paths import data_dir_candidates, find_data_dir, user_cache_dir


def test_candidates_order(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ROUTELLM_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("ROUTELLM_DATA", str(tmp_path / "other"))  # not a name routellm reads
    assert data_dir_candidates() == [("$ROUTELLM_DATA_DIR", tmp_path / "env"), ("user cache", tmp_path / "cache" / "data")]
    assert data_dir_candidates(tmp_path / "x") == [("--data-dir", tmp_path / "x")]
    monkeypatch.delenv("ROUTELLM_DATA_DIR")
    assert data_dir_candidates() == [("user cache", tmp_path / "cache" / "data")]


def test_find_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ROUTELLM_DATA_DIR", raising=False)
    assert find_data_dir("mmlu") is None
    (tmp_path / "cache" / "data" / "routellm-evals" / "mmlu").mkdir(parents=True)
    assert find_data_dir("mmlu") == tmp_path / "cache" / "data" / "routellm-evals"
    (tmp_path / "env" / "mmlu").mkdir(parents=True)
    monkeypatch.setenv("ROUTELLM_DATA_DIR", str(tmp_path / "env"))
    assert find_data_dir("mmlu") == tmp_path / "env"
    assert find_data_dir("mmlu", explicit=tmp_path / "nowhere") is None


def test_cache_dir_fallbacks(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTELLM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / "routellm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir() == Path.home() / ".cache" / "routellm"
