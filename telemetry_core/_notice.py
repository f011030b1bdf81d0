"""The transparency notice: what an EventLog records, and what happens to personal data.

Built from the registered schemas and the policy, by the same code that decides
redaction (``_privacy.decisions``), so the notice cannot drift from what is done. It
also says each schema's consent mode and the deployment facts the administrator
configured (who collects, contact, retention, named regimes), and carries a
``notice_version``: a hash of all it says, which consent decisions refer to.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import orjson

from ._plan import has_marks
from ._privacy import Policy, decisions
from ._schema_registry import SchemaRegistry
from .consent import HASHED, KEPT, Consent


class NoticeSource(Protocol):
    """What the notice is built from: an EventLog is one (the notice never imports it)."""

    @property
    def allowed_schemas(self) -> Iterable[str]: ...
    @property
    def schemas(self) -> SchemaRegistry: ...
    @property
    def consent(self) -> Consent: ...
    @property
    def deployment(self) -> Mapping[str, Any]: ...
    @property
    def consent_groups(self) -> Mapping[str, list[str]]: ...
    @property
    def redaction(self) -> str: ...
    @property
    def subject_secret(self) -> str: ...
    def policy_for(self, schema_id: str) -> Policy | None: ...
    def encrypts(self, schema_id: str) -> bool: ...
    def inspects(self, schema_id: str) -> bool: ...

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
_INSPECTED = (
    "Before this event's personal values are redacted, hashed or encrypted as listed, "
    "automated security rules (intrusion detection) look at them in memory, for example "
    "to spot code that opens a reverse shell. Those values are not stored because of "
    "this: an alert records only which rule matched and the ids of the events, never "
    "the values the rules looked at.")
_UNDECLARED = {
    "dropped": "Properties not listed here are dropped.",
    "kept": "Properties not listed here are KEPT as sent (this deployment's policy "
            "keeps undeclared properties for this event).",
}


_MODE_TEXT = {
    "required": "required: recorded for everyone; it cannot be refused",
    "opt-in": "opt-in: recorded only for users who said yes to this notice",
    "opt-out": "opt-out: recorded unless the user said no",
}
# How each configured regime fact is introduced, in this order.
REGIME_FACTS = (("legal_basis", "Legal basis"), ("statement", "Statement"),
                ("required_reason", "Why required events cannot be refused"))


def notice_data(eventlog: NoticeSource, user: str | None = None) -> dict[str, Any]:
    """The notice as plain data (the JSON format), with its ``notice_version``; with
    ``user``, that user's consent state too (``GET consent``'s JSON)."""
    data = notice_body(eventlog)
    data["notice_version"] = eventlog.consent.notice_version
    if user is not None:
        data["user"] = eventlog.consent.state(user)
    return data


def notice_body(eventlog: NoticeSource) -> dict[str, Any]:
    """What the notice says, without its version (the version is a hash of this)."""
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
            properties = [
                {"path": d.path, "title": d.title, "description": d.description.strip(),
                 "categories": d.categories, "personal": d.personal, "decision": d.decision}
                for d in decisions(schema.plan(policy), policy)]
            entry: dict[str, Any] = {
                "id": schema.id, "version": schema.version, "title": schema.title,
                "description": schema.description,
                "consent": eventlog.consent.mode(schema_id),
                "allowed_categories": sorted(policy.allowed_categories),
                "allowed_properties": sorted(policy.allowed_properties),
                "undeclared_properties": "kept" if policy.keep_undeclared else "dropped",
                "encrypted_per_user": eventlog.encrypts(schema_id),
                "declares_personal_data": has_marks(schema.schema),
                "properties": properties,
            }
            # Only where it changes something, and only then in the notice's version.
            if eventlog.inspects(schema_id) and (eventlog.encrypts(schema_id) or any(
                    p["decision"] != "kept" for p in properties)):
                entry["inspected_before_redaction"] = True
            schemas.append(entry)
    not_recorded = sorted({s.id for s in eventlog.schemas} - set(allowed))
    return {"intro": _INTRO, "deployment": dict(eventlog.deployment),
            "consent_groups": dict(eventlog.consent_groups),
            "redaction": eventlog.redaction, "schemas": schemas,
            "subject_key": bool(eventlog.subject_secret),
            "allowed_but_not_registered": missing, "registered_not_recorded": not_recorded}


_LEVELS = {"kept": KEPT, "hashed": HASHED}  # what "collects more" compares


def collected(eventlog: NoticeSource) -> dict[str, dict[str, int]]:
    """Per allowed schema, each property stored (kept or hashed: ``consent.KEPT``,
    ``consent.HASHED``) over all its versions, and the consent groups it is in: what
    "the notice collects more" is measured against (``ConsentPolicy.collected``)."""
    result: dict[str, dict[str, int]] = {}
    for schema_id in eventlog.allowed_schemas:
        policy = eventlog.policy_for(schema_id)
        if policy is None:
            continue
        levels: dict[str, int] = {"": 0}  # the schema itself: new ones are "more"
        for version in eventlog.schemas.versions(schema_id):
            schema = eventlog.schemas.get(schema_id, version)
            for d in decisions(schema.plan(policy), policy):
                if d.decision in _LEVELS:
                    key = ("personal:" if d.personal else "other:") + d.path
                    levels[key] = max(levels.get(key, 0), _LEVELS[d.decision])
        if policy.keep_undeclared:  # anything at all may arrive, so count it personal
            levels["personal:(undeclared properties)"] = KEPT
        levels.update((f"group:{group}", 0) for group, members
                      in eventlog.consent_groups.items() if schema_id in members)
        result[schema_id] = levels
    return result


def render_notice(eventlog: NoticeSource, fmt: str = "text", user: str | None = None) -> str:
    """The notice in ``fmt``: text, markdown, html or json; with ``user``, followed by
    that user's consent decisions."""
    data = notice_data(eventlog, user)
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
    if not prop["personal"]:
        return "not personal data"
    return f"personal data: {', '.join(prop['categories'])}"


