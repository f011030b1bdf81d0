"""The JavaScript client (js/dist/index.js) end to end: a page in Debian's chromium, on
another origin than the real ``telemetry serve``, records events that must reach the file
sink exactly once; and Node.js runs the README's example against the same server.

Needs the built client (``cd js && npm ci && npm run build``), ``node``, Python Playwright
and /usr/bin/chromium (Playwright cannot download browsers here). Without them the tests
skip, unless ``TELEMETRY_REQUIRE_BROWSER=1`` (the nox session ``js_e2e`` sets it): then
they fail, so that CI cannot pass by skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from telemetry_core.testing.servers import rest_server

JS = Path(__file__).parents[1] / "js"
BUNDLE = JS / "dist" / "index.js"
README = JS / "README.md"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]

PAGE_VIEW = "https://example.org/schemas/page-view"  # required: always recorded
SEARCH = "https://example.org/schemas/search"  # opt-in: only after the user's yes
SECRET = "SECRET-VALUE-7f3a"  # planted in invalid events: must never show up anywhere
USER_TOKEN_KEY = "the-e2e-backend-secret-of-32-bytes+"  # replaces the README's placeholder


def user_token(user: str) -> str:
    """What the site's backend hands the signed-in ``user``'s page: a minted user token."""
    from telemetry_core.server import mint_user_token

    return mint_user_token(user, key=USER_TOKEN_KEY, ttl=600)
SCHEMAS: dict[str, dict[str, Any]] = {
    PAGE_VIEW: {
        "$id": PAGE_VIEW, "version": 1, "title": "Page view",
        "description": "A page of the site was shown.",
        "type": "object", "required": ["page"],
        "properties": {"page": {"type": "string", "description": "The page's path."},
                       "n": {"type": "integer", "description": "A sequence number."}},
    },
    SEARCH: {
        "$id": SEARCH, "version": 1, "title": "Search",
        "description": "What users search for, to improve the search.",
        "type": "object", "required": ["query"],
        "properties": {"query": {"type": "string", "description": "The query."}},
    },
}


def _missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if not BUNDLE.exists():
        return f"no {BUNDLE} (cd js && npm ci && npm run build)"
    if shutil.which("node") is None:
        return "no node on PATH"
    if not Path(CHROMIUM).exists():
        return f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no Python playwright (pip install playwright)"
    return None


_why = _missing()
if _why and os.environ.get("TELEMETRY_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"TELEMETRY_REQUIRE_BROWSER=1 but {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


# -- the page's origin: a small static server ------------------------------------------


@dataclass
class Site:
    """A static http server on 127.0.0.1 serving HTML pages and the built client."""

    origin: str = ""
    pages: dict[str, str] = field(default_factory=dict)

    def page(self, name: str, options: dict[str, Any]) -> str:
        """A page that makes ``window.client`` with ``options``; its URL."""
        self.pages[f"/{name}.html"] = PAGE.replace("OPTIONS", json.dumps(options))
        return f"{self.origin}/{name}.html"


PAGE = """<!doctype html><meta charset="utf-8"><title>telemetry e2e</title>
<script type="application/json" id="options">OPTIONS</script>
<script type="module">
  import * as telemetry from "/dist/index.js";
  const options = JSON.parse(document.getElementById("options").textContent);
  window.telemetry = telemetry;
  window.errors = [];
  window.client = new telemetry.TelemetryClient(
    { ...options, onError: (e) => window.errors.push(e.message) });
  window.ready = true;
</script>"""


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """The pages' origin, another port than the API's: every API call is cross-origin."""
    site = Site()
    bundle = BUNDLE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?")[0]
            if path.endswith("/dist/index.js"):
                self.answer(200, "text/javascript", bundle)
            elif path == "/api/telemetry-token":  # the site's backend: its visitor's token
                self.answer(200, "text/plain", user_token("readme-visitor").encode())
            elif path in site.pages:
                self.answer(200, "text/html; charset=utf-8", site.pages[path].encode())
            else:
                self.answer(404, "text/plain", b"not found")

        def answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


# -- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh profile per test: its own localStorage."""
    ctx = browser.new_context()
    yield ctx
    ctx.close()


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.ready === true")
    return page


# -- the real server ------------------------------------------------------------------------


