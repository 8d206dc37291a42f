"""The tabular reader (JSONL, JSON list, CSV) and the score parser."""

import csv
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routellm_core.errors import DataError
from routellm_core.tabular import find_prompt, is_missing, parse_records, parse_score, prompt_column, read_records

cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=8))
def test_the_three_formats_give_the_same_records(rows):
    rows = [r for r in rows if r[0].strip() or r[1].strip()]  # all-blank CSV rows are skipped
    records = [{"prompt": p, "m": m} for p, m in rows]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["prompt", "m"])
    w.writerows(rows)
    as_csv = [r for _, r in parse_records(buf.getvalue(), "f.csv", ".csv")]
    as_jsonl = [r for _, r in parse_records("\n".join(json.dumps(r) for r in records), "f.jsonl", ".jsonl")]
    as_json = [r for _, r in parse_records(json.dumps({"data": records}), "f.json", ".json")]
    assert as_csv == as_jsonl == as_json == records


def test_locations(tmp_path):
    (tmp_path / "a.csv").write_text('prompt,m\n"two\nlines",1\n\n,\nx,0\n', encoding="utf-8")
    assert [w for w, _ in read_records(tmp_path / "a.csv")] == [f"{tmp_path / 'a.csv'}: line 3", f"{tmp_path / 'a.csv'}: line 6"]
    (tmp_path / "a.json").write_text('[{"p": 1}, "x"]')
    assert read_records(tmp_path / "a.json") == [
        (f"{tmp_path / 'a.json'}: record 1", {"p": 1}),
        (f"{tmp_path / 'a.json'}: record 2", "x"),
    ]
    (tmp_path / "b.csv").write_bytes("\ufeffprompt,m\nq,1\n".encode())  # a byte-order mark is not part of the header
    assert read_records(tmp_path / "b.csv")[0][1] == {"prompt": "q", "m": "1"}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.csv", "prompt,m\nx,1,2\n", r"a.csv: line 2: 3 fields, the header has 2"),
        ("a.csv", "prompt,prompt\nx,1\n", r"a.csv: line 1: duplicate column names"),
        ("a.jsonl", '{"a": 1}\n\n{"a": \n', r"a.jsonl: line 3: not valid JSON"),
        ("a.json", '{"a": 1', r"a.json: not valid JSON"),
        ("a.json", '{"rows": [1]}', r"a.json: a JSON object without a list of records"),
        ("a.json", '"text"', r"a.json: expected a JSON list of records, got str"),
        ("a.tsv", "x", r"a.tsv: unsupported file type '.tsv'"),
    ],
)
def test_errors_name_the_place(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_records(tmp_path / name)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="cannot read file"):
        read_records(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_bytes(b"prompt\n\xff\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_records(tmp_path / "bad.csv")


@given(st.floats(allow_nan=False))
def test_parse_score_numbers(x):
    assert parse_score(x) == x and parse_score(repr(x)) == x and parse_score(f"  {x!r} ") == x


@pytest.mark.parametrize("value, expected", [(True, 1.0), (False, 0.0), ("True", 1.0), ("false", 0.0), (" TRUE ", 1.0), (3, 3.0)])
def test_parse_score_booleans(value, expected):
    assert parse_score(value) == expected


@pytest.mark.parametrize(
    "value, message", [("high", "'high' is not a number"), (None, "missing score"), ([1], "expected a number, got list")]
)
def test_parse_score_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_score(value)


def test_missing_and_nan():
    assert all(is_missing(v) for v in (None, "", " ", "NaN", "null", "None", float("nan")))
    assert not any(is_missing(v) for v in (0, "0", "false", float("inf")))
    assert math.isnan(parse_score("nan"))  # NaN is for the caller to judge


def test_prompt_columns():
    assert prompt_column({"text": 1, "question": "q"}) == "question"
    assert find_prompt({"prompt": None, "question": "q"}) == "q"
    assert find_prompt({"content": "c"}) == "c" and find_prompt({"x": "y"}) is None and prompt_column({"x": 1}) is None
