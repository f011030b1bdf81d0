"""Index names from a template, and the index template that maps telemetry events.

The index name template may use these placeholders:

``{schema}``         the schema id as recorded (``https://events.example.org/lab/command/v1``)
``{schema_name}``    the last segment of the id that is not a version (``command``), the same
                     name in every sink (``telemetry_core.sinks.schema_name``)
``{schema_path}``    the schema id without its URL scheme and host (``lab/command/v1``)
``{version}``        the schema version (``1``)
``{date}``           the event's UTC day from ``__timestamp__`` (``2025.01.31``)
``{month}``          the event's UTC month (``2025.01``)
``{year}``           the event's UTC year (``2025``)

The rule that makes a legal Elasticsearch index name: the rendered name is lowercased; in each
placeholder's value every run of characters other than ``a-z 0-9 _ . -`` becomes one ``-``;
leading ``- _ + .`` are removed from the whole name, and it is cut to 255 bytes. The fixed text of
the template must already be legal (checked when the sink is configured), so a typo such as
``telemetry*`` is an error rather than a silently different index.
"""

from __future__ import annotations

import re
import string
from typing import Any

from telemetry_core.sinks import SinkConfigError, SinkEvent, schema_name, schema_path

PLACEHOLDERS = ("schema", "schema_name", "schema_path", "version", "date", "month", "year")
_KNOWN = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
_ILLEGAL_RUN = re.compile(r"[^a-z0-9_.\-]+")
_LEGAL_LITERAL = re.compile(r"[a-z0-9_.\-]*")
_MAX_BYTES = 255
_CACHE_MAX = 4096  # distinct (schema, version, day) triples remembered; cleared when full


def _clean(value: str) -> str:
    return _ILLEGAL_RUN.sub("-", value.lower()).strip("-")


class IndexNamer:
    """Renders the index for each event from an index name template (see the module doc)."""

    def __init__(self, template: str) -> None:
        if not isinstance(template, str) or not template:
            raise SinkConfigError(
                f"elasticsearch sink: 'index' must be a non-empty string, got {template!r}")
        self.template = template
        fields: list[str] = []
        for literal, name, spec, conv in string.Formatter().parse(template):
            if literal and not _LEGAL_LITERAL.fullmatch(literal.lower()):
                bad = "".join(sorted({c for c in literal.lower() if _ILLEGAL_RUN.fullmatch(c)}))
                raise SinkConfigError(
                    f"elasticsearch sink: 'index' {template!r} contains characters an "
                    f"Elasticsearch index name cannot have: {bad!r}; use a-z, 0-9, '_', '.', "
                    f"'-' and the placeholders {_KNOWN}")
            if name is None:
                continue
            if spec or conv:
                raise SinkConfigError(
                    f"elasticsearch sink: 'index' {template!r}: placeholder {{{name}}} takes no "
                    f"format ({spec or conv!r}); use {{month}} or {{year}} for coarser dates")
            if name not in PLACEHOLDERS:
                raise SinkConfigError(
                    f"elasticsearch sink: 'index' {template!r} has an unknown placeholder "
                    f"{{{name}}}; known: {_KNOWN}")
            fields.append(name)
        self.fields = frozenset(fields)
        self.constant: str | None = None if fields else self._finish(template)
        self._cache: dict[tuple[str, str, str], str] = {}

    def pattern(self) -> str:
        """The wildcard pattern every rendered name matches (for the index template)."""
        values = dict.fromkeys(PLACEHOLDERS, "*")
        return self._finish(self.template.format(**values)).replace("**", "*") \
            if self.fields else self.template.lower()

    def __call__(self, event: SinkEvent) -> str:
        """The index for ``event``."""
        if self.constant is not None:
            return self.constant
        day = event.timestamp[:10]
        key = (event.schema_id, event.version, day)
        name = self._cache.get(key)
        if name is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            name = self._cache[key] = self.render(event.schema_id, event.version, day)
        return name

    def render(self, schema_id: str, version: str, day: str) -> str:
        """The index for a schema id, version and ``YYYY-MM-DD`` day."""
        year, month, mday = (day.split("-") + ["", "", ""])[:3]
        values: dict[str, Any] = {
            "schema": _clean(schema_id),
            "schema_name": _clean(schema_name(schema_id)),
            "schema_path": _clean(schema_path(schema_id)),
            "version": _clean(version),
            "date": f"{year}.{month}.{mday}",
            "month": f"{year}.{month}",
            "year": year,
        }
        name = self._finish(self.template.format(**values))
        if not name:
            raise ValueError(f"index template {self.template!r} renders an empty name "
                             f"for schema {schema_id!r} version {version!r}")
        return name

    @staticmethod
    def _finish(name: str) -> str:
        name = name.lower().lstrip("-_+.")
        return name.encode()[:_MAX_BYTES].decode(errors="ignore")


def index_template_body(pattern: str, priority: int, settings: dict[str, Any] | None,
                        properties: dict[str, Any] | None) -> dict[str, Any]:
    """A composable index template mapping the envelope and strings sensibly.

    Envelope: ``__timestamp__`` is a ``date_nanos`` (the core's timestamps have microseconds;
    a ``date`` would keep only milliseconds and lose their order); ``__schema__``,
    ``__schema_version__`` and ``__event_id__`` are keywords, ``__metadata_version__`` an
    integer. Other strings are keywords (exact match, aggregations) with a ``.text`` sub-field
    for full-text search;
    date detection is off so a field that only sometimes looks like a date cannot conflict.
    ``properties`` add to or override these mappings.
    """
    mapped: dict[str, Any] = {
        "__timestamp__": {"type": "date_nanos"},
        "__schema__": {"type": "keyword"},
        "__schema_version__": {"type": "keyword"},
        "__event_id__": {"type": "keyword"},
        "__metadata_version__": {"type": "integer"},
    }
    mapped.update(properties or {})
    template: dict[str, Any] = {
        "mappings": {
            "date_detection": False,
            "dynamic_templates": [{
                "strings": {
                    "match_mapping_type": "string",
                    "mapping": {"type": "keyword", "ignore_above": 1024,
                                "fields": {"text": {"type": "text"}}},
                },
            }],
            "properties": mapped,
        },
    }
    if settings:
        template["settings"] = settings
    return {"index_patterns": [pattern], "priority": priority, "template": template,
            "_meta": {"managed_by": "telemetry-sink-elasticsearch"}}
