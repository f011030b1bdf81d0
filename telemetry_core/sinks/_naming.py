"""Names from templates: one engine, one meaning per variable, for every sink.

File paths, Kafka topics, S3 keys and Elasticsearch indices are all rendered here from
the same variables (:data:`VARIABLES`), so ``{schema}`` or ``{date}`` means the same
thing wherever it appears. A sink only says what its destination allows
(:class:`Charset`): which characters may appear in a substituted value and in the
template's literal text, whether names are lower case, how long they may be.

Making a value legal: drop a leading URI scheme; replace every run of characters the
destination does not allow with one ``_``; strip leading and trailing ``_`` and ``.``
(no ``.``/``..`` segments, no hidden names); an empty result becomes ``unknown``; a
result longer than 120 characters is cut to 111 and gets ``-`` plus 8 hex digits of
the SHA-256 of the full value. Values are cached per (schema id, version, UTC hour).

Time variables are UTC, whatever offset a timestamp carries: ``2026-01-01T23:30:00-05:00``
is ``{date}`` 2026-01-02, ``{hour}`` 04 in every sink (:func:`utc_hour`).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ._errors import SinkConfigError
from ._event import SinkEvent

#: Every variable a name template may use, with what it becomes (before the
#: destination's characters rule), for ``https://telemetry.jupyter.org/schemas/events/
#: kernel/lifecycle/v1``, version 1, at 2026-01-02T03:04:05Z.
VARIABLES: dict[str, str] = {
    "schema_name": "last segment of the schema id that is not a version such as v1 "
                   "(lifecycle)",
    "schema_path": "the schema id without scheme and host (schemas/events/kernel/"
                   "lifecycle/v1 -> schemas_events_kernel_lifecycle_v1)",
    "schema": "the schema id without its scheme (telemetry.jupyter.org/schemas/... -> "
              "telemetry.jupyter.org_schemas_events_kernel_lifecycle_v1)",
    "version": "the schema version (1)",
    "date": "UTC date of the event's __timestamp__, YYYY-MM-DD (2026-01-02)",
    "year": "YYYY (UTC) of the event's timestamp (2026)",
    "month": "MM (UTC) of the event's timestamp (01)",
    "day": "DD (UTC) of the event's timestamp (02)",
    "hour": "HH (UTC) of the event's timestamp (03)",
    "host": "this machine's host name",
    "pid": "this process's id",
}

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SCHEME_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/]*/?")
_SPLIT = re.compile(r"[/:#]+")
_VERSION_SEGMENT = re.compile(r"^v?\d+(\.\d+)*$")
_UTC_FORM = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]00:?00)$")
_MAX_VALUE = 120
_CACHE_MAX = 4096


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
    """``schema_id`` without URL scheme and host: ``https://h/a/b/v1`` -> ``a/b/v1``."""
    return _SCHEME_HOST.sub("", schema_id) or schema_id


def utc_hour(timestamp: str) -> str:
    """``YYYY-MM-DDTHH`` in UTC of an ISO 8601 timestamp (the core writes ``...Z``).

    A timestamp with an offset is converted (``...T23:30:00-05:00`` -> ``...02T04``); one
    without an offset is taken as UTC; one that does not parse gives the time of
    writing, so an odd producer clock never blocks delivery.
    """
    if _UTC_FORM.match(timestamp):  # what the core writes: no parsing needed
        return f"{timestamp[:10]}T{timestamp[11:13]}"
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        when = datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H")


def hour_key(timestamp: str) -> str:
    """A cheap key that is the same for two timestamps only if their UTC hour is: the
    first 13 characters of a ``...Z`` stamp (what the core writes), else :func:`utc_hour`.
    For sinks that cache a name per (schema, version, hour)."""
    if timestamp[-1:] == "Z" and timestamp[10:11] == "T":
        return timestamp[:13]
    return utc_hour(timestamp)


@dataclass(frozen=True)
class Charset:
    """What a destination allows in a name (the only thing a sink says about naming).

    ``value`` matches one character a substituted value may keep; ``literal`` one
    character the template's own text may hold (a file path's ``/``, say);
    ``strip_leading`` characters a whole name may not start with (Elasticsearch's
    ``-_+.``), removed after rendering.
    """

    value: str = r"A-Za-z0-9._-"
    literal: str = r"A-Za-z0-9._\-/{}"
    lower: bool = False
    max_length: int | None = None
    strip_leading: str = ""


