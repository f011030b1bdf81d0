"""End to end, in a real browser: a real ``jupyter lab`` with telemetry-core's server
extensions (the hooks and the REST API) and this labextension, driven by Playwright in
Debian's chromium. The user answers the consent dialog (yes to one opt-in schema, no to
another), selects a file with one click (no command: a click event), creates a notebook,
runs a cell with Shift+Enter, inserts a cell from the toolbar (a command: no click event),
deletes it with the keyboard (D, D), copies text from a cell, scrolls, saves with Ctrl+S,
opens a CSV file, then changes their mind in the notice panel and edits a cell. The file
sink then holds each expected event exactly once, every notebook event the README
promises among them, and nothing of the refused schema before the change of mind.

Skipped without Playwright or chromium unless ``TELEMETRY_REQUIRE_BROWSER=1``; see
jupyter_browser_helpers (shared with the Notebook 7 test, test_e2e_notebook7.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_browser_helpers import (
    ACTIVE,
    ADDED,
    CLICK,
    CLIPBOARD,
    CODE,
    DATASET,
    DOCUMENT,
    EDITED,
    EXECUTED,
    NB_OPENED,
    OPENED,
    REMOVED,
    RUN_CELL,
    SAVED,
    SCROLLED,
    VISIBILITY,
    answer_consent,
    assert_cell_run_recorded,
    by_schema,
    change_mind,
    clicks_on,
    commands_run,
    documents_opened,
    needs_chromium,
    open_notice,
    read_events,
    run_in_cell,
    running_jupyter,
    screenshot,
    sync_api,
    wait_for_events,
)

from telemetry_core.testing.servers import JupyterProcess

pytestmark = needs_chromium
# Output taller than the window, so the notebook can be scrolled.
CODE_RUN = 'print(6*7, *range(60), sep="\\n")'


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[tuple[JupyterProcess, Path]]:
    with running_jupyter("lab", tmp_path, {"data.csv": "name,score\nada,3\ngrace,4\n",
                                           "notes.txt": "x"}) as lab:
        yield lab


def test_consent_then_notebook_and_csv_events_reach_the_sink(
        jupyter: tuple[JupyterProcess, Path], page: Any, tmp_path: Path) -> None:
    server, sink = jupyter
    page.goto(f"{server.url}lab?token={server.token}")

    # 1. The consent dialog asks for the two opt-in schemas: yes to one, no to the other.
    answer_consent(page, tmp_path, "consent-dialog.png")

    # 2. One click on a file in the file browser selects it and runs no command: one click
    # event, without the file's name (personal data, not kept by the policy).
    page.locator(".jp-DirListing-item", has_text="notes.txt").click()
    wait_for_events(page, sink, lambda events: bool(clicks_on(events, "jp-DirListing")))
    selected = clicks_on(read_events(sink), "jp-DirListing")
    assert len(selected) == 1, selected
    assert selected[0]["widget_class"] == "jp-DirListing" and selected[0]["label"] is None
    assert selected[0]["tag"] in {"li", "span"}

    # 3. A new notebook; run a cell whose output is taller than the window (so the
    # notebook scrolls) with Shift+Enter, which also adds a cell below and moves to it.
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    editor.wait_for()
    # a cell run before the kernel is ready is not sent to it
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
    run_in_cell(page, editor, CODE_RUN, "42")
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    cells.nth(1).wait_for()

    # 4. Insert a cell from the notebook's toolbar (a command, so no click event), then
    # delete it from the keyboard: Escape to command mode, D, D.
    page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]').click()
    cells.nth(2).wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length === 2")

    # 5. Copy the first cell's text: select it in the editor, Ctrl+C.
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")

    # 6. Scroll the notebook with the mouse wheel, then save with Ctrl+S (JupyterLab
    # offers to rename an untitled notebook on its first save: keep the name).
    page.locator(".jp-NotebookPanel .jp-Notebook").hover()
    page.mouse.wheel(0, 400)
    page.keyboard.press("Control+s")
    rename = page.locator(".jp-Dialog-content", has_text="Rename")
    try:
        rename.wait_for(timeout=3000)
        rename.get_by_role("button", name="Rename").click()
    except sync_api.TimeoutError:
        pass  # no rename dialog: saved as it was

    # 7. Open the CSV file from the file browser (the notebook's tab is left).
    page.locator(".jp-DirListing-itemText", has_text="data.csv").dblclick()
    page.locator(".jp-CSVViewer").first.wait_for()

    # 8. The notice panel, from the Help menu (JupyterLab's news question answered first,
    # so it is not in the screenshot); the user changes their mind and allows edits.
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count():
        news.first.click()
    panel = open_notice(page)
    screenshot(panel, tmp_path, "notice-panel.png")
    change_mind(panel, EDITED, True)

    # 9. Back in the notebook, an edit in the second cell, then a move to the first
    # (leaving the cell sends the edit at once).
    page.locator(".lm-TabBar-tab", has_text=".ipynb").first.click()
    second = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").nth(1)
    second.click()
    page.keyboard.type("answer = 42")
    editor.click()

    # Stop once the last expected event arrived, then stop the server (its sink flushes
    # on exit).
    wait_for_events(page, sink, lambda events: {
        EXECUTED, DOCUMENT, CODE, DATASET, EDITED, SAVED, REMOVED, CLIPBOARD, SCROLLED} <= {
        e["__schema__"] for e in events} and commands_run(events)["telemetry:show-notice"] > 0)
    page.close()
    server.stop()
    events = read_events(sink)

    # The cell run (the server's and the browser's events, the accepted opt-in schema
    # with the cell's text, nothing of the declined one), each exactly once.
    assert_cell_run_recorded(events, CODE_RUN, edited=["answer = 42"])

    # The other commands: each exactly once too.
    for command in ("notebook:create-new", RUN_CELL, "notebook:insert-cell-below",
                    "notebook:delete-cell", "docmanager:save", "telemetry:show-notice"):
        assert commands_run(events)[command] == 1, commands_run(events)

    # Documents opened, with their widget factories (the paths are redacted).
    assert documents_opened(events) == {("Notebook", "notebook"): 1, ("CSVTable", "csv"): 1}

    # The server saw the CSV opened: one file-opened and one dataset-opened event.
    csv_opened = [e for e in events if e["__schema__"] == OPENED
                  and e.get("mimetype") == "text/csv"]
    assert len(csv_opened) == 1
    assert [e["format"] for e in events if e["__schema__"] == DATASET] == ["csv"]

    # Clicks that ran a command (the launcher card, the toolbar button) made no click
    # event; no click event kept a label. A double click is one click: the file browser
    # saw two, the single click and the one opening data.csv.
    assert not clicks_on(events, "jp-Launcher") and not clicks_on(events, "jp-Toolbar")
    assert len(clicks_on(events, "jp-DirListing")) == 2
    assert all(e.get("label") is None for e in events if e["__schema__"] == CLICK)

    # Every notebook event the README promises, each as the user caused it.
    assert len(by_schema(events, NB_OPENED)) == 1
    assert [e["cell_count"] for e in by_schema(events, SAVED)] == [2]
    # cells added: the one Shift+Enter made below the last cell, the toolbar's
    added = by_schema(events, ADDED)
    assert [e["cell_index"] for e in added] == [1, 2], added
    # the deleted cell is named by the id it had (issue #29: the bug left it out)
    removed = by_schema(events, REMOVED)
    assert [(e["cell_index"], e["cell_id"]) for e in removed] == [(2, added[1]["cell_id"])]
    assert removed[0]["cell_type"] == "code" and removed[0]["cell_count"] == 2
    assert [(e["action"], e["text_length"], e["text"]) for e in by_schema(events, CLIPBOARD)
            ] == [("copy", len(CODE_RUN), None)]  # the text: personal data, not kept
    assert by_schema(events, SCROLLED) and all(
        e["first_visible_cell"] <= e["last_visible_cell"] for e in by_schema(events, SCROLLED))
    assert {e["cell_index"] for e in by_schema(events, ACTIVE)} >= {0, 1, 2}
    assert {(e["visible"], e["cause"]) for e in by_schema(events, VISIBILITY)} >= {
        (False, "tab"), (True, "tab")}
    assert all(e["path"] is None for e in events
               if e["__schema__"] in (NB_OPENED, SAVED, ADDED, REMOVED, CLIPBOARD))
