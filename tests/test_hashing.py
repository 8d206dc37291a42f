"""sha256 of bytes, text and files agree with each other and with hashlib."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.hashing import sha256_bytes, sha256_file, sha256_text


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_text_is_the_utf8_bytes(text):
    data = text.encode("utf-8", "surrogatepass")
    assert sha256_text(text) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def test_lone_surrogates_are_hashed_not_rejected():
    assert len(sha256_text("a\ud800b")) == 64 and sha256_text("a\ud800b") != sha256_text("ab")


def test_file_matches_its_bytes_across_block_boundaries(tmp_path):
    for size in (0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 7):
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        (tmp_path / "f").write_bytes(data)
        assert sha256_file(tmp_path / "f") == sha256_bytes(data)
