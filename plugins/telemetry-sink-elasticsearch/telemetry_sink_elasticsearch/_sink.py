"""ElasticsearchSink: bulk-indexes each batch, idempotently, with per-document outcomes."""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import elasticsearch
import orjson
from elasticsearch import ApiError, Elasticsearch, TransportError

from telemetry_core.sinks import (
    PermanentSinkError,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    TransientSinkError,
    WriteResult,
    clean,
    option,
)

from ._index import IndexNamer, index_template_body

log = logging.getLogger("telemetry_sink_elasticsearch")

# Only what the outcome of each item needs: the response of a large batch stays small.
_FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason," \
               "items.*.error.caused_by.reason"


def _reason(error: Any) -> str:
    """Elasticsearch's own words for an error object (type: reason, caused by ...)."""
    if not isinstance(error, dict):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        text += f" (caused by: {cause['reason']})"
    return text


def _api_reason(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _reason(body["error"])
    if body:
        return str(body)[:500]
    return "(no error body: is this the URL of an Elasticsearch node, path prefix included?)"


class _TooLarge(Exception):
    """A bulk request answered 413: split it."""


def _transport_reason(exc: TransportError) -> str:
    """What the transport saw (refused, timed out, TLS), not just "Connection error"."""
    return str(getattr(exc, "message", "") or exc)


@dataclass(frozen=True)
class ElasticsearchOptions:
    """The Elasticsearch sink's options."""

    hosts: str | list[str] | None = option(None, "URL or list of URLs of the cluster's nodes "
                                           "(default http://127.0.0.1:9200)")
    cloud_id: str | None = option(None, "Elastic Cloud deployment id, instead of hosts")
    index: str = option("telemetry-{schema_name}-{date}", "index name template (the "
                        "framework's variables)")
    api_key: str | list[str] | None = option(None, "API key: the encoded string, or [id, "
                                             "secret]")
    basic_auth: list[str] | None = option(None, "[username, password]")
    ca_certs: str | None = option(None, "path of a CA bundle to verify the cluster's TLS "
                                  "certificate")
    verify_certs: bool = option(True, "verify TLS certificates")
    request_timeout: float = option(10.0, "seconds one request may take", minimum=0.001)
    max_retries: int = option(0, "the client's own retries of one request on another node "
                              "(the sink framework retries batches)", minimum=0)
    http_compress: bool = option(False, "gzip request bodies")
    max_bulk_bytes: int = option(10_000_000, "bound on one bulk request body; larger "
                                 "batches are split", minimum=1)
    index_template: str | None = option(None, "name of a composable index template to "
                                        "create at start-up")
    index_template_priority: int = option(200, "priority of that template")
    index_settings: dict[str, Any] | None = option(None, "index settings for the template, "
                                                   "e.g. {\"number_of_shards\": 1}")
    mappings: dict[str, Any] | None = option(None, "extra field mappings for the template")


class ElasticsearchSink(Sink):
    """Indexes telemetry events into Elasticsearch with the bulk API.

    Each event becomes one document whose ``_id`` is the event id, written with
    ``op_type=create``: a retried or replayed batch never creates a duplicate (a 409 conflict
    means the event is already indexed and counts as delivered). Per document, 429 and 5xx
    are retried, other rejections (mapping conflicts) are dead-lettered with Elasticsearch's
    reason, and the rest of the batch is indexed.
    """

    type = "elasticsearch"
    counters = ("already_indexed", "bulk_requests")
    Options = ElasticsearchOptions
    batch_size = 500
    batch_age = 1.0

    def __init__(self, context: SinkContext, options: ElasticsearchOptions) -> None:
        super().__init__(context)
        o = options
        hosts = o.hosts
        if hosts is None and o.cloud_id is None:
            hosts = ["http://127.0.0.1:9200"]
        if isinstance(hosts, str):
            hosts = [hosts]
        if o.basic_auth is not None and (isinstance(o.basic_auth, str) or len(o.basic_auth) != 2):
            raise SinkConfigError(
                "elasticsearch sink: 'basic_auth' must be [username, password]")
        if o.api_key is not None and o.basic_auth is not None:
            raise SinkConfigError(
                "elasticsearch sink: give either 'api_key' or 'basic_auth', not both")
        if o.ca_certs is not None and not os.path.isfile(o.ca_certs):
            raise SinkConfigError(
                f"elasticsearch sink: 'ca_certs' {o.ca_certs!r} is not a file; give the path of "
                f"the PEM bundle of the CA that signed the cluster's certificate")
        self.hosts = list(hosts) if hosts is not None else None
        self.cloud_id = o.cloud_id
        self.index = IndexNamer(o.index)
        self.max_bulk_bytes = o.max_bulk_bytes
        self.index_template = o.index_template
        self.index_template_priority = o.index_template_priority
        self.index_settings = o.index_settings
        self.mappings = o.mappings
        self._client_options: dict[str, Any] = {
            "hosts": self.hosts, "cloud_id": o.cloud_id,
            "api_key": tuple(o.api_key) if isinstance(o.api_key, (list, tuple)) else o.api_key,
            "basic_auth": tuple(o.basic_auth) if o.basic_auth is not None else None,
            "ca_certs": o.ca_certs, "verify_certs": o.verify_certs,
            "request_timeout": o.request_timeout, "max_retries": o.max_retries,
            "retry_on_timeout": o.max_retries > 0, "http_compress": o.http_compress,
        }
        self._client: Elasticsearch | None = None

    def default_name(self) -> str:
        """From the index template: two sinks writing different indices get their own spools
        (two sinks with the same template, say to two clusters, need a ``name`` each)."""
        return clean(self.index.template)

    @property
    def where(self) -> str:
        """The cluster this sink writes to, for messages."""
        return f"cloud_id {self.cloud_id!r}" if self.cloud_id else ", ".join(self.hosts or [])

    # -- start-up --------------------------------------------------------------------

    def open(self) -> None:
        """Connect, check the cluster answers and accepts the credentials; create the template."""
        try:
            self._client = Elasticsearch(**{k: v for k, v in self._client_options.items()
                                            if v is not None})
        except (ValueError, TypeError) as exc:
            raise SinkConfigError(f"elasticsearch sink: bad connection settings: {exc}") from exc
        self._check_cluster(self._client)
        if self.index_template:
            body = index_template_body(self.index.pattern(), self.index_template_priority,
                                       self.index_settings, self.mappings)
            try:
                self._client.indices.put_index_template(name=self.index_template, **body)
            except ApiError as exc:
                raise SinkConfigError(
                    f"elasticsearch sink: {self.where} refused the index template "
                    f"{self.index_template!r} ({exc.meta.status}): {_api_reason(exc)}; check "
                    f"'index_settings' and 'mappings'") from exc
            except TransportError as exc:
                raise SinkConfigError(
                    f"elasticsearch sink: cannot reach {self.where} to create the index "
                    f"template: {_transport_reason(exc)}") from exc

    def _check_cluster(self, client: Elasticsearch) -> None:
        try:
            info = client.info()
        except elasticsearch.AuthenticationException as exc:
            raise SinkConfigError(
                f"elasticsearch sink: {self.where} rejected the credentials (401): "
                f"{_api_reason(exc)}; check 'api_key' or 'basic_auth'") from exc
        except elasticsearch.AuthorizationException as exc:
            # Authenticated but without the monitor privilege: a least-privilege key that may
            # only write documents. Writing will tell whether that is enough.
            log.warning("elasticsearch sink: %s accepted the credentials but may not read "
                        "cluster info (%s); continuing", self.where, _api_reason(exc))
            return
        except elasticsearch.UnsupportedProductError as exc:
            raise SinkConfigError(
                f"elasticsearch sink: {self.where} is not an Elasticsearch cluster: "
                f"{exc}") from exc
        except ApiError as exc:
            reason = _api_reason(exc)
            hint = ""
            if "media_type_header_exception" in reason or "compatible-with" in reason:
                hint = (f"; the elasticsearch client {elasticsearch.__versionstr__} speaks only "
                        f"to a cluster of its own major version or newer: "
                        f"pip install 'telemetry-sink-elasticsearch[es8]' for an 8.x cluster")
            raise SinkConfigError(
                f"elasticsearch sink: {self.where} answered {exc.meta.status}: {reason}"
                f"{hint}") from exc
        except TransportError as exc:
            raise SinkConfigError(
                f"elasticsearch sink: cannot reach {self.where}: {_transport_reason(exc)}; "
                f"check 'hosts' (or 'cloud_id') and that the cluster is running; TLS: "
                f"'ca_certs', 'verify_certs'") from exc
        version = str(info.get("version", {}).get("number", "?"))
        log.info("elasticsearch sink: connected to %s (Elasticsearch %s)", self.where, version)

    # -- writing ----------------------------------------------------------------------

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Bulk-create ``events``; see the class docstring for the outcome of each one.

        A batch larger than ``max_bulk_bytes`` goes in several requests. When a later request
        fails as a whole, the earlier ones' outcomes stand: a transient failure puts that
        request's and the remaining events up for retry, a permanent one rejects that
        request's events with the reason. If the first request fails transiently, nothing
        happened and ``TransientSinkError`` is raised, as for a single request.
        """
        if self._client is None:
            self.open()
        retry: list[SinkEvent] = []
        rejected: list[tuple[SinkEvent, str]] = []
        todo = deque(self._bodies(events, rejected))
        answered = False
        while todo:
            chunk, body = todo.popleft()
            try:
                self._send(chunk, body, retry, rejected)
            except _TooLarge as exc:
                if len(chunk) == 1:
                    rejected.append((chunk[0], str(exc)))
                else:  # the cluster's body limit is lower than ours: halve until it fits
                    half = len(chunk) // 2
                    todo.extendleft(reversed(self._bodies(chunk[:half], rejected)
                                             + self._bodies(chunk[half:], rejected)))
                continue
            except TransientSinkError:
                if not answered:
                    raise
                retry += chunk
                retry += [event for later, _ in todo for event in later]
                break
            except PermanentSinkError as exc:
                rejected += [(event, str(exc)) for event in chunk]
            answered = True
        return WriteResult(retry=retry, rejected=rejected) if retry or rejected else None

    def _bodies(self, events: Sequence[SinkEvent], rejected: list[tuple[SinkEvent, str]]
                ) -> list[tuple[list[SinkEvent], bytes]]:
        """Bulk bodies of at most ``max_bulk_bytes`` (one oversized event goes alone).

        An event no index name can be made for is added to ``rejected``.
        """
        namer = self.index
        out: list[tuple[list[SinkEvent], bytes]] = []
        chunk: list[SinkEvent] = []
        parts: list[bytes] = []
        size = 0
        heads: dict[str, bytes] = {}  # index name -> the action line up to the id
        for event in events:
            try:
                name = namer(event)
            except ValueError as exc:
                rejected.append((event, f"no index name: {exc}"))
                continue
            head = heads.get(name)
            if head is None:
                head = heads[name] = b'{"create":{"_index":"' + name.encode() + b'"'
            # Without an id (an event from plain logging) Elasticsearch picks one.
            action = (head + b',"_id":' + orjson.dumps(event.event_id) + b"}}\n"
                      if event.event_id else head + b"}}\n")
            line_size = len(action) + len(event.line)
            if parts and size + line_size > self.max_bulk_bytes:
                out.append((chunk, b"".join(parts)))
                chunk, parts, size = [], [], 0
            chunk.append(event)
            parts += (action, event.line)
            size += line_size
        if parts:
            out.append((chunk, b"".join(parts)))
        return out

    def _send(self, chunk: Sequence[SinkEvent], body: bytes, retry: list[SinkEvent],
              rejected: list[tuple[SinkEvent, str]]) -> None:
        """One bulk request; per-item outcomes go to ``retry`` and ``rejected``."""
        assert self._client is not None
        self.context.count("bulk_requests")
        try:
            response = self._client.bulk(operations=body,  # type: ignore[arg-type]
                                         filter_path=_FILTER_PATH)
        except ApiError as exc:
            status = exc.meta.status
            reason = f"{status} {_api_reason(exc)}"
            if status == 413:
                raise _TooLarge(reason) from exc
            if status in (401, 403, 408, 429) or status >= 500:
                # Throttled, down, or credentials revoked: an operator can fix it; keep events.
                raise TransientSinkError(f"{self.where}: bulk request failed: {reason}") from exc
            raise PermanentSinkError(f"{self.where}: bulk request rejected: {reason}") from exc
        except TransportError as exc:
            raise TransientSinkError(f"{self.where}: {_transport_reason(exc)}") from exc
        if not response.get("errors"):
            return
        items = response.get("items") or []
        if len(items) != len(chunk):
            raise TransientSinkError(
                f"{self.where}: bulk response has {len(items)} items for {len(chunk)} documents")
        for event, item in zip(chunk, items, strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 0))
            if status < 300:
                continue
            if status == 409:
                self.context.count("already_indexed")
            elif status == 429 or status >= 500:
                retry.append(event)
            else:
                rejected.append((event, f"{status} {_reason(result.get('error'))}"))

    def close(self) -> None:
        """Close the client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