def _facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the deployment facts, in a fixed order, for every format."""
    dep = data["deployment"]
    out = [(label, dep[key]) for key, label in (
        ("controller", "Who collects"), ("contact", "Contact"), ("retention", "Retention"))
        if dep.get(key)]
    for regime, facts in (dep.get("regimes") or {}).items():
        out += [(f"{regime}: {label}", facts[key]) for key, label in REGIME_FACTS
                if facts.get(key)]
    rights = _rights_text(data)
    if rights:
        out.append(("Your rights", rights))
    out.append(("Notice version", data["notice_version"]))
    return out


def _rights_text(data: dict[str, Any]) -> str:
    """What the deployment keeps so that a person's events can be found and erased."""
    parts = []
    if data.get("subject_key"):
        parts.append("Events about you carry a keyed pseudonym of your user name (not the "
                     "name itself), so that the events held about you can be found, exported "
                     "and erased on request.")
    sealed = [s["title"] for s in data["schemas"] if s.get("encrypted_per_user")]
    if sealed:
        parts.append("Personal data kept from " + ", ".join(sorted(set(sealed))) + " is "
                     "encrypted with a key of your own; erasing that key makes every copy "
                     "unreadable.")
    return " ".join(parts)


def _user_lines(data: dict[str, Any]) -> list[str]:
    state = data.get("user")
    if state is None:
        return []
    out = [f"Consent of {state['user']}:"]
    out += [f"  {s['schema_id']}: {s['consent']}, "
            f"{'granted' if s['granted'] else 'not granted'}, "
            f"{'recorded' if s['recorded'] else 'not recorded'}" for s in state["schemas"]]
    out += ["Decisions (oldest first):"] + [
        f"  {d['at']} {'yes' if d['granted'] else 'no'} to {d['scope']} "
        f"(notice {d['notice_version']}, via {d['via']})" for d in state["decisions"]]
    if not state["decisions"]:
        out.append("  none")
    return out