@dataclass
class Collector:
    """A running ``telemetry serve`` and where its file sink writes."""

    server: Any
    events_dir: Path
    client_options: dict[str, Any]

    def recorded(self) -> list[dict[str, Any]]:
        """Every event the file sink wrote so far."""
        return [json.loads(line) for f in sorted(self.events_dir.rglob("*.jsonl"))
                for line in f.read_text().splitlines()]

    def raw_text(self) -> str:
        return "".join(f.read_text() for f in sorted(self.events_dir.rglob("*.jsonl")))

    def stop(self) -> None:
        """SIGTERM: the server drains its sinks to the file before it exits."""
        assert self.server.stop(signal.SIGTERM) == 0, self.server.log()


def readme_block(tag: str) -> str:
    """The README's fenced block whose info string is ``tag``."""
    [block] = re.findall(rf"^```{re.escape(tag)}\n(.*?)^```", README.read_text(), re.S | re.M)
    return block


def serve_config(tmp_path: Path, origin: str) -> dict[str, Any]:
    """The README's config for `telemetry serve`, with this test's files, origin and token."""
    config: dict[str, Any] = json.loads(readme_block("json serve-config"))
    eventlog, server = config["EventLog"], config["TelemetryServer"]
    assert set(eventlog["allowed_schemas"]) == set(SCHEMAS)
    eventlog["schema_files"] = []
    for name, schema in zip(("page-view", "search"), SCHEMAS.values(), strict=True):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(schema))
        eventlog["schema_files"].append(str(path))
    [sink] = eventlog["sinks"]
    sink.update(path=f"{tmp_path}/events/", batch_age=0.05)
    eventlog["consent_store"] = f"sqlite:///{tmp_path}/consent.sqlite3"
    server["allowed_origins"] = [origin]
    server["user_tokens"]["key"] = USER_TOKEN_KEY  # the README's is for its readers
    server["tokens"] = {}  # rest_server adds the test's own (a server-side client's)
    return config


