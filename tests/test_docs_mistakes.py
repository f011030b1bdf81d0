"""Docs that run as written: examples from any directory, writing only where they say;
install lines that install from a clone; tables of code checked against the code."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from telemetry_core import EventLog
from telemetry_core._cli import main
from telemetry_core._schema_registry import builtin_schemas

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "plugins").glob("*/README.md")), ROOT / "js" / "README.md"]
# This project's distributions, not on PyPI yet: installed from a clone, by path.
UNPUBLISHED = ("telemetry-core", "telemetry-sink-", "jupyterlab-telemetry",
               "telemetry-detect", "telemetry-report")


def python_block(page: Path, containing: str) -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)
    [block] = [b for b in blocks if containing in b]
    return block


def run_as_a_user(code: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``code`` as a user would: in an empty directory, with a HOME of its own and no
    XDG_STATE_HOME (so the defaults apply); return the run and the HOME."""
    home, cwd, tmp = tmp_path / "home", tmp_path / "cwd", tmp_path / "tmp"
    for d in (home, cwd, tmp):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_STATE_HOME"}
    env.update(HOME=str(home), TMPDIR=str(tmp))
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, home


def test_readme_example_runs_anywhere_and_writes_only_where_it_says(tmp_path: Path):
    proc, home = run_as_a_user(python_block(ROOT / "README.md", "EventLog("), tmp_path)
    assert not list((tmp_path / "cwd").iterdir())  # no events.log left behind
    assert not list(home.rglob("*"))  # nor anything under ~/.local/state
    out = Path(proc.stdout.split("events in ")[1].split("/events.log")[0])
    assert out.parent == tmp_path / "tmp"  # it said where, and wrote there
    assert (out / "events.log").read_text().count("\n") == 1


def test_plugin_guide_example_writes_nothing_under_home(tmp_path: Path):
    _, home = run_as_a_user(python_block(ROOT / "docs" / "plugin-guide.md", "class ListSink"),
                            tmp_path)
    assert not list(home.rglob("*"))


