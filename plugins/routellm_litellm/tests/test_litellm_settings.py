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
