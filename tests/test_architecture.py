"""docs/ARCHITECTURE.md names every module of the core and every plugin."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_every_core_module_is_named():
    core = ROOT / "src" / "routellm_core"
    missing = [
        str(path.relative_to(core))
        for path in sorted(core.rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and f"{path.name}" not in PAGE
    ]
    packages = [p.name for p in core.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    missing += [f"{name}/" for name in packages if f"{name}/" not in PAGE]
    assert not missing, f"docs/ARCHITECTURE.md does not name: {', '.join(missing)}"


def test_every_plugin_is_named():
    plugins = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
    assert plugins and all(f"`{name}`" in PAGE for name in plugins), plugins
