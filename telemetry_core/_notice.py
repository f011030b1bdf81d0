"""The transparency notice: what an EventLog records, and what happens to personal data.

Built from the registered schemas and the policy, by the same code that decides
redaction (``_privacy.decisions``), so the notice cannot drift from what is done.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import orjson

from ._plan import has_marks
from ._privacy import decisions

if TYPE_CHECKING:
    from ._eventlog import EventLog

FORMATS = ("text", "markdown", "html", "json")

_INTRO = (
    "This deployment records only the events listed below. For each, the properties "
    "it may contain are listed with what happens to them: 'kept' values are stored; "
    "'redacted' values are replaced by null before anything is stored; 'hashed' values "
    "are replaced by a keyed pseudonym (the same value always gives the same pseudonym, "
    "but the value cannot be read back). A redacted or hashed property is replaced "
    "whole, with everything inside it. Where a schema allows alternatives, a value is "
    "redacted if any alternative marks it. Properties a schema does not list are "
    "dropped before anything is stored, unless the event says otherwise below."
)
_DECLARED = ("The schema declares that this event holds personal data; the properties "
             "marked below say which values are.")
_UNDECLARED = {
    "dropped": "Properties not listed here are dropped.",
    "kept": "Properties not listed here are KEPT as sent (this deployment's policy "
            "keeps undeclared properties for this event).",
}


def notice_data(eventlog: EventLog) -> dict[str, Any]:
    """The notice as plain data (the JSON format)."""
    schemas: list[dict[str, Any]] = []
    missing: list[str] = []
    allowed = list(eventlog.allowed_schemas)
    for schema_id in allowed:
        policy = eventlog.policy_for(schema_id)
        versions = eventlog.schemas.versions(schema_id)
        if policy is None or not versions:
            missing.append(schema_id)
            continue
        for version in versions:
            schema = eventlog.schemas.get(schema_id, version)
            schemas.append({
                "id": schema.id, "version": schema.version, "title": schema.title,
                "description": schema.description,
                "allowed_categories": sorted(policy.allowed_categories),
                "allowed_properties": sorted(policy.allowed_properties),
                "undeclared_properties": "kept" if policy.keep_undeclared else "dropped",
                "declares_personal_data": has_marks(schema.schema),
                "properties": [
                    {"path": d.path, "title": d.title, "description": d.description.strip(),
                     "categories": d.categories, "personal": d.personal,
                     "decision": d.decision}
                    for d in decisions(schema.plan(policy), policy)],
            })
    not_recorded = sorted({s.id for s in eventlog.schemas} - set(allowed))
    return {"intro": _INTRO, "redaction": eventlog.redaction, "schemas": schemas,
            "allowed_but_not_registered": missing, "registered_not_recorded": not_recorded}


def render_notice(eventlog: EventLog, fmt: str = "text") -> str:
    """The notice in ``fmt``: text, markdown, html or json."""
    data = notice_data(eventlog)
    if fmt == "json":
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    render = {"text": _text, "markdown": _markdown, "html": _html}.get(fmt)
    if render is None:
        raise ValueError(f"unknown notice format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return render(data)


_NOTHING = "Nothing is recorded: no event schema is allowed by this configuration."
# The notice's closing lists: (key in notice_data, heading).
_TAILS = (("allowed_but_not_registered", "Allowed but no schema registered (nothing recorded)"),
          ("registered_not_recorded", "Known but not recorded"))


def _what(prop: dict[str, Any]) -> str:
    return " - ".join(x for x in (prop["title"], prop["description"]) if x)


def _label(prop: dict[str, Any]) -> str:
    personal = "personal data, " if prop["personal"] else ""
    return f"{personal}{', '.join(prop['categories'])}"


def _text(data: dict[str, Any]) -> str:
    out = ["Telemetry transparency notice", "=" * 29, "", data["intro"], ""]
    if not data["schemas"]:
        out.append(_NOTHING)
    for s in data["schemas"]:
        out += [f"{s['title']}  ({s['id']}, version {s['version']})"]
        out += [f"  {line}" for line in s["description"].splitlines()]
        if s["declares_personal_data"]:
            out.append(f"  {_DECLARED}")
        for p in s["properties"]:
            what = f" - {p['title']}" if p["title"] else ""
            out.append(f"  * {p['path']}{what} [{_label(p)}]: {p['decision'].upper()}")
            if p["description"]:
                out.append(f"      {p['description']}")
        out.append(f"  {_UNDECLARED[s['undeclared_properties']]}")
        out.append("")
    out += [f"{text}: {', '.join(data[key])}" for key, text in _TAILS if data[key]]
    return "\n".join(out).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(data: dict[str, Any]) -> str:
    out = ["# Telemetry transparency notice", "", data["intro"], ""]
    if not data["schemas"]:
        out.append(_NOTHING)
    for s in data["schemas"]:
        out += [f"## {s['title']}", "", f"`{s['id']}`, version {s['version']}", "",
                s["description"], "", "| property | what it is | categories | stored as |",
                "|---|---|---|---|"]
        for p in s["properties"]:
            out.append(f"| `{p['path']}` | {_md_cell(_what(p))} | {_md_cell(_label(p))} | "
                       f"**{p['decision']}** |")
        out += ["", _UNDECLARED[s["undeclared_properties"]], ""]
    out += [f"{text}: " + ", ".join(f"`{i}`" for i in data[key])
            for key, text in _TAILS if data[key]]
    return "\n".join(out).rstrip() + "\n"


def _html(data: dict[str, Any]) -> str:
    e = html.escape
    out = ["<section class=\"telemetry-notice\">", "<h1>Telemetry transparency notice</h1>",
           f"<p>{e(data['intro'])}</p>"]
    if not data["schemas"]:
        out.append(f"<p>{_NOTHING}</p>")
    for s in data["schemas"]:
        out += [f"<h2>{e(s['title'])}</h2>",
                f"<p><code>{e(s['id'])}</code>, version {e(s['version'])}</p>",
                f"<p>{e(s['description'])}</p>",
                "<table><thead><tr><th>property</th><th>what it is</th><th>categories</th>"
                "<th>stored as</th></tr></thead><tbody>"]
        for p in s["properties"]:
            out.append(f"<tr><td><code>{e(p['path'])}</code></td><td>{e(_what(p))}</td>"
                       f"<td>{e(_label(p))}</td><td><strong>{e(p['decision'])}</strong></td></tr>")
        out.append("</tbody></table>")
        out.append(f"<p>{e(_UNDECLARED[s['undeclared_properties']])}</p>")
    for key, text in _TAILS:
        if data[key]:
            items = "".join(f"<li><code>{e(i)}</code></li>" for i in data[key])
            out.append(f"<p>{e(text)}:</p><ul>{items}</ul>")
    out.append("</section>")
    return "\n".join(out) + "\n"
