"""Index names from a template, and the index template that maps telemetry events.

The index name template uses the framework's variables (``telemetry_core.sinks.VARIABLES``:
``{schema_name}``, ``{schema}``, ``{date}`` as ``YYYY-MM-DD``, ...), the same in every sink.
What Elasticsearch allows in an index name: lower case; ``a-z 0-9 _ . -`` in each
substituted value (other runs become ``_``); no leading ``- _ + .``; at most 255 bytes. The
fixed text of the template must already be legal (checked when the sink is configured),
so a typo such as ``telemetry*`` is an error rather than a silently different index.
"""

from __future__ import annotations

from typing import Any

from telemetry_core.sinks import Charset, NameTemplate, SinkEvent

#: What Elasticsearch allows in an index name.
INDEX_CHARSET = Charset(value=r"a-z0-9_.-", literal=r"a-z0-9_.\-", lower=True, max_length=255,
                        strip_leading="-_+.")


class IndexNamer:
    """Renders the index for each event from an index name template (see the module doc)."""

    def __init__(self, template: str) -> None:
        self.names = NameTemplate(template, where="elasticsearch sink: 'index'",
                                  charset=INDEX_CHARSET)
        self.template = template
        self.constant: str | None = (None if self.names.fields
                                     else self.names.render_for("", ""))

    def pattern(self) -> str:
        """The wildcard pattern every rendered name matches (for the index template)."""
        return self.names.pattern().replace("**", "*")

    def __call__(self, event: SinkEvent) -> str:
        """The index for ``event``."""
        if self.constant is not None:
            return self.constant
        name = self.names.render(event)
        if not name:
            raise ValueError(f"index template {self.template!r} renders an empty name "
                             f"for schema {event.schema_id!r} version {event.version!r}")
        return name


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