TEXT_WIDTH = 88


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """``text`` wrapped to TEXT_WIDTH, its first line after ``first`` and the lines it
    continues on indented by ``rest`` (so a wrapped line never restarts at column 0)."""
    lines = textwrap.wrap(text, TEXT_WIDTH, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
    return lines or [first.rstrip()]


def _text(data: dict[str, Any]) -> str:
    out = ["Telemetry transparency notice", "=" * 29, ""]
    out += _wrap(data["intro"], "", "") + [""]
    for label, text in _facts(data):
        out += _wrap(f"{label}: {text}", "", "    ")
    out.append("")
    if not data["schemas"]:
        out.append(_NOTHING)
    for s in data["schemas"]:
        out += _wrap(f"{s['title']}  ({s['id']}, version {s['version']})", "", "    ")
        out += _wrap(f"Consent: {_MODE_TEXT[s['consent']]}", "  ", "    ")
        for i, line in enumerate(s["description"].splitlines()):
            out += _wrap(line, "  Purpose: " if i == 0 else "  ", "    ")
        if s["declares_personal_data"]:
            out += _wrap(_DECLARED, "  ", "  ")
        for p in s["properties"]:
            what = f" - {p['title']}" if p["title"] else ""
            out += _wrap(f"{p['path']}{what} [{_label(p)}]: {p['decision'].upper()}",
                         "  * ", "      ")
            if p["description"]:
                out += _wrap(p["description"], "      ", "      ")
        out += _wrap(_UNDECLARED[s["undeclared_properties"]], "  ", "  ")
        if s.get("inspected_before_redaction"):
            out += _wrap(_INSPECTED, "  ", "  ")
        out.append("")
    for key, heading in _TAILS:  # long sets: one per line
        if data[key]:
            out += [f"{heading}:"] + [f"  - {item}" for item in data[key]] + [""]
    out += [""] + _user_lines(data) if data.get("user") else []
    return "\n".join(out).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(data: dict[str, Any]) -> str:
    out = ["# Telemetry transparency notice", "", data["intro"], ""]
    out += [f"- **{label}**: {_md_cell(text)}" for label, text in _facts(data)] + [""]
    if not data["schemas"]:
        out.append(_NOTHING)
    for s in data["schemas"]:
        out += [f"## {s['title']}", "", f"`{s['id']}`, version {s['version']}", "",
                f"**Consent**: {_MODE_TEXT[s['consent']]}", "",
                f"**Purpose**: {s['description']}", "",
                "| property | what it is | categories | stored as |",
                "|---|---|---|---|"]
        for p in s["properties"]:
            out.append(f"| `{p['path']}` | {_md_cell(_what(p))} | {_md_cell(_label(p))} | "
                       f"**{p['decision']}** |")
        out += ["", _UNDECLARED[s["undeclared_properties"]], ""]
        if s.get("inspected_before_redaction"):
            out += [f"**Security rules**: {_INSPECTED}", ""]
    out += [f"{text}: " + ", ".join(f"`{i}`" for i in data[key])
            for key, text in _TAILS if data[key]]
    if data.get("user"):
        out += ["", "```", *_user_lines(data), "```"]
    return "\n".join(out).rstrip() + "\n"


def _html(data: dict[str, Any]) -> str:
    e = html.escape
    out = ["<section class=\"telemetry-notice\">", "<h1>Telemetry transparency notice</h1>",
           f"<p>{e(data['intro'])}</p>", "<dl class=\"telemetry-deployment\">"]
    out += [f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in _facts(data)]
    out.append("</dl>")
    if not data["schemas"]:
        out.append(f"<p>{_NOTHING}</p>")
    for s in data["schemas"]:
        out += [f"<h2>{e(s['title'])}</h2>",
                f"<p><code>{e(s['id'])}</code>, version {e(s['version'])}</p>",
                f"<p><strong>Consent</strong>: {e(_MODE_TEXT[s['consent']])}</p>",
                f"<p><strong>Purpose</strong>: {e(s['description'])}</p>",
                "<table><thead><tr><th>property</th><th>what it is</th><th>categories</th>"
                "<th>stored as</th></tr></thead><tbody>"]
        for p in s["properties"]:
            out.append(f"<tr><td><code>{e(p['path'])}</code></td><td>{e(_what(p))}</td>"
                       f"<td>{e(_label(p))}</td><td><strong>{e(p['decision'])}</strong></td></tr>")
        out.append("</tbody></table>")
        out.append(f"<p>{e(_UNDECLARED[s['undeclared_properties']])}</p>")
        if s.get("inspected_before_redaction"):
            out.append(f"<p><strong>Security rules</strong>: {e(_INSPECTED)}</p>")
    for key, text in _TAILS:
        if data[key]:
            items = "".join(f"<li><code>{e(i)}</code></li>" for i in data[key])
            out.append(f"<p>{e(text)}:</p><ul>{items}</ul>")
    if data.get("user"):
        out.append("<pre class=\"telemetry-consent\">" + e("\n".join(_user_lines(data)))
                   + "</pre>")
    out.append("</section>")
    return "\n".join(out) + "\n"
