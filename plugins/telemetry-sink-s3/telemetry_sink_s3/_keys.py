"""Object keys: Hive-style partitions from an event's schema, version and timestamp.

Two names are derived from a schema id; the rules are public (README), because queries
filter on them, and they match the file sink's template variables of the same names:

``schema_name`` (the default template's ``schema=`` partition): the last segment of the
id, split at ``/``, ``:`` and ``#``, skipping trailing version segments such as ``v1``
or ``2.0``: ``https://telemetry.jupyter.org/schemas/events/kernel/lifecycle`` ->
``lifecycle``; then made safe as below.

``schema``: the whole id made safe: ``telemetry.jupyter.org_schemas_events_kernel_lifecycle``.

Making a value safe (:func:`safe_segment`, also used for the version) is the framework's
rule for every sink (``telemetry_core.sinks.clean``): a leading URI scheme dropped, every run
of characters other than ``A-Z a-z 0-9 . _ -`` replaced by one ``_``, no leading or trailing
``_``/``.``, ``unknown`` for nothing, values over 120 characters cut with a hash. Date and
hour are the event's UTC time, as in every sink (``telemetry_core.sinks.utc_hour``).

Different ids can map to the same ``schema_name`` (``a/lifecycle``, ``b/lifecycle``) or,
rarely, the same ``schema``; the exact id is in every event's ``__schema__`` field.
Use ``schema={schema}`` in the key template where short names may collide.
"""

from __future__ import annotations

import hashlib
import uuid

from telemetry_core.sinks import Charset, NameTemplate, SinkConfigError, clean, utc_hour
from telemetry_core.sinks import schema_name as core_schema_name

#: The key template used when configuration gives none: Hive-style partitions.
DEFAULT_KEY_TEMPLATE = (
    "{prefix}/schema={schema_name}/version={version}/dt={date}/hour={hour}/{uuid}.jsonl{ext}"
)
# Namespace of the object-name UUIDs (uuid5 of "telemetry-sink-s3" in the URL namespace).
_KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "telemetry-sink-s3")


def safe_segment(value: str) -> str:
    """``value`` as one safe path segment: the framework's rule (module docstring)."""
    return clean(value)


def schema_name(schema_id: str) -> str:
    """The core's ``schema_name`` (last segment that is not a version), made safe."""
    return clean(core_schema_name(schema_id))


def partition_time(timestamp: str) -> tuple[str, str]:
    """``(date, hour)`` in UTC from an ISO 8601 timestamp: ``("2026-11-22", "02")``.

    The framework's :func:`~telemetry_core.sinks.utc_hour`, split: an offset is
    converted, none means UTC, an unparseable stamp gives the time of writing.
    """
    hour = utc_hour(timestamp)
    return hour[:10], hour[11:13]


def content_uuid(event_ids: list[str], lines: bytes) -> str:
    """A name-based (version 5) UUID of the events of one object: of their ids, or of
    their JSON lines when any event has no id.

    The same events give the same key, so a retry of an upload whose answer was lost
    overwrites the object instead of writing a second copy.
    """
    data = "\n".join(event_ids).encode() if all(event_ids) else lines
    return str(uuid.uuid5(_KEY_NAMESPACE, hashlib.blake2b(data, digest_size=32).hexdigest()))


#: What an object key may hold: S3's safe characters; values keep A-Z a-z 0-9 . _ -.
KEY_CHARSET = Charset(literal=r"A-Za-z0-9._\-/=!*'()")
_OWN_VARIABLES = {"prefix": "the 'prefix' option", "uuid": "a name-based UUID of the "
                  "object's events", "ext": "'.gz' when compressed, else ''"}


def key_template(template: str) -> NameTemplate:
    """Check ``template`` (the framework's variables plus prefix, uuid, ext; ``{uuid}`` is
    required); raise ``SinkConfigError`` if it is wrong."""
    checked = NameTemplate(template, where="s3 sink: 'key_template'", charset=KEY_CHARSET,
                           extra=_OWN_VARIABLES)
    if "uuid" not in checked.fields:
        raise SinkConfigError(
            f"s3 sink: key_template {template!r} has no {{uuid}}; without it every batch of a "
            "partition would overwrite the previous object")
    return checked


def render_key(template: NameTemplate, schema_id: str, version: str, hour: str,
               **extra: str) -> str:
    """The key for a partition (``hour`` is ``YYYY-MM-DDTHH`` in UTC): no leading ``/``, no
    empty segments."""
    key = template.render_for(schema_id, version, hour + ":00:00Z", **extra)
    return "/".join(part for part in key.split("/") if part)
