"""The ``callback_settings.routellm`` block: what is accepted, and what stops the proxy at start."""

from __future__ import annotations

import pytest
from routellm_litellm.settings import parse_settings

from routellm_core.errors import ConfigError, RoutellmError

BASE = {"routers": ["random"], "strong_model": "strong", "weak_model": "weak"}


def test_minimal_settings_get_defaults():
    settings = parse_settings(BASE)
    assert settings.routers == ("random",)
    assert (settings.strong_model, settings.weak_model) == ("strong", "weak")
    assert settings.routing_policy == "last_user"
    assert settings.config == {} and settings.models == {}


def test_full_settings():
    settings = parse_settings(
        {
            **BASE,
            "routers": "random",
            "routing_policy": "conversation",
            "config": {"random": {"seed": 3}},
            "models": {"smart": "router-random-0.25", "thrifty": {"router": "random", "threshold": 0.75}},
        }
    )
    assert settings.routers == ("random",)
    assert settings.routing_policy == "conversation"
    assert settings.config == {"random": {"seed": 3}}
    assert settings.models == {"smart": ("random", 0.25), "thrifty": ("random", 0.75)}


def test_config_from_a_routellm_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_TEST_STRONG", "gpt-4o")
    path = tmp_path / "routellm.yaml"
    path.write_text("random:\n  seed: 7\n")
    settings = parse_settings({**BASE, "strong_model": "${ROUTELLM_TEST_STRONG}", "config": str(path)})
    assert settings.config == {"random": {"seed": 7}}
    assert settings.strong_model == "gpt-4o"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "callback_settings.routellm is missing"),
        (["random"], "must be a mapping"),
        ({**BASE, "weak_modle": "weak"}, "unknown key(s) weak_modle"),
        ({**BASE, "routers": []}, "callback_settings.routellm.routers"),
        ({k: v for k, v in BASE.items() if k != "weak_model"}, "callback_settings.routellm.weak_model"),
        ({**BASE, "weak_model": "strong"}, "both 'strong'"),
        ({**BASE, "routing_policy": "first_user"}, "routing_policy"),
        ({**BASE, "config": ["random"]}, "callback_settings.routellm.config"),
        ({**BASE, "config": "no/such/routellm.yaml"}, "config: routellm config file 'no/such/routellm.yaml' not found"),
        ({**BASE, "models": {"smart": "router-random-2"}}, "models.smart: threshold 2"),
        ({**BASE, "models": {"smart": {"router": "random"}}}, "models.smart must be"),
        ({**BASE, "models": {"smart": "router-mf-0.5"}}, "router 'mf' is not in routers"),
        ({**BASE, "models": {"router-random-0.5": "router-random-0.5"}}, "routed by their own threshold"),
        ({**BASE, "models": {"weak": "router-random-0.5"}}, "also the strong or weak model group"),
    ],
)
def test_bad_settings_name_the_field(raw, message):
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    assert message in str(error.value)


def test_litellm_loads_the_hook_from_callback_settings(monkeypatch):
    """The proxy's own loader resolves ``routellm_litellm.hook`` from ``callback_settings.routellm``."""
    litellm = pytest.importorskip("litellm")
    utils = pytest.importorskip("litellm.proxy.types_utils.utils")
    from routellm_litellm.proxy_hook import RoutellmHook

    monkeypatch.setattr(litellm, "callback_settings", {"routellm": {**BASE, "config": {"random": {"seed": 2}}}})
    hook = utils.get_instance_fn("routellm_litellm.hook")
    assert isinstance(hook, RoutellmHook)
    assert utils.get_instance_fn("routellm_litellm.hook") is hook  # built once per settings
    assert hook.controller.routers["random"].seed == 2

    monkeypatch.setattr(litellm, "callback_settings", {"routellm": {**BASE, "routers": ["no-such-router"]}})
    with pytest.raises(RoutellmError, match="no-such-router"):  # so the proxy stops at start
        utils.get_instance_fn("routellm_litellm.hook")


# -- N-model routing: model_groups ----------------------------------------------------------------

MODEL_LIST = [
    {"model_name": "frontier", "litellm_params": {"model": "openai/gpt-4o"}},
    {"model_name": "frontier", "litellm_params": {"model": "azure/my-gpt-4o"}, "model_info": {"base_model": "gpt-4o"}},
    {
        "model_name": "mini",
        "litellm_params": {"model": "openai/my-mini", "input_cost_per_token": 2e-7, "output_cost_per_token": 8e-7},
    },
    {"model_name": "local", "litellm_params": {"model": "openai/llama-local"}},
]
N_BASE = {
    "routers": ["random"],
    "model_groups": [
        "frontier",
        {"group": "mini", "name": "gpt-4o-mini"},
        {"group": "local", "price": {"input": 0, "output": 0}},
    ],
}


