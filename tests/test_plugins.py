"""Plugin loading with real pip-installed distributions."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from routellm_core.errors import ConfigError, MissingDependencyError, RoutingError
from routellm_core.plugins import PluginRegistry

from .plugin_factory import pip_install_target, write_plugin

THIRD_PARTY = """
    import numpy as np
    from routellm_core import Router
    from routellm_core.hookspecs import hookimpl


    class LengthRouter(Router):
        def __init__(self, scale: int = 100):
            self.scale = scale

        def score(self, prompts):
            return np.array([min(1.0, len(p) / self.scale) for p in prompts], dtype=float)


    @hookimpl
    def routellm_register_routers(register):
        register("length-test", LengthRouter, description="longer prompts go strong")
"""

BROKEN = """
    raise RuntimeError("this plugin is broken on purpose")
"""

DUPLICATE = """
    from routellm_core.default_plugins.random_router import RandomRouter
    from routellm_core.hookspecs import hookimpl


    @hookimpl
    def routellm_register_routers(register):
        register("random", RandomRouter)
        register("random-copy", RandomRouter)
"""

NEEDS_MISSING = """
    import routellm_definitely_missing_dependency  # noqa: F401
"""

LAZY_HEAVY = """
    from routellm_core.hookspecs import hookimpl


    def make(**kwargs):
        import routellm_definitely_missing_heavy_lib  # noqa: F401


    @hookimpl
    def routellm_register_routers(register):
        register("heavy", make)
"""

MISSPELLED = """
    from routellm_core.hookspecs import hookimpl


    @hookimpl
    def routellm_register_routerz(register):
        pass
"""


# the plugin example of the README, as a user would copy it
DOCUMENTED_EXAMPLE = re.search(
    r"## A router plugin from zero.*?```python\n(.*?)```",
    (Path(__file__).resolve().parents[1] / "docs" / "PLUGINS.md").read_text(encoding="utf-8"),
    re.S,
).group(1)

# a trainer written from the documented signature: register(name, *, add_arguments, run, description="")
TRAINER = """
    from routellm_core.hookspecs import RegisterTrainer, hookimpl


    def add_arguments(parser):
        parser.add_argument("--epochs", type=int, default=1)


    def run(args):
        print(f"trained for {args.epochs} epochs")
        return 3


    def broken_arguments(parser):
        raise RuntimeError("no options today")


    @hookimpl
    def routellm_register_trainers(register: RegisterTrainer) -> None:
        register("toy", add_arguments=add_arguments, run=run, description="a toy trainer")
        register("toy-broken", add_arguments=broken_arguments, run=run)
"""

# the shapes the registry accepted before it documented its signatures
UNDOCUMENTED = """
    from routellm_core.default_plugins.random_router import RandomRouter
    from routellm_core.hookspecs import hookimpl


    @hookimpl
    def routellm_register_routers(register):
        register("validated", RandomRouter, validate=lambda kwargs: None)


    @hookimpl
    def routellm_register_trainers(register):
        register("factory-trainer", factory=print, add_arguments=print)
"""

# settings validated by a model before a lazy factory imports anything
CONFIGURED_LAZY = """
    from pydantic import Field

    from routellm_core.config import PluginConfig
    from routellm_core.hookspecs import hookimpl


    class HeavyConfig(PluginConfig):
        layers: int = Field(2, ge=1)


    def make(config):
        import routellm_definitely_missing_heavy_lib  # noqa: F401


    @hookimpl
    def routellm_register_routers(register):
        register("configured-heavy", make, config=HeavyConfig)
