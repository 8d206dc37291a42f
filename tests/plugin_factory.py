"""Build and pip-install small plugin distributions for tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def write_plugin(root: Path, dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
    """Write a minimal distribution whose module registers through the ``routellm`` entry point group."""
    project = root / dist
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(textwrap.dedent(source))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=70.1"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "1.2.3"

        [tool.setuptools]
        packages = ["{module}"]

        [project.entry-points.routellm]
        {entry_name or module} = "{module}"
    """)
    )
    return project


def pip_install_target(projects: list[Path], target: Path) -> None:
    """``pip install --target`` without network access or build isolation."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            *map(str, projects),
        ],
        check=True,
    )
