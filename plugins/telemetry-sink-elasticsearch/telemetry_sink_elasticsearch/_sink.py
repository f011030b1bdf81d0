"""ElasticsearchSink: bulk-indexes each batch, idempotently, with per-document outcomes."""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Sequence
from typing import Any

import elasticsearch
import orjson
from elasticsearch import ApiError, Elasticsearch, TransportError

from telemetry_core.sinks import (
    Option,
    PermanentSinkError,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    TransientSinkError,
    WriteResult,
)

from ._index import IndexNamer, index_template_body

log = logging.getLogger("telemetry_sink_elasticsearch")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.]+")

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
    options = (
        Option("hosts", "any", None, "URL or list of URLs of the cluster's nodes (default "
               "http://127.0.0.1:9200)", nullable=True),
        Option("cloud_id", "str", None, "Elastic Cloud deployment id, instead of hosts",
               nullable=True),
        Option("index", "str", "telemetry-{schema_name}-{date}", "index name template (the "
               "framework's variables)"),
        Option("api_key", "any", None, "API key: the encoded string, or [id, secret]",
               nullable=True),
        Option("basic_auth", "list", None, "[username, password]", nullable=True),
        Option("ca_certs", "str", None, "path of a CA bundle to verify the cluster's TLS "
               "certificate", nullable=True),
        Option("verify_certs", "bool", True, "verify TLS certificates"),
        Option("request_timeout", "float", 10.0, "seconds one request may take",
               minimum=0.001),
        Option("max_retries", "int", 0, "the client's own retries of one request on another "
               "node (the sink framework retries batches)", minimum=0),
        Option("http_compress", "bool", False, "gzip request bodies"),
        Option("max_bulk_bytes", "int", 10_000_000, "bound on one bulk request body; larger "
               "batches are split", minimum=1),
        Option("index_template", "str", None, "name of a composable index template to create "
               "at start-up", nullable=True),
        Option("index_template_priority", "int", 200, "priority of that template"),
        Option("index_settings", "dict", None, "index settings for the template, e.g. "
               "{\"number_of_shards\": 1}", nullable=True),
        Option("mappings", "dict", None, "extra field mappings for the template",
               nullable=True),
    )
    batch_size = 500
    batch_age = 1.0

    def __init__(self, context: SinkContext, *, hosts: str | Sequence[str] | None,
                 cloud_id: str | None, index: str, api_key: str | Sequence[str] | None,
                 basic_auth: Sequence[str] | None, ca_certs: str | None, verify_certs: bool,
                 request_timeout: float, max_retries: int, http_compress: bool,
                 max_bulk_bytes: int, index_template: str | None,
                 index_template_priority: int, index_settings: dict[str, Any] | None,
                 mappings: dict[str, Any] | None) -> None:
        super().__init__(context)
        if hosts is None and cloud_id is None:
            hosts = ["http://127.0.0.1:9200"]
        if isinstance(hosts, str):
            hosts = [hosts]
        if basic_auth is not None and (isinstance(basic_auth, str) or len(basic_auth) != 2):
            raise SinkConfigError(
                "elasticsearch sink: 'basic_auth' must be [username, password]")
        if api_key is not None and basic_auth is not None:
            raise SinkConfigError(
                "elasticsearch sink: give either 'api_key' or 'basic_auth', not both")
        if ca_certs is not None and not os.path.isfile(ca_certs):
            raise SinkConfigError(
                f"elasticsearch sink: 'ca_certs' {ca_certs!r} is not a file; give the path of "
                f"the PEM bundle of the CA that signed the cluster's certificate")
        self.hosts = list(hosts) if hosts is not None else None
        self.cloud_id = cloud_id
        self.index = IndexNamer(index)
        self.max_bulk_bytes = max_bulk_bytes
        self.index_template = index_template
        self.index_template_priority = index_template_priority
        self.index_settings = index_settings
        self.mappings = mappings
        self._client_options: dict[str, Any] = {
            "hosts": self.hosts, "cloud_id": cloud_id,
            "api_key": tuple(api_key) if isinstance(api_key, (list, tuple)) else api_key,
            "basic_auth": tuple(basic_auth) if basic_auth is not None else None,
            "ca_certs": ca_certs, "verify_certs": verify_certs,
            "request_timeout": request_timeout, "max_retries": max_retries,
            "retry_on_timeout": max_retries > 0, "http_compress": http_compress,
        }
        self._client: Elasticsearch | None = None

    def default_name(self) -> str:
        """From the index template: two sinks writing different indices get their own spools
        (two sinks with the same template, say to two clusters, need a ``name`` each)."""
        return _SAFE_NAME.sub("-", self.index.template).strip("-")[:100] or "default"

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

