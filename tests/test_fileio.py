"""Atomic writes: whole new content or the old file, never a partial one, and no temporary files left."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.fileio import atomic_save_npy, atomic_write, atomic_write_bytes, atomic_write_text


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000))
def test_bytes_round_trip(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("w")
    atomic_write_bytes(d / "f.bin", b"old")
    atomic_write_bytes(d / "f.bin", data)
    assert (d / "f.bin").read_bytes() == data
    assert [p.name for p in d.iterdir()] == ["f.bin"]


def test_text_and_npy(tmp_path):
    atomic_write_text(tmp_path / "t.txt", "héllo\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    atomic_save_npy(tmp_path / "a.npy", arr)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy", allow_pickle=False), arr)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    atomic_write_bytes(tmp_path / "f", b"old")

    def fail(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(tmp_path / "f", fail)
    assert (tmp_path / "f").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    with pytest.raises(ValueError):
        atomic_save_npy(tmp_path / "o.npy", np.asarray([object()], dtype=object))  # pickle is never used
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
