"""The shape of the code: no import cycle in telemetry_core, counting every import, and
plugins that use only public names of the core.

import-linter (the ``lint`` session, ``[tool.importlinter]`` in pyproject.toml) keeps
the layers and private modules; these tests read the source itself, so an import
inside a function or under ``if TYPE_CHECKING:`` counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "telemetry_core"


def _modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``package_dir``."""
    found = {}
    for path in package_dir.rglob("*.py"):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every module an import statement anywhere in ``path`` names: relative ones
    resolved; ``from x import y`` names ``x.y`` when that is a module, else ``x``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = package.split(".")
                source = ".".join(parts[:len(parts) - node.level + 1] + [source] * bool(source))
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in modules else source


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (itself excluded)."""
    modules = _modules(package_dir)
    return {name: {m for m in _imported(name, path, modules) if m in modules and m != name}
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_imports_in_functions_and_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("from ._c2 import x\n")
    (pkg / "sub" / "_c2.py").write_text("x = 1\n")
    (pkg / "sub" / "c.py").write_text("from ..a import f\n")
    (pkg / "lone.py").write_text("from .sub import x\n")  # a name: the package, no cycle
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.lone"] == {"pkg.sub"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_telemetry_core_has_no_import_cycle_counting_every_import() -> None:
    graph = import_graph(CORE)
    assert len(graph) > 50  # it read the package
    found = cycles(graph)
    assert not found, "import cycles (every import counted, TYPE_CHECKING and " \
        f"function-level ones too): {found}"


def _private_core_imports(path: Path) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names  # type: ignore[attr-defined]
                if name.split(".")[0] == "telemetry_core"
                and any(part.startswith("_") for part in name.split(".")[1:])]
    return bad


def test_plugins_and_their_tests_use_only_public_names_of_the_core() -> None:
    files = sorted((ROOT / "plugins").glob("*/**/*.py"))
    files = [f for f in files if "node_modules" not in f.parts and ".nox" not in f.parts]
    assert any("telemetry-sink-s3" in str(f) for f in files)
    bad = [line for f in files for line in _private_core_imports(f)]
    assert not bad, "plugins import private modules of telemetry_core (use " \
        f"telemetry_core.sinks / telemetry_core.testing instead): {bad}"
