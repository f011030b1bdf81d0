"""End to end, in a real browser: a real ``jupyter lab`` with telemetry-core's server
extensions (the hooks and the REST API) and this labextension, driven by Playwright in
Debian's chromium. The user answers the consent dialog (yes to one opt-in schema, no to
another), selects a file with one click (no command: a click event), creates a notebook,
runs ``print(6*7)``, inserts a cell from the toolbar (a command: no click event) and opens
a CSV file; the file sink then holds each expected event exactly once, and nothing of the
refused schema.

Skipped without Playwright or chromium unless ``TELEMETRY_REQUIRE_BROWSER=1``; see
jupyter_browser_helpers (shared with the Notebook 7 test, test_e2e_notebook7.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_browser_helpers import (
    CLICK,
    CODE,
    DATASET,
    DOCUMENT,
    EXECUTED,
    OPENED,
    RUN_CELL,
    answer_consent,
    assert_cell_run_recorded,
    clicks_on,
    commands_run,
    documents_opened,
    needs_chromium,
    open_notice,
    read_events,
    run_in_cell,
    running_jupyter,
    screenshot,
    wait_for_events,
)

from telemetry_core.testing.servers import JupyterProcess

pytestmark = needs_chromium


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

    # 3. A new notebook; run print(6*7).
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    editor.wait_for()
    # a cell run before the kernel is ready is not sent to it
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
    run_in_cell(page, editor, "print(6*7)", "42")

    # 4. Insert a cell from the notebook's toolbar: a command, so no click event.
    page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]').click()

    # 5. Open the CSV file from the file browser.
    page.locator(".jp-DirListing-itemText", has_text="data.csv").dblclick()
    page.locator(".jp-CSVViewer").first.wait_for()

    # 6. The notice panel, from the Help menu (JupyterLab's news question answered first,
    # so it is not in the screenshot).
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count():
        news.first.click()
    panel = open_notice(page)
    screenshot(panel, tmp_path, "notice-panel.png")

    # Stop once the last expected event arrived, then stop the server (its sink flushes
    # on exit).
    wait_for_events(page, sink, lambda events: {EXECUTED, DOCUMENT, CODE, DATASET} <= {
        e["__schema__"] for e in events} and commands_run(events)["telemetry:show-notice"] > 0)
    page.close()
    server.stop()
    events = read_events(sink)

    # The cell run (the server's and the browser's events, the accepted opt-in schema
    # with the cell's text, nothing of the declined one), each exactly once.
    assert_cell_run_recorded(events, "print(6*7)")

    # The other commands: each exactly once too.
    for command in ("notebook:create-new", RUN_CELL, "notebook:insert-cell-below",
                    "telemetry:show-notice"):
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
