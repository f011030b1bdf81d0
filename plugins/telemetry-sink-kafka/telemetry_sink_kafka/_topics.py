"""Topic templates: route events to Kafka topics by schema.

A template is a Python format string over the variables in ``TOPIC_VARIABLES``, e.g.
``"jupyter.{schema_name}"``. Its literal text must already be a legal topic name;
substituted values are sanitised (characters Kafka does not allow become ``_``) so
that any schema id yields a legal topic.
"""

from __future__ import annotations

import re
import string
from urllib.parse import urlsplit

from telemetry_core.sinks import SinkConfigError, schema_name

#: The variables a topic template may use, with what each becomes.
TOPIC_VARIABLES: dict[str, str] = {
    "schema_name": "last segment of the schema id, skipping a trailing version segment like "
                   "v1, as the file sink names it (https://events.jupyter.org/jupyter_server/"
                   "kernel_actions/v1 -> kernel_actions)",
    "schema_path": "the schema id without scheme, host and a trailing version segment, "
                   "'/' as '.' (-> jupyter_server.kernel_actions)",
    "schema": "the whole schema id without its scheme, '/' as '.' "
              "(-> events.jupyter.org.jupyter_server.kernel_actions.v1)",
    "version": "the schema version (1)",
}

MAX_TOPIC_LENGTH = 249  # Kafka's limit
_ILLEGAL = re.compile(r"[^A-Za-z0-9._-]+")
_VERSION_SEGMENT = re.compile(r"^v?\d+(\.\d+)*$")


def _sanitise(value: str) -> str:
    return _ILLEGAL.sub("_", value)


def _id_parts(schema_id: str) -> tuple[str, list[str]]:
    """(host, path segments) of a schema id; a bare id like ``org.event`` has no host."""
    if "://" in schema_id:
        parts = urlsplit(schema_id)
        return parts.netloc, [s for s in parts.path.split("/") if s]
    return "", [s for s in schema_id.split("/") if s]


def topic_variables(schema_id: str, version: str) -> dict[str, str]:
    """The template variables for one schema, already sanitised."""
    host, segments = _id_parts(schema_id)
    named = list(segments)
    while len(named) > 1 and _VERSION_SEGMENT.match(named[-1]):
        named.pop()
    return {
        "schema_name": _sanitise(schema_name(schema_id) or "unnamed"),
        "schema_path": _sanitise(".".join(named) or host or "unnamed"),
        "schema": _sanitise(".".join([host, *segments] if host else segments) or "unnamed"),
        "version": _sanitise(version or "unversioned"),
    }


def check_template(template: object) -> str:
    """Validate a topic template at configuration time; return it, or raise SinkConfigError."""
    if not isinstance(template, str) or not template:
        raise SinkConfigError(
            f"kafka sink: 'topic' must be a non-empty string (a topic name or a template "
            f"such as 'jupyter.{{schema_name}}'), got {template!r}")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SinkConfigError(f"kafka sink: topic template {template!r} is malformed: {exc}; "
                              "write literal braces as {{ and }}") from exc
    for literal, name, spec, conversion in fields:
        bad = _ILLEGAL.search(literal)
        if bad:
            raise SinkConfigError(
                f"kafka sink: topic {template!r} contains {bad.group()!r}; "
                "topic names may only use letters, digits, '.', '_' and '-'")
        if name is not None and (name not in TOPIC_VARIABLES or spec or conversion):
            raise SinkConfigError(
                f"kafka sink: topic template {template!r} uses {{{name}}}; the variables are "
                + ", ".join("{" + v + "}" for v in TOPIC_VARIABLES))
    if template in (".", "..") or len(template) > MAX_TOPIC_LENGTH:
        raise SinkConfigError(f"kafka sink: {template!r} is not a legal topic name "
                              f"(not '.' or '..', at most {MAX_TOPIC_LENGTH} characters)")
    return template


def is_template(template: str) -> bool:
    """Whether ``template`` has variables (else every event goes to that one topic)."""
    return any(name is not None for _, name, _, _ in string.Formatter().parse(template))


def topic_for(template: str, schema_id: str, version: str) -> str:
    """The topic an event of ``schema_id``/``version`` goes to under ``template``."""
    topic = template.format(**topic_variables(schema_id, version))[:MAX_TOPIC_LENGTH]
    return "_" if topic in (".", "..") else topic
