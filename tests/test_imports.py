"""The core's import graph: no cycles, and the modules the registry builds on never import it.

The graph is read from the source with ``ast``: every import counts, at module level, inside
functions (lazy imports) and under ``if TYPE_CHECKING:``. An import of a package that contains the
importing module (``from . import __version__``) is left out: Python has imported that package
before the module, so the edge orders nothing (and the root package re-exports ``Controller``
lazily, which would otherwise close a loop through every module that reads ``__version__``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import routellm_core

PACKAGE = Path(routellm_core.__file__).resolve().parent
#: the registry, and the modules it builds on: these must not import it (or the lookups above it)
REGISTRY = {"routellm_core.plugins", "routellm_core.lookups"}
BELOW_REGISTRY = ("routellm_core.hookspecs", "routellm_core.embedders", "routellm_core.evaluation.data")


def module_names(root: Path) -> dict[str, Path]:
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, anywhere in its source."""
    modules = module_names(root)
    top = root.name
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
                source = ".".join(part for part in (base, node.module or "") if part)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in modules else source)
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = {t for t in targets if t in modules and t != name and t not in ancestors and t.startswith(top)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or not, with the packages each of them runs on import."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        parts = node.split(".")
        # the root package aside: it imports the Controller only when asked for it
        for candidate in [node] + [".".join(parts[:i]) for i in range(2, len(parts))]:
            if candidate in graph and candidate not in seen:
                seen.add(candidate)
                todo.extend(graph[candidate])
    return seen


def test_the_core_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_the_modules_below_the_registry_never_import_it():
    graph = import_graph(PACKAGE)
    for name in BELOW_REGISTRY:
        assert not reachable(graph, name) & REGISTRY, name


def test_loading_them_leaves_the_registry_unloaded():
    code = (
        "import sys\n"
        f"for name in {BELOW_REGISTRY!r}:\n"
        "    __import__(name)\n"
        f"loaded = sorted(m for m in {sorted(REGISTRY)!r} if m in sys.modules)\n"
        "sys.exit(f'loaded: {loaded}' if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_the_graph_sees_every_import_form(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n    from .sub import c\n"
        "def f():\n    import pkg.sub.d\n"
    )
    (pkg / "b.py").write_text("from . import a\nfrom . import VERSION\n")
    (pkg / "sub" / "c.py").write_text("from ..b import thing\n")
    (pkg / "sub" / "d.py").write_text("")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b", "pkg.sub.c", "pkg.sub.d"}
    assert graph["pkg.b"] == {"pkg.a"}  # the package itself is not an edge
    assert graph["pkg.sub.c"] == {"pkg.b"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]  # a TYPE_CHECKING import closes a cycle too