def test_install_lines_name_what_installs_from_a_clone():
    wrong = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            said = " ".join(lines[max(0, number - 5):number]).lower()  # this line, 4 above
            for command in re.findall(r"pip install ([^`#|]*)", line):
                names = [w.strip("'\"") for w in command.split() if not w.startswith("-")]
                if any(n.startswith(UNPUBLISHED) for n in names) and \
                        "once published" not in said:
                    wrong.append(f"{page.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not wrong, "\n".join(wrong)


def test_pages_that_list_labextensions_install_jupyterlab():
    for page in PAGES:
        for block in re.findall(r"^```[^\n]*\n(.*?)^```", page.read_text(), re.S | re.M):
            if "jupyter labextension list" in block:
                assert re.search(r"pip install [^\n]*\bjupyterlab\b(?!-)", block), \
                    f"{page.relative_to(ROOT)}: install jupyterlab before `jupyter labextension`"


def test_the_hint_for_an_unpublished_sink_plugin_names_the_clone_path(capsys, monkeypatch):
    from telemetry_core.sinks import _registry

    # As on a machine without the plugin (a venv that has it would find the type).
    monkeypatch.setattr(_registry, "installed_sink_names", lambda: ["file"])
    message = _registry._unknown_type_message("kafka")
    assert "pip install ./plugins/telemetry-sink-kafka" in message


def test_usage_lists_every_shipped_schema():
    text = (ROOT / "docs" / "usage.md").read_text()
    table = text[text.index("| id | title |"):]
    table = table[:table.index("\n\n")]
    rows = set(re.findall(r"^\| `([^`]+)` \| (.+?) \|$", table, re.M))
    assert rows == {(s.id, s.title) for s in builtin_schemas()}


def test_consent_stats_example_prints_what_its_comment_says():
    block = python_block(ROOT / "docs" / "consent.md", "eventlog.stats()")
    comment = re.search(r"^print\(eventlog\.stats\(\)\)\s+# (\{.*\})$", block, re.M)
    assert comment, "the example shows stats() with its output"
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "XDG_STATE_HOME": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ast.literal_eval(proc.stdout.splitlines()[0]) == ast.literal_eval(comment.group(1))
    assert set(ast.literal_eval(comment.group(1))) == set(EventLog().stats())


def test_demo_says_where_it_keeps_its_spool_state(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert main(["demo", "--dir", str(tmp_path / "events")]) == 0
    out = capsys.readouterr().out
    [spool] = (tmp_path / "state" / "telemetry" / "spool").iterdir()
    assert str(spool) in out and "telemetry spool clean" in out


def js_readme() -> str:
    return (ROOT / "js" / "README.md").read_text()


def test_js_readme_serve_config_names_schemas_that_exist_and_no_placeholder():
    [block] = re.findall(r"^```json serve-config\n(.*?)^```", js_readme(), re.S | re.M)
    config = json.loads(block)
    log = EventLog(register_builtin_schemas=False)
    for name in config["EventLog"]["schema_files"]:
        log.register_schema(ROOT / "js" / name)  # relative to js/, as the README says
    assert {s.id for s in log.schemas} == set(config["EventLog"]["allowed_schemas"])
    for token in config["TelemetryServer"].get("tokens", {}).values():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", token)
    # The browser holds no secret: a user token from its backend, signed with a key the
    # collector accepts (an HS256 secret of 32+ bytes), never a client token.
    assert len(config["TelemetryServer"]["user_tokens"]["key"].encode()) >= 32
    [browser] = re.findall(r"^```html browser-example\n(.*?)^```", js_readme(), re.S | re.M)
    assert "userToken:" in browser and not re.search(r"\btoken:", browser)


def test_js_readme_documents_get_notices_shape_as_the_source_declares_it():
    source = (ROOT / "js" / "src" / "client.ts").read_text()
    declared = re.search(r"export interface Notice \{(.*?)^\}", source, re.S | re.M).group(1)
    fields = set(re.findall(r"^\s+(\w+):", declared, re.M))
    documented = re.search(r"^interface Notice \{(.*?)^\}", js_readme(), re.S | re.M)
    assert documented, "js/README.md shows getNotice()'s return shape"
    assert set(re.findall(r"^\s+(\w+):", documented.group(1), re.M)) == fields
    assert "notice_version" in documented.group(1)  # how it maps to the REST field


def settings_table(cls: type) -> str:
    """The Markdown table of ``cls``'s settings, from the code: name, default, help."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for name in sorted(cls.class_trait_names(config=True)):
        trait = cls.class_traits()[name]
        default = trait.default_value_repr().replace("|", "\\|")
        meaning = " ".join(trait.help.split()).replace("|", "\\|")
        rows.append(f"| `{name}` | `{default}` | {meaning} |")
    return "\n".join(rows)


def test_rest_api_lists_every_telemetryserver_setting_as_the_code_says():
    from telemetry_core.server._settings import TelemetryServer

    table = settings_table(TelemetryServer)
    assert table in (ROOT / "docs" / "rest-api.md").read_text(), (
        "docs/rest-api.md's settings table differs from the code; paste the output of "
        "`python tests/test_docs_mistakes.py`:\n" + table)


def test_every_eventlog_setting_is_documented():
    text = " ".join(p.read_text() for p in (ROOT / "README.md",
                                             *sorted((ROOT / "docs").glob("*.md"))))
    missing = [n for n in sorted(EventLog.class_trait_names(config=True))
               if not re.search(rf"`(c\.EventLog\.)?{n}( = [^`]*)?`", text)]
    assert not missing, f"EventLog settings no page names: {missing}"


if __name__ == "__main__":  # python tests/test_docs_mistakes.py: the table to paste
    from telemetry_core.server._settings import TelemetryServer

    print(settings_table(TelemetryServer))
