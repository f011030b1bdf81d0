"""What the browser tests share: a real Jupyter frontend (``jupyter lab`` or Notebook 7's
``jupyter notebook``) with telemetry-core's server extensions (the hooks and the REST
API) and this labextension, Debian's chromium driven by Playwright, the consent dialog
answered the same way (yes to one opt-in schema, no to the other), and the file sink read.

Needs ``pip install playwright`` and /usr/bin/chromium (``apt-get install -y chromium``);
a test module importing this is skipped without them, unless
``TELEMETRY_REQUIRE_BROWSER=1`` (the nox session sets it). ``TELEMETRY_SCREENSHOTS=DIR``
keeps the screenshots there (docs/images/ is made this way).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from telemetry_core.testing.servers import JupyterProcess, jupyter_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
if os.environ.get("TELEMETRY_REQUIRE_BROWSER") == "1":  # the nox session: fail, never skip
    from playwright import sync_api
    assert Path(CHROMIUM).exists(), f"no {CHROMIUM}: apt-get install -y chromium"
else:
    sync_api = pytest.importorskip("playwright.sync_api")
# Each browser test module sets its own ``pytestmark`` to this.
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM}")

EVENTS = "https://telemetry.jupyter.org/schemas/events/"
LAB = EVENTS + "jupyterlab/"
CODE = EVENTS + "kernel/code-executed"
OPENED = EVENTS + "contents/opened"
DATASET = EVENTS + "contents/dataset-opened"
COMMAND = LAB + "command"
CLICK = LAB + "click"  # clicks that ran no command; the label (personal data) not kept
DOCUMENT = LAB + "document-opened"
EXECUTED = LAB + "notebook/cell-executed"  # opt-in (keeps the cell's text): accepted
EDITED = LAB + "notebook/cell-edited"      # opt-in (keeps the cell's text): declined
NOTEBOOK = LAB + "notebook/"
# The notebook events that keep no personal data (the path is redacted): for everyone.
NB_OPENED, SAVED, ADDED, REMOVED, ACTIVE, CLIPBOARD, SCROLLED, VISIBILITY = (
    NOTEBOOK + name for name in ("opened", "saved", "cell-added", "cell-removed",
                                 "active-cell-changed", "clipboard", "scrolled", "visibility"))
RUN_CELL = "notebook:run-cell-and-select-next"  # Shift+Enter
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]

# A notebook with one empty code cell (nbformat 4.5: cells have ids); its kernelspec
# starts the kernel on open.
ONE_CELL_NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "code", "execution_count": None, "id": "first", "metadata": {},
               "outputs": [], "source": ""}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
})

# GET consent as the browser's user: with token auth each token request without the
# session cookie is a new anonymous user, so the page asks for itself.
CONSENT_AS_THE_PAGE = "async () => (await fetch('/api/telemetry/consent')).json()"


def server_config(sink: Path, store: Path) -> str:
    """The server's config: both extensions, a file sink in ``sink``, the policy."""
    allowed = {
        # The server's own record of the code: kept (its category allowed), for everyone.
        CODE: {"allowed_categories": ["user-identifiable-information"], "consent": "required"},
        OPENED: {}, DATASET: {}, COMMAND: {}, DOCUMENT: {}, CLICK: {},  # no personal data kept
        EXECUTED: {"allowed_properties": ["source"]},        # personal data kept: opt-in
        EDITED: {"allowed_properties": ["source"]},
        **{schema: {} for schema in (NB_OPENED, SAVED, ADDED, REMOVED, ACTIVE, CLIPBOARD,
                                     SCROLLED, VISIBILITY)},
    }
    return f"""
c.ServerApp.jpserver_extensions = {{"telemetry_core.jupyter": True, "telemetry_core.server": True}}
c.EventLog.sinks = [{{"type": "file", "path": {str(sink) + "/"!r}}}]  # a directory
c.EventLog.consent_store = {f"sqlite:///{store}"!r}
c.EventLog.allowed_schemas = {allowed!r}
c.TelemetryHooks.dataset_patterns = ["*.csv"]
"""


@contextmanager
def running_jupyter(app: str, tmp_path: Path,
                    files: dict[str, str]) -> Iterator[tuple[JupyterProcess, Path]]:
    """``jupyter <app>`` with ``files`` (name: text) in its root; yields it and its sink."""
    sink = tmp_path / "events"
    base = tmp_path / app
    (base / "root").mkdir(parents=True)
    for name, text in files.items():
        (base / "root" / name).write_text(text)
    with jupyter_server(server_config(sink, tmp_path / "consent.sqlite3"), app=app,
                        tmp=base, timeout=120) as server:
        yield server, sink


@contextmanager
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A chromium page; prints its console, and screenshots where a failing test stopped."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(60_000)
        console: list[str] = []  # printed, so a failure shows what the page said
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        try:
            yield page
        finally:
            print("browser console:", *console, sep="\n  ")
            if not page.is_closed():
                page.screenshot(path=str(tmp_path / "last-page.png"))
                print("last page:", tmp_path / "last-page.png")
            browser.close()


def read_events(directory: Path) -> list[dict[str, Any]]:
    """Every event the file sink wrote under ``directory``."""
    return [json.loads(line) for path in sorted(directory.rglob("*.jsonl"))
            for line in path.read_text().splitlines() if line]


