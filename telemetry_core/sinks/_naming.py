"""Names that sinks derive from a schema id, defined once so that every sink's
templates (file paths, Kafka topics, S3 keys, Elasticsearch indices) agree.

Each sink then makes the name legal for its own store: the characters a Kafka topic,
an S3 key or an index name may hold differ, so that step stays with the sink.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SCHEME_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/]*/?")
_SPLIT = re.compile(r"[/:#]+")
_VERSION_SEGMENT = re.compile(r"^v?\d+(\.\d+)*$")


def schema_name(schema_id: str) -> str:
    """The last segment of ``schema_id`` that is not a version, as written.

    ``https://events.jupyter.org/jupyter_server/kernel_actions/v1`` -> ``kernel_actions``;
    ``url.to.event.schema`` -> ``url.to.event.schema``. Empty for an empty id.
    """
    parts = [p for p in _SPLIT.split(_SCHEME.sub("", schema_id)) if p]
    while len(parts) > 1 and _VERSION_SEGMENT.match(parts[-1]):
        parts.pop()
    return parts[-1] if parts else ""


def schema_path(schema_id: str) -> str:
    """``schema_id`` without URL scheme and host: ``https://h/a/b/v1`` -> ``a/b/v1``.

    Unique where ``schema_name`` may not be (two hosts' ``command`` schemas).
    """
    return _SCHEME_HOST.sub("", schema_id) or schema_id
