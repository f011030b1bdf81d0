"""End to end in Notebook 7 (issue #19: "also works in Notebook 7"): the same server,
extension and browser as the JupyterLab test (jupyter_browser_helpers), but
``jupyter notebook`` and its one-document page /notebooks/x.ipynb. The consent dialog
appears and is answered; one cell runs ``print(6*7)``; the file sink then holds the
command, document-opened and (consented) cell-executed events, each exactly once, and
the notice opens from the Help menu (in the right side panel: Notebook 7's main area
holds only the notebook).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_browser_helpers import (
    CODE,
    DOCUMENT,
    EXECUTED,
    ONE_CELL_NOTEBOOK,
    answer_consent,
    assert_cell_run_recorded,
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
SHOW_NOTICE = "telemetry:show-notice"



@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[tuple[JupyterProcess, Path]]:
    with running_jupyter("notebook", tmp_path, {"x.ipynb": ONE_CELL_NOTEBOOK}) as notebook:
        yield notebook


def test_notebook7_consent_then_cell_run_events_reach_the_sink(
        jupyter: tuple[JupyterProcess, Path], page: Any, tmp_path: Path) -> None:
    server, sink = jupyter
    page.goto(f"{server.url}notebooks/x.ipynb?token={server.token}")

    answer_consent(page, tmp_path, "consent-dialog-notebook7.png")

    editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    editor.wait_for()
    # a cell run before the kernel is ready is not sent to it
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
    run_in_cell(page, editor, "print(6*7)", "42")

    # The notice from the Help menu: Notebook 7 keeps its main area for the notebook,
    # so the panel opens in the right side panel.
    panel = open_notice(page)
    screenshot(panel, tmp_path, "notice-panel-notebook7.png")

    wait_for_events(page, sink, lambda events: {EXECUTED, DOCUMENT, CODE} <= {
        e["__schema__"] for e in events} and commands_run(events)[SHOW_NOTICE] > 0)
    page.close()
    server.stop()  # the sink flushes on exit
    events = read_events(sink)

    assert_cell_run_recorded(events, "print(6*7)")
    assert commands_run(events)[SHOW_NOTICE] == 1, commands_run(events)
    assert documents_opened(events) == {("Notebook", "notebook"): 1}
