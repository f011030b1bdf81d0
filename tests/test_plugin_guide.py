"""The plugin guide documents every hookspec, every common option and the file sink, and
its examples use only public names and leave nothing behind."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import telemetry_core._hookspecs as hookspecs
from telemetry_core.sinks import FRAMEWORK_OPTIONS, VARIABLES, FileSink

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md"


def _hookspec_names() -> list[str]:
    tree = ast.parse(Path(hookspecs.__file__).read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                (isinstance(d, ast.Name) and d.id == "hookspec")
                or (isinstance(d, ast.Call) and isinstance(d.func, ast.Name)
                    and d.func.id == "hookspec")
                for d in node.decorator_list):
            names.append(node.name)
    return names


def test_every_hookspec_has_a_section_in_the_plugin_guide() -> None:
    names = _hookspec_names()
    assert "telemetry_sink_types" in names and "telemetry_modify_event" in names
    headings = set(re.findall(r"^#{2,4} +`?(\w+)`?\s*$", GUIDE.read_text(), re.M))
    missing = [n for n in names if n not in headings]
    assert not missing, f"hookspecs without a section in {GUIDE}: {missing}"


def test_every_hookspec_docstring_states_its_contract() -> None:
    for name in _hookspec_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        for part in ("Called by:", "Returns:", "Must never:"):
            assert part in doc, f"{name} docstring lacks {part!r}"


def test_every_option_and_template_variable_is_documented() -> None:
    text = GUIDE.read_text()
    for option in [*FRAMEWORK_OPTIONS, *FileSink.declared_options()]:
        assert f"`{option.name}`" in text, f"option {option.name} missing from the plugin guide"
    for variable in VARIABLES:
        assert "{" + variable + "}" in text, f"template variable {variable} missing"


def _programs() -> list[str]:
    fences = re.finditer(r"^```([^\n`]*)\n(.*?)^```", GUIDE.read_text(), re.S | re.M)
    return [m.group(2) for m in fences if m.group(1).split() == ["python"]]


def test_the_guide_shows_a_complete_sink_using_only_public_names() -> None:
    programs = _programs()
    assert any("class ListSink(Sink)" in p and "EventLog(" in p for p in programs)
    for program in programs:
        for node in ast.walk(ast.parse(program)):
            if isinstance(node, ast.ImportFrom):
                assert not any(part.startswith("_") for part in (node.module or "").split(".")), \
                    f"the guide imports from a private module: {node.module}"
                assert not any(a.name.startswith("_") for a in node.names), \
                    f"the guide imports a private name from {node.module}"
            if isinstance(node, ast.Attribute):
                assert not (node.attr.startswith("_") and not node.attr.endswith("__")), \
                    f"the guide reaches a private attribute: .{node.attr}"


@pytest.mark.parametrize("index", range(len(_programs())))
def test_the_guides_examples_run_and_write_only_to_their_temp_dir(index: int,
                                                                  tmp_path: Path) -> None:
    # HOME, the state directory and TMPDIR each point at a directory of their own:
    # an example may use a temporary directory, and must remove it; nothing else.
    dirs = {name: tmp_path / name for name in ("home", "state", "tmp", "cwd")}
    for path in dirs.values():
        path.mkdir()
    env = {**os.environ, "HOME": str(dirs["home"]), "XDG_STATE_HOME": str(dirs["state"]),
           "TMPDIR": str(dirs["tmp"])}
    proc = subprocess.run([sys.executable, "-c", _programs()[index]], cwd=dirs["cwd"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    left = {name: sorted(p.name for p in path.iterdir()) for name, path in dirs.items()}
    assert left == {name: [] for name in dirs}, f"the example left files behind: {left}"
