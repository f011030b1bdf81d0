"""The plugin guide documents every hookspec, every common option and the file sink."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