"""


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugins")
    projects = [
        write_plugin(root, "routellm-length-test", "routellm_length_test", THIRD_PARTY),
        write_plugin(root, "routellm-broken", "routellm_broken", BROKEN),
        write_plugin(root, "routellm-dup", "routellm_dup", DUPLICATE),
        write_plugin(root, "routellm-needs-missing", "routellm_needs_missing", NEEDS_MISSING),
        write_plugin(root, "routellm-heavy", "routellm_heavy", LAZY_HEAVY),
        write_plugin(root, "routellm-misspelled", "routellm_misspelled", MISSPELLED),
        write_plugin(root, "routellm-questions", "routellm_questions", DOCUMENTED_EXAMPLE, entry_name="questions"),
        write_plugin(root, "routellm-toy-trainer", "routellm_toy_trainer", TRAINER),
        write_plugin(root, "routellm-undocumented", "routellm_undocumented", UNDOCUMENTED),
        write_plugin(root, "routellm-configured-heavy", "routellm_configured_heavy", CONFIGURED_LAZY),
    ]
    site = root / "site"
    pip_install_target(projects, site)
    return site


@pytest.fixture
def registry(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.delenv("ROUTELLM_PLUGINS", raising=False)
    return PluginRegistry().load()


def test_third_party_router_is_usable(registry):
    assert "length-test" in registry.names("routers")
    router = registry.create_router("length-test", {"scale": 10})
    assert router.route("a long prompt indeed", 0.5).strong
    info = {p.name: p for p in registry.plugins}["routellm_length_test"]
    assert info.distribution == "routellm-length-test" and info.version == "1.2.3"
    assert info.registered == {"routers": ["length-test"]}


def test_broken_plugin_is_reported_and_others_load(registry):
    errors = {e.plugin: e for e in registry.errors}
    assert "this plugin is broken on purpose" in errors["routellm_broken"].error
    assert errors["routellm_broken"].distribution == "routellm-broken"
    assert {"random", "length-test", "random-copy"} <= set(registry.names("routers"))


def test_duplicate_name_names_both_distributions(registry):
    message = {e.plugin: e for e in registry.errors}["routellm_dup"].error
    assert "routellm-core" in message and "routellm-dup" in message and "'random'" in message
    assert registry.get("routers", "random").distribution == "routellm-core"


def test_missing_dependency_at_import_is_helpful(registry):
    message = {e.plugin: e for e in registry.errors}["routellm_needs_missing"].error
    assert "routellm_definitely_missing_dependency" in message and "pip install" in message


def test_missing_dependency_at_construction_is_helpful(registry):
    with pytest.raises(MissingDependencyError, match="routellm_definitely_missing_heavy_lib.*pip install"):
        registry.create_router("heavy")


def test_misspelled_hook_is_reported(registry):
    assert any("routellm_register_routerz" in e.error for e in registry.errors)


def test_allow_list(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setenv("ROUTELLM_PLUGINS", "routellm-length-test")
    registry = PluginRegistry().load()
    assert "length-test" in registry.names("routers")
    assert "random-copy" not in registry.names("routers")
    assert not any(e.plugin == "routellm_broken" for e in registry.errors)
    monkeypatch.setenv("ROUTELLM_PLUGINS", "")
    assert PluginRegistry().load().names("routers") == sorted(
        n for n in PluginRegistry().load(entry_points=False).names("routers")
    )


def test_unknown_router_lists_available(registry):
    with pytest.raises(RoutingError, match="unknown router 'nope'; available: .*length-test.*random"):
        registry.create_router("nope")


def _cli(plugin_site, *args):
    env = dict(os.environ, PYTHONPATH=str(plugin_site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("ROUTELLM_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "routellm_core.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_lists_plugins_and_errors(plugin_site):
    result = _cli(plugin_site, "plugins")
    assert result.returncode == 0, result.stderr
    assert "routellm_length_test  (routellm-length-test 1.2.3)" in result.stdout
    assert "routers: length-test" in result.stdout
    assert "load errors:" in result.stdout and "broken on purpose" in result.stdout
    data = json.loads(_cli(plugin_site, "plugins", "--json").stdout)
    assert any(p["registered"].get("routers") == ["random"] for p in data["plugins"])


def test_cli_routes_with_third_party_router(plugin_site, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        textwrap.dedent("""
        length-test:
          scale: 10
    """)
    )
    result = _cli(
        plugin_site,
        "route",
        "a long prompt indeed",
        "--router",
        "length-test",
        "--threshold",
        "0.5",
        "--config",
        str(config),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "router": "length-test",
        "threshold": 0.5,
        "score": 1.0,
        "strong": True,
        "model": "strong",
    }


def test_documented_plugin_example_works(registry):
    router = registry.create_router("questions", {"per_question": 0.5})
    assert router.score(["why? how?", "hi"]).tolist() == [1.0, 0.0]
    assert registry.get("routers", "questions").description == "more questions go to the strong model"
    with pytest.raises(
        ConfigError,
        match=r"router 'questions': per_question: Input should be less than or equal to 1 "
        r"\(got 2\); accepted keys: per_question",
    ):
        registry.create_router("questions", {"per_question": 2})
    with pytest.raises(ConfigError, match="unknown key 'per_questions'; accepted keys: per_question"):
        registry.create_router("questions", {"per_questions": 0.5})


def test_settings_are_validated_before_a_lazy_factory_runs(registry):
    with pytest.raises(ConfigError, match=r"layers: Input should be greater than or equal to 1 \(got 0\)"):
        registry.create_router("configured-heavy", {"layers": 0})  # the factory would fail with MissingDependencyError
    with pytest.raises(MissingDependencyError, match="routellm_definitely_missing_heavy_lib"):
        registry.create_router("configured-heavy", {"layers": 3})


def test_undocumented_register_arguments_are_load_errors(registry):
    errors = [e.error for e in registry.errors if e.plugin == "routellm_undocumented"]
    assert any("routellm_register_routers failed: TypeError" in e and "'validate'" in e for e in errors), errors
    assert any("routellm_register_trainers failed: TypeError" in e and "'factory'" in e for e in errors), errors
    assert "validated" not in registry.names("routers") and "factory-trainer" not in registry.names("trainers")


def test_trainer_following_the_documented_signature(plugin_site):
    result = _cli(plugin_site, "train", "toy", "--epochs", "4")
    assert result.returncode == 3, result.stderr
    assert result.stdout == "trained for 4 epochs\n"
    listing = _cli(plugin_site, "train", "--help")
    assert "toy" in listing.stdout and "a toy trainer" in listing.stdout


def test_trainer_whose_arguments_fail_breaks_only_itself(plugin_site):
    result = _cli(plugin_site, "route", "hi", "--router", "random", "--threshold", "0")
    assert result.returncode == 0 and "model: strong" in result.stdout, result.stderr
    result = _cli(plugin_site, "train", "toy-broken")
    assert result.returncode == 2
    assert "trainer 'toy-broken' (routellm-toy-trainer): add_arguments failed: RuntimeError: no options today" in result.stderr
