"""Plugin loading with real pip-installed distributions."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from routellm_core.errors import MissingDependencyError, RoutingError
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
    return subprocess.run([sys.executable, "-m", "routellm_core.cli", *args], capture_output=True, text=True, env=env, timeout=120)


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
    config.write_text(textwrap.dedent("""
        length-test:
          scale: 10
    """))
    result = _cli(plugin_site, "route", "a long prompt indeed", "--router", "length-test", "--threshold", "0.5", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"router": "length-test", "threshold": 0.5, "score": 1.0, "strong": True, "model": "strong"}
