"""The models list: one format for the Controller, the server and adapters (routellm_core.model_set)."""

from __future__ import annotations

import pytest
import yaml

from routellm_core.errors import ConfigError
from routellm_core.model_choice import ModelPrice
from routellm_core.model_set import (
    DEFAULT_EXPECTED_OUTPUT_TOKENS,
    ModelEndpoint,
    ModelSet,
    load_models,
    parse_models,
    request_input_tokens,
)
from routellm_core.routing import ModelEndpoint as RoutingModelEndpoint

FREE = {"input": 0, "output": 0}


def entries(*names, price=None):
    return [
        {"name": n, "model": f"openai/{n}", "price": price or {"input": i + 1, "output": 2 * (i + 1)}}
        for i, n in enumerate(names)
    ]


def test_entries_names_endpoints_and_prices():
    models = parse_models(
        {
            "models": [
                {"name": "big", "model": "openai/big", "api_base": "http://h/v1", "price": {"input": 5, "output": 15}},
                {"name": "small", "price": FREE, "api_key": "sk-hidden-9"},
            ],
            "expected_output_tokens": 100,
        }
    )
    assert models.names == ("big", "small")
    assert models.endpoints[0] == ModelEndpoint("openai/big", "http://h/v1")
    assert models.endpoints[1].model == "small" and models.endpoints[1].api_key == "sk-hidden-9"  # model defaults to the name
    assert models.prices[0] == ModelPrice(5, 15) and models.models[0].price_source == "config"
    assert models.expected_output_tokens == 100
    assert models.costs(1000).tolist() == pytest.approx([(1000 * 5 + 100 * 15) / 1e6, 0.0])
    assert [m.name for m in models.by_price()] == ["big", "small"]
    assert "sk-hidden-9" not in repr(models)


def test_routing_reexports_the_endpoint():
    assert RoutingModelEndpoint is ModelEndpoint


def test_defaults_for_base_url_and_key_and_env_expansion(monkeypatch):
    monkeypatch.setenv("NMODEL_KEY", "secret-1")
    models = parse_models(
        [{"name": "a", "price": FREE, "api_key": "${NMODEL_KEY}"}, {"name": "b", "price": FREE}],
        api_base="http://x/v1",
        api_key="d",
    )
    assert models.endpoints[0].api_key == "secret-1" and models.endpoints[1].api_key == "d"
    assert {e.api_base for e in models.endpoints} == {"http://x/v1"}


def test_price_from_litellm_cost_map():
    models = parse_models([{"name": "gpt-4o"}, {"name": "gpt-4o-mini"}])
    assert all(m.price_source == "litellm" for m in models)
    assert models.prices[0].input_per_million > models.prices[1].input_per_million > 0


def test_a_model_without_a_price_is_one_line_naming_it():
    with pytest.raises(ConfigError) as info:
        parse_models([{"name": "local", "model": "openai/my-local-llm"}, {"name": "gpt-4o"}])
    message = str(info.value)
    assert "\n" not in message and "'local'" in message and "price: {input:" in message


@pytest.mark.parametrize(
    "data, words",
    [
        ([{"name": "a", "price": FREE}], "at least two"),
        (entries("a", "a"), "repeated: 'a'"),
        ([{"name": "a", "price": FREE, "cost": 1}, {"name": "b", "price": FREE}], "unknown key(s) 'cost'"),
        ([{"model": "x", "price": FREE}, {"name": "b", "price": FREE}], "missing 'name'"),
        ([{"name": "a", "price": {"input": -1}}, {"name": "b", "price": FREE}], "-1"),
        ([{"name": "a", "price": {"input": float("nan")}}, {"name": "b", "price": FREE}], "nan"),
        ([{"name": "a", "price": {"in": 1}}, {"name": "b", "price": FREE}], "the price must be"),
        ([{"name": "a", "price": 3}, {"name": "b", "price": FREE}], "the price must be"),
        ({"models": entries("a", "b"), "expected_output_tokens": 0}, "expected_output_tokens"),
        ({"model": entries("a", "b")}, "unknown key(s) 'model'"),
        ("gpt-4o", "must be a list"),
        ([{"name": "a\u00e9", "price": FREE}, {"name": "b", "price": FREE}], "printable ASCII"),
    ],
)
def test_bad_lists_are_one_line_errors(data, words):
    with pytest.raises(ConfigError) as info:
        parse_models(data)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_file(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n  - {name: a, model: openai/a, price: {input: 1, output: 2}}\n  - {name: b, price: {input: 0, output: 0}}\n"
    )
    models = load_models(path)
    assert models.names == ("a", "b") and models.expected_output_tokens == DEFAULT_EXPECTED_OUTPUT_TOKENS
    with pytest.raises(ConfigError, match="cannot read models file"):
        load_models(tmp_path / "missing.yaml")


def test_expected_output_tokens_and_input_estimate():
    models = ModelSet(tuple(parse_models(entries("a", "b")).models), expected_output_tokens=200)
    assert models.output_tokens(None) == 200 and models.output_tokens(50) == 50 and models.output_tokens(5000) == 200
    assert models.output_tokens(True) == 200 and models.output_tokens(0) == 200
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": [{"type": "text", "text": "y" * 40}]}]
    assert request_input_tokens(messages) == (6 + 1 + 40 + 4 + 1 + 40 + 3) // 4
    assert request_input_tokens([]) == 1


@pytest.mark.parametrize("doc", ["README.md", "docs/SERVER.md"])
def test_the_documented_models_files_parse(doc, monkeypatch):
    import re
    from pathlib import Path

    monkeypatch.setenv("LLAMA_KEY", "k")
    text = (Path(__file__).resolve().parents[1] / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# models.yaml\n.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        models = parse_models(yaml.safe_load(block))
        assert models.names == ("gpt-4o", "gpt-4o-mini", "llama-3.1-8b")
        assert models.models[1].price_source == "litellm" and models.prices[2] == ModelPrice(0, 0)
