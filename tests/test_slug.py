"""File-name-safe slugs."""

import re

from hypothesis import given
from hypothesis import strategies as st

from routellm_core.slug import slug


@given(st.text(), st.integers(1, 80))
def test_slug_is_safe_and_bounded(text, n):
    s = slug(text, max_len=n)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", s)
    assert len(s) <= max(n, 1) and not s.startswith((".", "_")) or s == "x"


def test_examples():
    assert slug("openai/gpt-4o mini") == "openai_gpt-4o_mini"
    assert slug("file:my eval.jsonl") == "file_my_eval.jsonl"
    assert slug("../..") == "x" and slug("", empty="benchmark") == "benchmark"
    assert slug("a" * 100, max_len=60) == "a" * 60
