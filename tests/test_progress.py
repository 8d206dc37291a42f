"""Optional progress bars: the same items with or without a bar, with or without tqdm."""

import sys

from routellm_core.progress import progress_bar, progress_iter


def test_disabled_returns_the_iterable_itself():
    items = [1, 2, 3]
    assert progress_iter(items, 3, "x", enabled=False) is items
    with progress_bar(3, "x", enabled=False) as bar:
        bar.update(3)


def test_enabled_yields_the_same_items(capsys):
    assert list(progress_iter(range(5), 5, "counting")) == [0, 1, 2, 3, 4]
    with progress_bar(5, "counting", unit="prompt") as bar:
        bar.update(5)
    assert "counting" in capsys.readouterr().err


def test_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm.auto now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    items = [1, 2]
    assert progress_iter(items, 2, "x") is items
    with progress_bar(2, "x") as bar:
        bar.update(2)
