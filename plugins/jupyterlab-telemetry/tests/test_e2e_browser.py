"""End to end, in a real browser: a real ``jupyter lab`` with telemetry-core's server
extensions (the hooks and the REST API) and this labextension, driven by Playwright in
Debian's chromium. The user answers the consent dialog (yes to one opt-in schema, no to
another), creates a notebook, runs ``print(6*7)`` and opens a CSV file; the file sink
then holds each expected event exactly once, and nothing of the refused schema.

Needs ``pip install playwright`` and /usr/bin/chromium (``apt-get install -y chromium``);
skipped without them, unless ``TELEMETRY_REQUIRE_BROWSER=1`` (the nox session sets it).
``TELEMETRY_SCREENSHOTS=DIR`` keeps the screenshots of the dialog
and the notice panel there (docs/images/ is made this way).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telemetry_core.testing.servers._jupyter import JupyterProcess, jupyter_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
if os.environ.get("TELEMETRY_REQUIRE_BROWSER") == "1":  # the nox session: fail, never skip
    from playwright import sync_api
    assert Path(CHROMIUM).exists(), f"no {CHROMIUM}: apt-get install -y chromium"
else:
    sync_api = pytest.importorskip("playwright.sync_api")
    pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM}")

EVENTS = "https://telemetry.jupyter.org/schemas/events/"
LAB = EVENTS + "jupyterlab/"
CODE = EVENTS + "kernel/code-executed"
OPENED = EVENTS + "contents/opened"
DATASET = EVENTS + "contents/dataset-opened"
COMMAND = LAB + "command"
DOCUMENT = LAB + "document-opened"
EXECUTED = LAB + "notebook/cell-executed"  # opt-in (keeps the cell's text): accepted
EDITED = LAB + "notebook/cell-edited"      # opt-in (keeps the cell's text): declined
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]


def server_config(sink: Path, store: Path) -> str:
    allowed = {
        # The server's own record of the code: kept (its category allowed), for everyone.
        CODE: {"allowed_categories": ["user-identifiable-information"], "consent": "required"},
        OPENED: {}, DATASET: {}, COMMAND: {}, DOCUMENT: {},  # no personal data kept: required
        EXECUTED: {"allowed_properties": ["source"]},        # personal data kept: opt-in
        EDITED: {"allowed_properties": ["source"]},
    }
    return f"""
