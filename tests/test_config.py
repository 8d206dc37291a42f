import pytest

from routellm_core.config import load_config, parse_config
from routellm_core.errors import ConfigError


def test_routellm_format(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("mf:\n  checkpoint_path: ckpt\nrandom:\n  seed: 3\nelo:\n")
    assert load_config(path) == {"mf": {"checkpoint_path": "ckpt"}, "random": {"seed": 3}, "elo": {}}


def test_env_references(monkeypatch):
    monkeypatch.setenv("ROUTELLM_TEST_KEY", "s3cret")
    config = parse_config(
        "mf:\n  api_key: ${ROUTELLM_TEST_KEY}\n  base: ${UNSET_ROUTELLM_VAR:-http://x}\n  n: ['${ROUTELLM_TEST_KEY}']\n"
    )
    assert config == {"mf": {"api_key": "s3cret", "base": "http://x", "n": ["s3cret"]}}


def test_missing_env_is_named(monkeypatch):
    monkeypatch.delenv("NOT_SET_ROUTELLM", raising=False)
    with pytest.raises(ConfigError, match="NOT_SET_ROUTELLM"):
        parse_config("mf:\n  api_key: ${NOT_SET_ROUTELLM}\n")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("- a\n- b\n", "must map router names"),
        ("mf: 3\n", "must be a mapping"),
        ("mf: [\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("1: {}\n", "must be strings"),
    ],
)
def test_bad_configs(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_config(text)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")


def test_empty_and_none(tmp_path):
    assert load_config(None) == {}
    (tmp_path / "e.yaml").write_text("")
    assert load_config(tmp_path / "e.yaml") == {}
