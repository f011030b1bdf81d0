"""The page opens in a real Chromium with no network: every chart rendered, no console
errors, no request leaving the file. Skipped without /usr/bin/chromium and playwright,
unless TELEMETRY_REQUIRE_BROWSER=1 (the nox session sets it), then it fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import COMMAND_HOSTILE, SINCE, UNTIL, Recorded, spool_root
from telemetry_report import build_report, render_html

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]
#: Set to a path to keep the screenshot there (docs/images/report.png is made this way).
SCREENSHOT_ENV = "TELEMETRY_REPORT_SCREENSHOT"


def _missing() -> str | None:
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


def test_the_page_renders_every_chart_offline(week: Recorded, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = build_report(str(week.path), since=SINCE, until=UNTIL, min_group_size=3,
                          spool_root=str(spool_root(week.path)))
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(report), encoding="utf-8")
    charted = [f["id"] for f in report["figures"] if f["rows"]]
    assert len(charted) >= 16  # nearly every figure has rows at this group size

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: errors.append(f"a recorded value ran: {d.message}"))

            def route(r: Any) -> None:
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(page_file.as_uri())
            charts = page.locator("div.chart")
            page.wait_for_function(
                "() => [...document.querySelectorAll('div.chart')]"
                ".every(d => d.dataset.rendered === 'true')", timeout=30_000)
            assert charts.count() == len(charted)
            for i in range(charts.count()):
                chart = charts.nth(i)
                # the data marks (bars, lines, points), not only axes
                assert chart.locator("svg g.role-mark > path").count() > 0, \
                    chart.get_attribute("id")
            assert page.locator("table").count() >= len(charted)
            # recorded text is shown as text: in the table, in the chart's axis labels
            assert page.locator("td", has_text=COMMAND_HOSTILE).count() == 1
            assert page.locator("#chart-commands svg text", has_text="</script>").count() > 0
            assert page.locator("img").count() == 0
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert requests == []
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
