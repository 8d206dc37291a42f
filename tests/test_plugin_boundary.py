"""Plugins reach the core through its plugin API and its test kit only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from routellm_core import plugin_api

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"routellm_core.plugin_api", "routellm_core.testing"}


def core_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of routellm_core in a file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "routellm_core":
                found += [(node.lineno, f"routellm_core.{alias.name}") for alias in node.names]
            elif node.module.startswith("routellm_core."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "routellm_core"]
    return found


def test_plugin_sources_import_only_the_plugin_api():
    sources = sorted(ROOT.glob("plugins/*/src/**/*.py"))
    assert sources, "no plugin sources found"
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sources
        for line, module in core_imports(path)
        if module not in ALLOWED and not module.startswith("routellm_core.testing.")
    ]
    assert not outside, "plugins import the core outside routellm_core.plugin_api:\n" + "\n".join(outside)


def test_the_rule_sees_every_import_form(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import routellm_core.router\nfrom routellm_core import errors\n"
        "def f():\n    from routellm_core.plugins import get_registry\n"
        "from routellm_core.plugin_api import Router\n"
    )
    assert sorted(m for _, m in core_imports(source)) == [
        "routellm_core.errors",
        "routellm_core.plugin_api",
        "routellm_core.plugins",
        "routellm_core.router",
    ]


@pytest.mark.parametrize("name", plugin_api.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(plugin_api, name) is not None


def test_loading_the_plugin_api_leaves_the_trainer_pipeline_unimported():
    import subprocess
    import sys

    code = (
        "import sys, routellm_core.plugin_api as api; "
        "heavy = [m for m in ('routellm_core.training_run', 'routellm_core.controller', 'torch') if m in sys.modules]; "
        "sys.exit(f'imported at load: {heavy}' if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
