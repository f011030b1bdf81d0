"""End to end in the classic notebook (issue #29): a real ``jupyter nbclassic`` with
telemetry-core's server extensions (the hooks and the REST API, a file sink) and this
distribution's nbextension, driven by Playwright in Debian's chromium, with the same
helpers, policy and consent answers as the JupyterLab test (jupyter_browser_helpers).

The consent dialog appears; closed without an answer, nothing opt-in is recorded (a cell
run then leaves no cell-executed event) and it asks again on the next page load. Answered
(yes to one opt-in schema, no to the other), a cell run with Shift+Enter, a cell inserted
from the toolbar and deleted with D, D, and a save with Ctrl+S are each recorded exactly
once (the save after the first run aside), with the server's user. The notice opens from
the Help menu, and a change of mind there (edits allowed) records the next edit. A move
from the toolbar and an interrupt from the Kernel menu are recorded as their actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_browser_helpers import (
    ACTIVE,
    ADDED,
    CLICK,
    CODE,
    COMMAND,
    EDITED,
    EXECUTED,
    NB_OPENED,
    ONE_CELL_NOTEBOOK,
    REMOVED,
    SAVED,
    answer_consent,
    by_schema,
    change_mind,
    needs_chromium,
    read_events,
    running_jupyter,
    screenshot,
    wait_for_events,
)

from telemetry_core.testing.servers import JupyterProcess

pytestmark = needs_chromium

DIALOG = ".modal-dialog"
INTERRUPT = "jupyter-notebook:interrupt-kernel"


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[tuple[JupyterProcess, Path]]:
    with running_jupyter("nbclassic", tmp_path, {"x.ipynb": ONE_CELL_NOTEBOOK}) as classic:
        yield classic


def open_notebook(page: Any, server: JupyterProcess) -> None:
    page.goto(f"{server.url}nbclassic/notebooks/x.ipynb?token={server.token}")
    page.locator("#notebook-container .cell").first.wait_for()


def run_cell(page: Any, index: int, code: str, output: str) -> None:
    """Type ``code`` in cell ``index`` and run it with Shift+Enter; wait for ``output``."""
    page.locator("#notebook-container .cell .CodeMirror").nth(index).click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    page.locator(".output_area .output_text", has_text=output).wait_for()


def wait_kernel_idle(page: Any) -> None:
    page.locator("#kernel_indicator_icon.kernel_idle_icon").wait_for()


def test_classic_consent_then_cell_events_reach_the_sink(
        jupyter: tuple[JupyterProcess, Path], page: Any, tmp_path: Path) -> None:
    server, sink = jupyter
    page.on("dialog", lambda leave: leave.accept())  # "leave the unsaved notebook?"
    open_notebook(page, server)

    # 1. The dialog asks; closed with its x, nothing is decided and nothing opt-in
    # recorded: a cell run now leaves no cell-executed event.
    dialog = page.locator(DIALOG, has_text="Telemetry: your consent")
    dialog.wait_for()
    dialog.locator("button.close").click()
    dialog.wait_for(state="detached")
    wait_kernel_idle(page)
    run_cell(page, 0, "print('before')", "before")
    # saved, so that leaving the page does not save it again on the way out
    page.keyboard.press("Control+s")
    wait_for_events(page, sink, lambda events: bool(by_schema(events, SAVED)))
    page.wait_for_timeout(5500)  # the client's batch age: anything queued is sent by now
    assert by_schema(read_events(sink), CODE) and not by_schema(read_events(sink), EXECUTED)

    # 2. On the next page load it asks again: yes to one opt-in schema, no to the other.
    open_notebook(page, server)
    answer_consent(page, tmp_path, "classic-consent-dialog.png", DIALOG)
    wait_kernel_idle(page)
    cells_before = page.locator("#notebook-container .cell").count()
    assert cells_before == 2  # the first run added one below, and was saved

    # 3. Run a cell (Shift+Enter on the last cell adds one below), insert a cell from
    # the toolbar and delete it from the keyboard (Escape, D, D), save with Ctrl+S.
    run_cell(page, cells_before - 1, "print(6*7)", "42")
    page.locator('#maintoolbar button[data-jupyter-action="jupyter-notebook:insert-cell-below"]'
                 ).click()
    cells = page.locator("#notebook-container .cell")
    cells.nth(cells_before + 1).wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.wait_for_function(
        f"document.querySelectorAll('#notebook-container .cell').length === {cells_before + 1}")
    page.keyboard.press("Control+s")

    # 4. The notice, from the Help menu.
    page.locator("#menubar a.dropdown-toggle", has_text="Help").click()
    page.locator("#telemetry_notice a").click()
    panel = page.locator("#telemetry-notice-panel")
    panel.locator("ul.jp-telemetry-choices").first.wait_for()
    screenshot(page.locator(DIALOG, has=panel), tmp_path, "classic-notice.png")

    # 5. The user changes their mind there and allows edits; an edit in the second cell
    # is recorded once they leave it for the first.
    change_mind(panel, EDITED, True)
    page.locator(DIALOG, has=panel).get_by_role("button", name="Close").click()
    panel.wait_for(state="detached")
    page.locator("#notebook-container .cell .CodeMirror").nth(cells_before).click()
    page.keyboard.type("answer = 42")
    page.locator("#notebook-container .cell .CodeMirror").nth(cells_before - 1).click()

    # 6. Move that cell up from the toolbar, interrupt the kernel from the Kernel menu.
    page.locator('#maintoolbar button[data-jupyter-action="jupyter-notebook:move-cell-up"]'
                 ).click()
    page.locator("#kernellink").click()
    page.locator("#int_kernel a").click()

    wait_for_events(page, sink, lambda events: all(
        by_schema(events, schema) for schema in (EXECUTED, SAVED, REMOVED, EDITED)) and any(
        e["command_id"] == INTERRUPT for e in by_schema(events, COMMAND)))
    me = page.evaluate("async () => (await (await fetch('/api/me')).json()).identity.username")
    page.close()
    server.stop()  # the sink flushes on exit
    events = read_events(sink)

    # The server saw both runs; the browser's cell-executed event only the one after
    # the yes, with its text (the accepted schema keeps it); nothing of the declined one.
    assert [e["code"] for e in by_schema(events, CODE)] == ["print('before')", "print(6*7)"]
    executed = by_schema(events, EXECUTED)
    assert [(e["source"], e["success"], e["cell_index"]) for e in executed] == [
        ("print(6*7)", True, cells_before - 1)]
    assert [(e["source"], e["cell_index"]) for e in by_schema(events, EDITED)] == [
        ("answer = 42", cells_before)]  # only after the change of mind
    # Each recorded once: the cells added (by Shift+Enter, by the toolbar), the one deleted,
    # named by the id it was added with, and the save.
    added = by_schema(events, ADDED)  # the first page load's Shift+Enter added one too
    assert [e["cell_index"] for e in added] == [1, cells_before, cells_before + 1], added
    removed = by_schema(events, REMOVED)
    assert [(e["cell_index"], e["cell_type"]) for e in removed] == [(cells_before + 1, "code")]
    assert removed[0]["cell_id"] == added[-1]["cell_id"]
    assert [e["cell_count"] for e in by_schema(events, SAVED)] == [cells_before,
                                                                   cells_before + 1]
    assert len(by_schema(events, NB_OPENED)) == 2  # two page loads
    # the cell selected by Shift+Enter, by the toolbar's insert, and by clicks
    assert {e["cell_index"] for e in by_schema(events, ACTIVE)} >= {1, 2, 3}
    # The actions the user took are commands; no arguments kept.
    commands = [e["command_id"] for e in by_schema(events, COMMAND)]
    for action in ("jupyter-notebook:run-cell-and-select-next",
                   "jupyter-notebook:insert-cell-below", "jupyter-notebook:delete-cell",
                   "jupyter-notebook:save-notebook", "jupyter-notebook:move-cell-up",
                   INTERRUPT):
        assert action in commands, commands
    assert all(e["args"] is None for e in by_schema(events, COMMAND))
    # Clicks that ran no action (the dialogs' boxes, the menus' titles): no label kept.
    clicks = by_schema(events, CLICK)
    assert clicks and all(e.get("label") is None for e in clicks)
    assert not [e for e in clicks if e.get("element_class") == "btn"
                and e.get("widget_class") == "maintoolbar"]  # toolbar buttons are actions
    # Every browser event came through the server's own Jupyter session (the user the
    # server authenticated, never a name the page chose), and the user's name is not in
    # __source__ (#24: it follows the privacy policy like any field).
    from_browser = [e for e in events if e.get("__source__", {}).get("via") == "rest"]
    assert from_browser and {e["__source__"]["client"] for e in from_browser} == {"jupyter"}
    assert not [e for e in from_browser if me in json.dumps(e["__source__"])]
    assert all(e.get("path") is None for e in from_browser)  # personal data: redacted