def test_model_groups_are_priced_from_settings_deployments_and_the_cost_map():
    from routellm_core.model_choice import litellm_price

    settings = parse_settings(N_BASE, model_list=MODEL_LIST)
    assert settings.n_model and settings.strong_model is None
    frontier, mini, local = settings.groups
    assert (frontier.group, frontier.name) == ("frontier", "frontier")
    assert frontier.price == litellm_price("gpt-4o") and frontier.price_source == "litellm cost map"
    assert (mini.name, mini.price_source) == ("gpt-4o-mini", "litellm_params")
    assert (mini.price.input_per_million, mini.price.output_per_million) == pytest.approx((0.2, 0.8))
    assert (local.price.input_per_million, local.price_source) == (0, "settings")
    assert settings.expected_output_tokens == 256
    assert mini.models_entry() == {
        "name": "gpt-4o-mini",
        "model": "mini",
        "price": {"input": pytest.approx(0.2), "output": pytest.approx(0.8)},
    }


def test_a_group_costs_what_its_dearest_deployment_does():
    model_list = [
        *MODEL_LIST,
        {"model_name": "mini", "litellm_params": {"model": "m2"}, "model_info": {"input_cost_per_token": 1e-6}},
    ]
    mini = parse_settings(N_BASE, model_list=model_list).groups[1]
    assert (mini.price.input_per_million, mini.price.output_per_million) == pytest.approx((1.0, 0.8))


def test_n_model_named_models():
    settings = parse_settings(
        {
            **N_BASE,
            "models": {
                "cheap": "router-random-0.9",
                "balanced": {"router": "random", "knob": 0.5},
                "floor": {"router": "random", "min_quality": 0.7},
            },
        },
        model_list=MODEL_LIST,
    )
    assert settings.routes == {"cheap": "router-random-0.9", "balanced": "router-random-0.5", "floor": "router-random-q0.7"}
    assert settings.named_models == {"cheap", "balanced", "floor"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**N_BASE, "model_groups": ["frontier"]}, "at least two model groups"),
        (
            {**N_BASE, "model_groups": ["frontier", "gpt-5"]},
            "model_groups[1].group: unknown model group 'gpt-5'; model_list has: frontier, local, mini",
        ),
        (
            {**N_BASE, "model_groups": ["frontier", "local"]},
            "model_groups[1] ('local'): model group has no price: litellm's cost map does not know its deployment "
            "'openai/llama-local'",
        ),
        (
            {**N_BASE, "model_groups": ["frontier", {"group": "local", "price": {"input": -1}}]},
            "input price per 1M tokens must be a finite number >= 0 (USD), got -1",
        ),
        ({**N_BASE, "model_groups": ["frontier", {"group": "local", "price": 3}]}, "the price must be price: {input"),
        ({**N_BASE, "model_groups": ["frontier", {"group": "local", "cost": 3}]}, "unknown key(s) cost"),
        ({**N_BASE, "model_groups": ["frontier", "frontier"]}, "repeated: 'frontier'"),
        ({**N_BASE, "strong_model": "frontier"}, "not both; remove strong_model"),
        ({**N_BASE, "expected_output_tokens": 0}, "expected_output_tokens must be a positive integer, got 0"),
        ({**BASE, "expected_output_tokens": 10}, "only used with model_groups"),
        ({**N_BASE, "models": {"x": "router-random-1.5"}}, "models.x: cost knob 1.5 in 'router-random-1.5' is outside [0, 1]"),
        ({**N_BASE, "models": {"x": {"router": "random", "knob": 2}}}, "models.x: the cost knob must be a number in [0, 1]"),
        ({**N_BASE, "models": {"x": {"router": "random", "threshold": 0.5}}}, "models.x must be"),
        ({**N_BASE, "models": {"mini": "router-random-0.5"}}, "models.mini: is also a model group"),
        ({**N_BASE, "models": {"x": "router-mf-0.5"}}, "router 'mf' is not in routers"),
    ],
)
def test_bad_model_groups_name_the_value(raw, message):
    with pytest.raises(ConfigError) as error:
        parse_settings(raw, model_list=MODEL_LIST)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_without_the_proxys_model_list_every_group_needs_a_price():
    with pytest.raises(ConfigError, match=r"model_groups\[0\] \('frontier'\): model group has no price"):
        parse_settings(N_BASE)
