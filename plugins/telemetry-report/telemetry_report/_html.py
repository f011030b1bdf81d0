"""The report as one self-contained HTML page: each figure a Vega-Lite chart and a small
table. Vega, Vega-Lite and vega-embed are inlined (the bundle vl-convert-python ships),
so the page opens with no network."""

from __future__ import annotations

import html
import json
from typing import Any

from ._figures import FIGURES, Chart, Figure

_BY_ID = {figure.id: figure for figure in FIGURES}
_VL_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1250px;color:#222}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;white-space:nowrap}
td.n{text-align:right}
.note{color:#666;font-size:.85rem} .chart{margin:.5rem 0}
.figure{display:flex;gap:1.5rem;align-items:flex-start;flex-wrap:wrap}
.figure table{max-width:420px}
"""


def render_html(report: dict[str, Any]) -> str:
    """The page for ``report`` (as :func:`telemetry_report.build_report` returns it)."""
    import vl_convert

    specs: dict[str, Any] = {}
    body = [_header(report)]
    section = None
    for figure in report["figures"]:
        if figure["section"] != section:
            section = figure["section"]
            body.append(f"<h2>{html.escape(section)}</h2>")
        body.append(_figure(figure, specs, report["min_group_size"]))
    # the stub wants a snippet; without one the bundle defines window.vegaEmbed
    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")  # type: ignore[call-arg]
    data = json.dumps(specs).replace("</", "<\\/")
    script = ("const specs = " + data + ";\n"
              "for (const [id, spec] of Object.entries(specs)) {\n"
              "  vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'})\n"
              "    .then(() => document.getElementById(id).dataset.rendered = 'true')\n"
              "    .catch(err => console.error(id, err));\n}\n")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(report['title'])}</title><style>{_CSS}</style>"
            f"<script type=\"module\">{bundle}</script></head><body>\n"
            + "\n".join(body) +
            f"\n<script type=\"module\">{script}</script></body></html>\n")


def _header(report: dict[str, Any]) -> str:
    period = report["period"]
    present = "".join(f"<tr><td>{html.escape(r['schema'])}</td><td>{html.escape(str(r['version']))}"
                      f"</td><td class=n>{r['events']:,}</td></tr>"
                      for r in report["schemas_present"])
    absent = ", ".join(html.escape(s) for s in report["schemas_not_present"]) or "none"
    sources = ", ".join(html.escape(s) for s in report["sources"])
    k = report["min_group_size"]
    return (f"<h1>{html.escape(report['title'])}</h1>"
            f"<p>Period: <b>{html.escape(period['since'])}</b> to "
            f"<b>{html.escape(period['until'])}</b> (UTC). Sources: {sources} "
            f"({report['files_scanned']:,} files, {report['events']:,} events in the period)."
            f"</p><p class=note>Only what was recorded is shown; user names never are. Rows "
            f"standing for fewer than {k} users are left out (small-group suppression"
            f"{', off' if k <= 0 else ''}).</p>"
            f"<details><summary>Schemas present</summary><table><tr><th>schema</th>"
            f"<th>version</th><th>events</th></tr>{present}</table></details>"
            f"<p class=note>Schemas the figures use that are not present: {absent}</p>")


def _figure(figure: dict[str, Any], specs: dict[str, Any], k: int) -> str:
    definition = _BY_ID[figure["id"]]
    rows = _shown(definition, figure["rows"])
    parts = [f"<section id=\"fig-{figure['id']}\"><h3>{html.escape(figure['title'])}</h3>",
             f"<p class=note>{html.escape(figure['description'])}</p>"]
    if figure["missing_schemas"] and not figure["rows"]:
        parts.append("<p class=note>Not recorded in this period: "
                     + ", ".join(html.escape(s) for s in figure["missing_schemas"]) + "</p>")
    if figure["suppressed_rows"]:
        parts.append(f"<p class=note>{figure['suppressed_rows']} rows left out: fewer than "
                     f"{k} users each.</p>")
    if rows:
        parts.append("<div class=figure>")
        if definition.chart is not None:
            chart_id = "chart-" + figure["id"].replace("_", "-")
            specs[chart_id] = _spec(definition.chart, rows)
            parts.append(f"<div class=chart id=\"{chart_id}\"></div>")
        parts.append(_table(rows) + "</div>")
    elif not figure["missing_schemas"]:
        parts.append("<p class=note>Nothing to show.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _shown(definition: Figure, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in the page: the first ``limit`` (and the last ``tail``) of long lists."""
    if definition.limit is None or len(rows) <= definition.limit + (definition.tail or 0):
        return rows
    head = rows[:definition.limit]
    return head + rows[-definition.tail:] if definition.tail else head


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(
            f"<td class=n>{v:,}</td>" if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row.values())
        + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _spec(chart: Chart, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A Vega-Lite spec: several measures are folded into one series each."""
    fold = len(chart.y) > 1
    category: dict[str, Any] = {"field": "series" if chart.x == "series" else chart.x,
                                "type": chart.x_type, "title": chart.x.replace("_", " ")}
    if chart.x_type == "temporal":  # dates are UTC days: no local time, no "12 PM" ticks
        category["timeUnit"] = "utcyearmonthdate"
        if chart.mark == "bar":
            category["type"] = "ordinal"
    value = {"field": "value" if fold else chart.y[0], "type": "quantitative",
             "title": "" if fold else chart.y[0].replace("_", " ")}
    encoding: dict[str, Any] = ({"y": category | {"sort": None}, "x": value}
                                if chart.horizontal else {"x": category, "y": value})
    if chart.x == "series":
        pass
    elif fold:
        encoding["color"] = {"field": "series", "type": "nominal", "title": ""}
        if chart.horizontal:
            encoding["yOffset"] = {"field": "series"}
        elif chart.mark == "bar":
            encoding["xOffset"] = {"field": "series"}
    elif chart.color:
        encoding["color"] = {"field": chart.color, "type": "nominal",
                             "legend": {"labelLimit": 360}}
    encoding["tooltip"] = [{"field": c} for c in rows[0]]
    spec: dict[str, Any] = {
        "$schema": _VL_SCHEMA, "width": 520, "data": {"values": rows},
        "mark": {"type": chart.mark, "tooltip": True} | ({"point": True}
                                                          if chart.mark == "line" else {}),
        "encoding": encoding}
    if fold:
        spec["transform"] = [{"fold": list(chart.y), "as": ["series", "value"]}]
    return spec
