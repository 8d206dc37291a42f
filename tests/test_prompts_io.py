import pytest

from routellm_core.prompts_io import read_prompts


def test_formats(tmp_path):
    (tmp_path / "p.txt").write_text("one\n\ntwo, with comma\n")
    (tmp_path / "p.jsonl").write_text('{"prompt": "a"}\n"b"\n\n{"question": "c"}\n')
    (tmp_path / "p.csv").write_text('id,prompt\n1,"multi\nline"\n2,plain\n')
    assert read_prompts(tmp_path / "p.txt") == ["one", "two, with comma"]
    assert read_prompts(tmp_path / "p.jsonl") == ["a", "b", "c"]
    assert read_prompts(tmp_path / "p.csv") == ["multi\nline", "plain"]


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("bad.jsonl", '{"prompt": "a"}\n{oops\n', "p/bad.jsonl: line 2: not valid JSON"),
        ("nofield.jsonl", '{"x": 1}\n', "no prompt field"),
        ("num.jsonl", "3\n", "JSON string or object"),
        ("nocol.csv", "a,b\n1,2\n", "no prompt field"),
        ("empty.txt", "\n\n", "contains no prompts"),
    ],
)
def test_errors(tmp_path, name, text, fragment):
    d = tmp_path / "p"
    d.mkdir()
    (d / name).write_text(text)
    with pytest.raises(ValueError, match=fragment):
        read_prompts(d / name)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read prompts file"):
        read_prompts(tmp_path / "missing.txt")