def clean(value: str, charset: Charset = Charset()) -> str:
    """``value`` made legal for a destination (the rule in the module docstring)."""
    text = value.lower() if charset.lower else value
    name = re.sub(f"[^{charset.value}]+", "_", _SCHEME.sub("", text).rstrip("/")).strip("_.")
    if not name:
        return "unknown"
    if len(name) > _MAX_VALUE:
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        return f"{name[: _MAX_VALUE - 9]}-{digest}"
    return name


class NameTemplate:
    """A template such as ``"{schema_name}/{date}.jsonl"``, checked once, rendered per event.

    ``extra`` names variables the sink fills itself (S3's ``uuid``); they are passed to
    :meth:`render` and used as given.
    """

    def __init__(self, template: object, *, where: str, charset: Charset = Charset(),
                 extra: Mapping[str, str] | None = None) -> None:
        if not isinstance(template, str) or not template:
            raise SinkConfigError(f"{where}: a name template must be a non-empty string, "
                                  f"got {template!r}")
        self.template = template
        self.charset = charset
        known = {**VARIABLES, **(extra or {})}
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise SinkConfigError(f"{where}: template {template!r} is malformed: {exc}; "
                                  "write a literal brace as {{ or }}") from None
        fields: set[str] = set()
        literal_ok = re.compile(f"[{charset.literal}]*")
        for literal, name, spec, conversion in parsed:
            text = literal.lower() if charset.lower else literal
            if not literal_ok.fullmatch(text):
                bad = sorted({c for c in text if not literal_ok.fullmatch(c)})
                raise SinkConfigError(
                    f"{where}: template {template!r} contains {''.join(bad)!r}, which this "
                    "destination does not allow in a name")
            if name is None:
                continue
            if name not in known or spec or conversion:
                close = [v for v in known if name and v.startswith(name[:4])]
                raise SinkConfigError(
                    f"{where}: template {template!r} uses {{{name}{':' + spec if spec else ''}}}"
                    + (f"; did you mean {{{close[0]}}}?" if close else "")
                    + f" The variables are: {', '.join('{' + v + '}' for v in known)}")
            fields.add(name)
        self.fields = frozenset(fields)
        self._cache: dict[tuple[str, str, str], dict[str, str]] = {}

    def variables(self, schema_id: str, version: str, timestamp: str) -> dict[str, str]:
        """The template's variables for one event, legal for the destination (cached)."""
        # The cache key is the raw hour when it is UTC already (the common case), so
        # the hot path does no conversion; any other form is converted first.
        key = (schema_id, version, hour_key(timestamp))
        found = self._cache.get(key)
        if found is not None:
            return found
        hour = utc_hour(timestamp)
        values = {
            "schema_name": schema_name(schema_id), "schema_path": schema_path(schema_id),
            "schema": schema_id, "version": version, "date": hour[:10], "year": hour[:4],
            "month": hour[5:7], "day": hour[8:10], "hour": hour[11:13],
            "host": socket.gethostname(), "pid": str(os.getpid()),
        }
        found = {k: clean(v, self.charset) for k, v in values.items() if k in self.fields}
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        if "pid" not in self.fields:  # a forked child must not reuse its parent's pid
            self._cache[key] = found
        return found

    def render(self, event: SinkEvent, **extra: str) -> str:
        """The name for ``event``; ``extra`` fills the sink's own variables."""
        return self.render_for(event.schema_id, event.version, event.timestamp, **extra)

    def render_for(self, schema_id: str, version: str, timestamp: str = "",
                   **extra: str) -> str:
        """The name for an event of ``schema_id``/``version`` at ``timestamp`` (any ISO
        8601 form; empty for "now"), for sinks that name a group of events at once."""
        values = self.variables(schema_id, version, timestamp)
        name = self.template.format(**values, **extra)
        if self.charset.lower:
            name = name.lower()
        if self.charset.strip_leading:
            name = name.lstrip(self.charset.strip_leading)
        if self.charset.max_length is not None:
            name = name.encode()[: self.charset.max_length].decode(errors="ignore")
        return name

    def pattern(self, wildcard: str = "*") -> str:
        """The template with every variable as ``wildcard`` (index patterns, globs)."""
        name = self.template.format(**dict.fromkeys(self.fields, wildcard))
        name = name.lower() if self.charset.lower else name
        return name.lstrip(self.charset.strip_leading) if self.charset.strip_leading else name