c.ServerApp.jpserver_extensions = {{"telemetry_core.jupyter": True, "telemetry_core.server": True}}
c.EventLog.sinks = [{{"type": "file", "path": {str(sink) + "/"!r}}}]  # a directory
c.EventLog.consent_store = {f"sqlite:///{store}"!r}
c.EventLog.allowed_schemas = {allowed!r}
c.TelemetryHooks.dataset_patterns = ["*.csv"]
"""


def read_events(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(directory.rglob("*.jsonl"))
            for line in path.read_text().splitlines() if line]


# GET consent as the browser's user: with token auth each token request without the
# session cookie is a new anonymous user, so the page asks for itself.
CONSENT_AS_THE_PAGE = "async () => (await fetch('/api/telemetry/consent')).json()"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[JupyterProcess, Path]]:
    sink = tmp_path / "events"
    base = tmp_path / "lab"
    (base / "root").mkdir(parents=True)
    (base / "root" / "data.csv").write_text("name,score\nada,3\ngrace,4\n")
    with jupyter_server(server_config(sink, tmp_path / "consent.sqlite3"), app="lab",
                        tmp=base, timeout=120) as server:  # a fresh workspaces dir each run
        yield server, sink


@pytest.fixture
def page(lab: tuple[JupyterProcess, Path], tmp_path: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(60_000)
        console: list[str] = []  # printed, so a failure shows what the page said
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        yield page
        print("browser console:", *console, sep="\n  ")
        if not page.is_closed():  # where a failing test stopped
            page.screenshot(path=str(tmp_path / "last-page.png"))
            print("last page:", tmp_path / "last-page.png")
        browser.close()


def screenshot(locator: Any, tmp: Path, name: str) -> None:
    path = tmp / name
    locator.screenshot(path=str(path))
    keep = os.environ.get("TELEMETRY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)


def test_consent_then_notebook_and_csv_events_reach_the_sink(
        lab: tuple[JupyterProcess, Path], page: Any, tmp_path: Path) -> None:
    server, sink = lab
    page.goto(f"{server.url}lab?token={server.token}")

    # 1. The consent dialog asks for the two opt-in schemas: yes to one, no to the other.
    dialog = page.locator(".jp-Dialog-content", has_text="Telemetry: your consent")
    dialog.wait_for()
    asked = dialog.locator("li[data-schema-id] input[type=checkbox]")
    assert sorted(asked.evaluate_all("boxes => boxes.map(b => b.value)")) == sorted(
        [EXECUTED, EDITED])
    screenshot(dialog, tmp_path, "consent-dialog.png")
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

    # 2. A new notebook; run print(6*7).
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    editor.wait_for()
    # a cell run before the kernel is ready is not sent to it
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
    editor.click()
    page.keyboard.type("print(6*7)")
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-OutputArea-output", has_text="42").wait_for()

    # 3. Open the CSV file from the file browser.
    page.locator(".jp-DirListing-itemText", has_text="data.csv").dblclick()
    page.locator(".jp-CSVViewer").first.wait_for()

    # 4. The notice panel, from the Help menu (JupyterLab's news question answered first,
    # so it is not in the screenshot).
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count():
        news.first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Help").click()
    page.locator(".lm-Menu-itemLabel", has_text="Telemetry: what is collected").click()
    panel = page.locator("#jp-telemetry-notice-panel")
    panel.locator("ul.jp-telemetry-choices").first.wait_for()
    screenshot(panel, tmp_path, "notice-panel.png")

    # The client sends a batch at most 5 s after its first event; stop once the last
    # expected event arrived, then stop the server (its sink flushes on exit).
    deadline_events = {EXECUTED, DOCUMENT, CODE, DATASET}
    page.wait_for_function("() => true")  # the page is still alive
    for _ in range(100):
        if deadline_events <= {e["__schema__"] for e in read_events(sink)} and any(
                e.get("command_id") == "telemetry:show-notice" for e in read_events(sink)):
            break
        page.wait_for_timeout(300)
    page.close()
    server.stop()
    events = read_events(sink)
    by_schema = Counter(e["__schema__"] for e in events)

    # The server's code-executed event, with the code (the policy keeps it).
    code = [e for e in events if e["__schema__"] == CODE]
    assert [(e["code"], e["status"]) for e in code] == [("print(6*7)", "ok")]

    # The browser's command events: each exactly once, arguments redacted (personal data).
    commands = Counter(e["command_id"] for e in events if e["__schema__"] == COMMAND)
    for command in ("notebook:create-new", "notebook:run-cell-and-select-next",
                    "telemetry:show-notice"):
        assert commands[command] == 1, commands
    assert not [c for c in commands if c.endswith(":get-kernel")]  # the UI's own queries
    assert all(e["args"] is None for e in events if e["__schema__"] == COMMAND)
    assert all(e["__source__"]["via"] == "rest" for e in events if e["__schema__"] == COMMAND)

    # Documents opened, with their widget factories; the paths are redacted.
    documents = Counter((e["factory"], e.get("file_type")) for e in events
                        if e["__schema__"] == DOCUMENT)
    assert documents == {("Notebook", "notebook"): 1, ("CSVTable", "csv"): 1}
    assert all(e["path"] is None for e in events if e["__schema__"] == DOCUMENT)

    # The server saw the CSV opened: one file-opened and one dataset-opened event.
    csv_opened = [e for e in events if e["__schema__"] == OPENED
                  and e.get("mimetype") == "text/csv"]
    assert len(csv_opened) == 1
    assert [e["format"] for e in events if e["__schema__"] == DATASET] == ["csv"]

    # The accepted opt-in schema: the cell run, with its text (the policy keeps it).
    executed = [e for e in events if e["__schema__"] == EXECUTED]
    assert [(e["source"], e["success"]) for e in executed] == [("print(6*7)", True)]

    # The declined one: nothing, though the user typed in a cell.
    assert by_schema[EDITED] == 0