def screenshot(locator: Any, tmp: Path, name: str) -> None:
    """Screenshot ``locator`` to ``tmp/name`` (and to $TELEMETRY_SCREENSHOTS if set)."""
    path = tmp / name
    locator.screenshot(path=str(path))
    keep = os.environ.get("TELEMETRY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)


def answer_consent(page: Any, tmp_path: Path, screenshot_name: str,
                   dialog_selector: str = ".jp-Dialog-content") -> None:
    """The dialog asks for the two opt-in schemas: yes to one, no to the other; the
    server then holds exactly these two decisions for the page's user. The classic
    notebook's dialog is a ``.modal-dialog``."""
    dialog = page.locator(dialog_selector, has_text="Telemetry: your consent")
    dialog.wait_for()
    asked = dialog.locator("li[data-schema-id] input[type=checkbox]")
    assert sorted(asked.evaluate_all("boxes => boxes.map(b => b.value)")) == sorted(
        [EXECUTED, EDITED])
    screenshot(dialog, tmp_path, screenshot_name)
    dialog.locator(f'li[data-schema-id="{EXECUTED}"] input').check()
    dialog.get_by_role("button", name="Accept selected").click()
    dialog.wait_for(state="detached")
    for _ in range(50):  # the PUT goes once the dialog closed
        state = page.evaluate(CONSENT_AS_THE_PAGE)
        if state["decisions"]:
            break
        page.wait_for_timeout(200)
    granted = {s["schema_id"]: s["granted"] for s in state["schemas"]}
    assert granted[EXECUTED] is True and granted[EDITED] is False
    assert {(d["scope"], d["granted"]) for d in state["decisions"]} == {
        (EXECUTED, True), (EDITED, False)}


def run_in_cell(page: Any, editor: Any, code: str, output: str) -> None:
    """Type ``code`` in the cell ``editor``, run it with Shift+Enter, wait for ``output``."""
    editor.click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-OutputArea-output", has_text=output).wait_for()


def open_notice(page: Any) -> Any:
    """Help > Telemetry: what is collected; returns the panel once its choices loaded."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Help").click()
    page.locator(".lm-Menu-itemLabel", has_text="Telemetry: what is collected").click()
    panel = page.locator("#jp-telemetry-notice-panel")
    panel.locator("ul.jp-telemetry-choices").first.wait_for()
    return panel


def change_mind(panel: Any, schema_id: str, granted: bool) -> None:
    """In the notice panel, tick (or untick) ``schema_id`` and save the decisions."""
    box = panel.locator(f'li[data-schema-id="{schema_id}"] input[type=checkbox]')
    box.set_checked(granted)
    panel.get_by_role("button", name="Save my decisions").click()
    # the panel reloads from the server: the box then shows the stored decision
    panel.locator(f'li[data-schema-id="{schema_id}"] input[type=checkbox]'
                  + (":checked" if granted else ":not(:checked)")).wait_for()


def by_schema(events: list[dict[str, Any]], schema_id: str) -> list[dict[str, Any]]:
    """The events of one schema, in the order the sink holds them."""
    return [e for e in events if e["__schema__"] == schema_id]


def wait_for_events(page: Any, sink: Path,
                    arrived: Callable[[list[dict[str, Any]]], bool]) -> None:
    """Poll the sink until ``arrived(events)`` (the client sends a batch at most 5 s
    after its first event), or 30 s; the test's assertions then say what is missing."""
    for _ in range(100):
        if arrived(read_events(sink)):
            return
        page.wait_for_timeout(300)


def commands_run(events: list[dict[str, Any]]) -> Counter[str]:
    """How often each command was recorded."""
    return Counter(e["command_id"] for e in events if e["__schema__"] == COMMAND)


def assert_cell_run_recorded(events: list[dict[str, Any]], code: str,
                             edited: list[str] | None = None) -> None:
    """One cell ran ``code``: the server's code-executed event and the browser's command
    and cell-executed events, each exactly once; no command arguments (personal data).
    Of the declined schema (cell-edited), nothing though the user typed in a cell; or,
    where the user changed their mind afterwards, only the texts in ``edited``."""
    assert [(e["code"], e["status"]) for e in events if e["__schema__"] == CODE] == [
        (code, "ok")]
    assert commands_run(events)[RUN_CELL] == 1, commands_run(events)
    assert not [c for c in commands_run(events) if c.endswith(":get-kernel")]  # UI queries
    from_browser = [e for e in events if e["__schema__"] == COMMAND]
    assert all(e["args"] is None for e in from_browser)
    assert all(e["__source__"]["via"] == "rest" for e in from_browser)
    executed = [e for e in events if e["__schema__"] == EXECUTED]
    assert [(e["source"], e["success"]) for e in executed] == [(code, True)]
    assert [e["source"] for e in events if e["__schema__"] == EDITED] == (edited or [])


def clicks_on(events: list[dict[str, Any]], jp_class: str) -> list[dict[str, Any]]:
    """The click events on an element whose nearest ``jp-*`` class starts with ``jp_class``."""
    return [e for e in events if e["__schema__"] == CLICK
            and (e.get("element_class") or "").startswith(jp_class)]


def documents_opened(events: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    """The documents opened, by (widget factory, file type); asserts the paths redacted."""
    opened = [e for e in events if e["__schema__"] == DOCUMENT]
    assert all(e["path"] is None for e in opened)
    return Counter((e["factory"], e.get("file_type")) for e in opened)