@pytest.fixture
def collector(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              site: Site) -> Iterator[Collector]:
    """`telemetry serve` with the README's config; more TelemetryServer settings through
    indirect parametrisation."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = serve_config(tmp_path, site.origin)
    config["TelemetryServer"].update(getattr(request, "param", {}))
    with rest_server(config) as server:
        yield Collector(server, tmp_path / "events", {"url": server.api, "token": server.token})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Polls ``condition`` (what a browser or server does in the background) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def page_views(events: list[dict[str, Any]]) -> list[int]:
    return sorted(e["n"] for e in events if e["__schema__"] == PAGE_VIEW)


# -- the tests ------------------------------------------------------------------------------


def test_a_page_on_another_origin_records_valid_events_once_and_invalid_ones_never(
        collector: Collector, site: Site, context: Any) -> None:
    page = open_page(context, site.page("record", {**collector.client_options,
                                                   "maxBatchAgeMs": 100}))
    outcome = page.evaluate("""async ([schema, secret]) => {
      const results = [];
      for (let n = 0; n < 5; n++) {
        results.push(await client.recordEvent(schema, 1, {page: "/p", n}));
      }
      const invalid = [];
      for (const data of [{page: "/p", n: secret}, {n: 1, note: secret}]) {
        try { await client.recordEvent(schema, 1, data); invalid.push(null); }
        catch (e) {
          invalid.push({name: e.name, kind: e.kind,
                        isValidation: e instanceof telemetry.TelemetryValidationError,
                        schemaId: e.schemaId, version: e.version, path: e.path, rule: e.rule,
                        message: e.message});
        }
      }
      const flushed = await client.flush();
      return {results, invalid, flushed, stats: client.stats(), errors};
    }""", [PAGE_VIEW, SECRET])
    assert [r["status"] for r in outcome["results"]] == ["queued"] * 5
    assert outcome["flushed"] is True
    assert outcome["stats"]["recorded"] == 5 and outcome["stats"]["invalid"] == 2
    assert outcome["errors"] == []
    wrong_type, missing = outcome["invalid"]
    assert {k: wrong_type[k] for k in ("name", "kind", "isValidation", "schemaId", "version",
                                       "path", "rule")} == {
        "name": "TelemetryValidationError", "kind": "invalid", "isValidation": True,
        "schemaId": PAGE_VIEW, "version": 1, "path": "$.n", "rule": "type"}
    assert (missing["path"], missing["rule"]) == ("$.page", "required")
    for error in outcome["invalid"]:
        assert PAGE_VIEW in error["message"] and error["path"] in error["message"]
        assert SECRET not in json.dumps(error)
    collector.stop()
    events = collector.recorded()
    assert page_views(events) == [0, 1, 2, 3, 4]
    ids = {r["id"] for r in outcome["results"]}
    assert {e["__source__"]["client"] for e in events} == {"test-client"}
    assert len({e["__event_id__"] for e in events}) == len(ids)
    assert SECRET not in collector.raw_text()
    assert SECRET not in collector.server.log()


def test_an_opt_in_schema_is_recorded_only_after_consent_given_through_the_page(
        collector: Collector, site: Site, context: Any) -> None:
    page = open_page(context, site.page("consent", {**collector.client_options,
                                                    "maxBatchAgeMs": 100}))
    before = page.evaluate("""async ([schema, options]) => {
      const local = await client.recordEvent(schema, 1, {query: "asked-before-consent"});
      // Past the client's own filter, straight to the server: it must refuse too.
      const res = await fetch(options.url + "events", {method: "POST",
        headers: {"Authorization": "Bearer " + options.token, "Content-Type": "application/json"},
        body: JSON.stringify([{schema_id: schema, version: 1, data: {query: "sent-before-consent"},
                               id: "raw-1"}])});
      return {local, server: (await res.json()).results, consent: await client.getConsent()};
    }""", [SEARCH, collector.client_options])
    assert before["local"] == {"status": "not_recorded", "reason": "no_consent"}
    assert before["server"] == [{"status": "not_recorded", "reason": "no_consent"}]
    [search_state] = [s for s in before["consent"]["schemas"] if s["schema_id"] == SEARCH]
    assert search_state["consent"] == "opt-in" and search_state["recorded"] is False

    after = page.evaluate("""async (schema) => {
      const notice = await client.getNotice();
      const state = await client.setConsent({[schema]: true}, notice.noticeVersion);
      const result = await client.recordEvent(schema, 1, {query: "asked-after-consent"});
      return {notice: notice.noticeVersion, state, result, flushed: await client.flush(),
              stats: client.stats(), errors};
    }""", SEARCH)
    assert after["notice"]
    [granted] = [s for s in after["state"]["schemas"] if s["schema_id"] == SEARCH]
    assert granted["granted"] is True and granted["recorded"] is True
    assert after["result"]["status"] == "queued" and after["flushed"] is True
    assert after["stats"]["recorded"] == 1 and after["errors"] == []
    collector.stop()
    queries = [e["query"] for e in collector.recorded() if e["__schema__"] == SEARCH]
    assert queries == ["asked-after-consent"]


def test_a_browser_user_grants_and_revokes_only_their_own_consent(
        collector: Collector, site: Site, context: Any) -> None:
    def user_page(user: str, **options: Any) -> Any:
        return open_page(context, site.page(f"user-{user}", {
            "url": collector.server.api, "userToken": user_token(user), "maxBatchAgeMs": 100,
            **options}))

    ada, bob = user_page("ada"), user_page("bob")
    granted = ada.evaluate("""async (schema) => {
      const notice = await client.getNotice();
      const state = await client.setConsent([{scope: schema, granted: true}], notice.noticeVersion);
      return {user: state.user, by: state.decisions.at(-1).by,
              result: await client.recordEvent(schema, 1, {query: "ada's"}),
              flushed: await client.flush()};
    }""", SEARCH)
    assert granted["user"] == "ada" and granted["by"] == "user:ada"
    assert granted["result"]["status"] == "queued" and granted["flushed"] is True
    refused = bob.evaluate("""async (schema) => ({state: await client.getConsent(),
        result: await client.recordEvent(schema, 1, {query: "bob's"})})""", SEARCH)
    assert refused["state"]["user"] == "bob"
    assert refused["result"] == {"status": "not_recorded", "reason": "no_consent"}
    # Bob's page naming ada (a forged header) can neither read nor change her consent.
    forger = user_page("bob", headers={"X-Telemetry-User": "ada"}, storageKey="forger")
    forged = forger.evaluate("""async (schema) => {
      const notice = await client.getNotice();
      const tries = [client.getConsent(),
                     client.setConsent({[schema]: false}, notice.noticeVersion)];
      return (await Promise.allSettled(tries)).map((r) => r.reason?.status ?? "fulfilled");
    }""", SEARCH)
    assert forged == [403, 403]
    # Ada's yes stands; then she revokes it herself, and her events stop.
    revoked = ada.evaluate("""async (schema) => {
      const before = (await client.getConsent()).schemas.find((s) => s.schema_id === schema);
      const notice = await client.getNotice();
      const after = await client.setConsent({[schema]: false}, notice.noticeVersion);
      return {before: before.granted, after: after.schemas.find(
                (s) => s.schema_id === schema).granted,
              result: await client.recordEvent(schema, 1, {query: "after revoking"})};
    }""", SEARCH)
    assert revoked == {"before": True, "after": False,
                       "result": {"status": "not_recorded", "reason": "no_consent"}}
    collector.stop()
    assert [e["query"] for e in collector.recorded()] == ["ada's"]


def test_users_taking_turns_in_one_browser_keep_their_own_stored_events(
        collector: Collector, site: Site, context: Any) -> None:
    # Ada, then Bob on the same browser profile and site: an event Ada recorded offline
    # must go as Ada's (under her consent) when she is back, never as Bob's.
    def user_url(user: str) -> str:
        return site.page(f"turns-{user}", {"url": collector.server.api,
                                           "userToken": user_token(user), "maxBatchAgeMs": 100,
                                           "maxRetries": 0, "retryMaxMs": 600000})

    ada = open_page(context, user_url("ada"))
    ada.evaluate("""async (schema) => {
      const notice = await client.getNotice();
      await client.setConsent({[schema]: true}, notice.noticeVersion);
    }""", SEARCH)
    collector.stop()
    queued = ada.evaluate("""async (schema) => {
      const r = await client.recordEvent(schema, 1, {query: "ada-offline"});
      return {r, flushed: await client.flush()};
    }""", SEARCH)
    assert queued["r"]["status"] == "queued" and queued["flushed"] is False
    ada.close()
    collector.server.restart()
    bob = open_page(context, user_url("bob"))
    bob_stats = bob.evaluate("async () => (await client.flush(), client.stats())")
    assert bob_stats["sent"] == 0 and bob_stats["notRecorded"] == 0
    ada = open_page(context, user_url("ada"))
    assert ada.evaluate("async () => (await client.flush(), client.stats().recorded)") == 1
    collector.stop()
    assert [e["query"] for e in collector.recorded()] == ["ada-offline"]


def test_events_recorded_while_the_server_is_down_arrive_once_after_restart_and_reload(
        collector: Collector, site: Site, context: Any) -> None:
    # Retries end fast and the next round is far away: only the reload can resend.
    url = site.page("restart", {**collector.client_options, "maxBatchAgeMs": 100,
                                "maxRetries": 1, "retryBaseMs": 50, "retryMaxMs": 600000})
    page = open_page(context, url)
    page.evaluate("""async (schema) => {
      window.recording = (async () => {
        for (window.n = 0; window.n < 40; window.n++) {
          await client.recordEvent(schema, 1, {page: "/restart", n: window.n});
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
    }""", PAGE_VIEW)
    page.wait_for_function("window.n >= 10")
    collector.stop()  # while the page records
    page.evaluate("window.recording")
    stored_key = f"telemetry-core:{collector.client_options['url']}"
    waiting = page.evaluate("(key) => JSON.parse(localStorage.getItem(key) || '[]').length",
                            stored_key)
    assert waiting > 0  # kept in localStorage: what the reload must send
    collector.server.restart()
    page.reload()
    page.wait_for_function("window.ready === true")
    after = page.evaluate("""async (key) => ({flushed: await client.flush(), stats: client.stats(),
        left: localStorage.getItem(key)})""", stored_key)
    assert after["flushed"] is True and after["left"] is None
    assert after["stats"]["recorded"] + after["stats"]["duplicate"] == waiting
    collector.stop()
    assert page_views(collector.recorded()) == list(range(40))


def test_two_tabs_that_adopt_the_same_stored_events_record_them_once(
        collector: Collector, site: Site, context: Any) -> None:
    options = {**collector.client_options, "maxBatchAgeMs": 600000}
    first = open_page(context, site.page("tab", options))
    first.evaluate("""async (schema) => {
      for (let n = 0; n < 6; n++) await client.recordEvent(schema, 1, {page: "/tab", n});
    }""", PAGE_VIEW)
    second = open_page(context, site.page("tab", options))  # adopts the six from localStorage
    results = [tab.evaluate("async () => (await client.flush(), client.stats())")
               for tab in (first, second)]
    assert sum(r["recorded"] for r in results) == 6
    assert sum(r["recorded"] + r["duplicate"] for r in results) >= 6
    collector.stop()
    assert page_views(collector.recorded()) == list(range(6))


def test_events_recorded_right_before_leaving_the_page_arrive(
        collector: Collector, site: Site, context: Any) -> None:
    # A batch age far away: only the page-exit path (keepalive fetch) can send them.
    page = open_page(context, site.page("exit", {**collector.client_options,
                                                 "maxBatchAgeMs": 600000}))
    page.evaluate("""async (schema) => {
      for (let n = 0; n < 3; n++) await client.recordEvent(schema, 1, {page: "/exit", n});
    }""", PAGE_VIEW)
    assert collector.recorded() == []
    page.goto("about:blank")  # pagehide; the page never comes back to resend
    wait_for(lambda: len(page_views(collector.recorded())) >= 3,
             "the page's keepalive request reached the file sink")
    collector.stop()
    assert page_views(collector.recorded()) == [0, 1, 2]


@pytest.mark.parametrize("collector", [{"client_rate_limits": {"test-client": 2.0}}],
                         indirect=True)
def test_a_rate_limited_page_waits_as_told_and_loses_nothing(
        collector: Collector, site: Site, context: Any) -> None:
    # The page's fetch notes each status: a 429 is readable only with CORS headers on it.
    page = open_page(context, site.page("rate", {**collector.client_options, "batchSize": 2,
                                                 "maxBatchAgeMs": 100, "retryBaseMs": 50}))
    outcome = page.evaluate("""async (schema) => {
      const statuses = [];
      const seen = new telemetry.TelemetryClient({...JSON.parse(
          document.getElementById("options").textContent), onError: (e) => errors.push(e.message),
        storageKey: "rate-limited",
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          statuses.push(res.status);
          return res;
        }});
      for (let n = 0; n < 8; n++) await seen.recordEvent(schema, 1, {page: "/rate", n});
      return {flushed: await seen.flush(), statuses, stats: seen.stats(), errors};
    }""", PAGE_VIEW)
    assert outcome["flushed"] is True and outcome["errors"] == []
    assert 429 in outcome["statuses"] and outcome["stats"]["retried"] > 0
    assert outcome["stats"]["recorded"] == 8
    collector.stop()
    assert page_views(collector.recorded()) == list(range(8))


def test_an_event_sent_on_page_exit_and_resent_after_a_server_restart_is_recorded_once(
        collector: Collector, site: Site, context: Any) -> None:
    url = site.page("exit-restart", {**collector.client_options, "maxBatchAgeMs": 600000})
    page = open_page(context, url)
    page.evaluate("""async (schema) => {
      for (let n = 0; n < 3; n++) await client.recordEvent(schema, 1, {page: "/exit", n});
    }""", PAGE_VIEW)
    page.goto("about:blank")  # keepalive: recorded, but the page is gone before the answer
    wait_for(lambda: len(page_views(collector.recorded())) >= 3, "the keepalive request")
    collector.stop()
    collector.server.restart()  # a deployment, say; the user comes back to the page
    page.goto(url)
    page.wait_for_function("window.ready === true")
    page.evaluate("() => client.flush()")
    collector.stop()
    assert page_views(collector.recorded()) == [0, 1, 2]


def test_the_readme_browser_example_runs_against_the_real_server(
        collector: Collector, site: Site, context: Any) -> None:
    html = readme_block("html browser-example")
    html = html.replace("https://collector.example.org:8585/api/telemetry/",
                        collector.client_options["url"])
    site.pages["/readme.html"] = html
    page = context.new_page()
    page.goto(f"{site.origin}/readme.html")
    page.wait_for_function("window.telemetryClient !== undefined")
    assert page.evaluate("() => window.telemetryClient.flush()") is True
    collector.stop()
    [event] = collector.recorded()
    assert event["__schema__"] == PAGE_VIEW and event["page"] == "/readme.html"
    assert event["__source__"]["client"] == "user-token"  # the page held no client token


def test_the_readme_node_example_records_an_event(collector: Collector, tmp_path: Path) -> None:
    # `import "telemetry-core-client"` resolves as in a project that installed the package.
    package = tmp_path / "app" / "node_modules" / "telemetry-core-client"
    package.parent.mkdir(parents=True)
    package.symlink_to(JS, target_is_directory=True)
    script = tmp_path / "app" / "example.mjs"
    script.write_text(readme_block("js node-example"))
    done = subprocess.run(
        ["node", str(script)], cwd=script.parent, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TELEMETRY_URL": collector.client_options["url"],
             "TELEMETRY_TOKEN": collector.client_options["token"]})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["queued", "sent: true"]
    collector.stop()
    [event] = collector.recorded()
    assert event["__schema__"] == PAGE_VIEW and event["page"] == "/home"
    assert event["__source__"]["via"] == "rest"
