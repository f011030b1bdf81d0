"""Prometheus metrics of one REST API: events by outcome, rejected requests, latency,
and every sink's counters (read from ``stats()`` when scraped).

Each Service has its own registry, so two servers in one process (tests) never share
counters. Per-process: with several collector processes, scrape each (see the docs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from .._eventlog import EventLog

# What a sink's stats() holds besides its event counters.
_SINK_GAUGES = frozenset({"queue_depth", "queue_bytes", "spooling", "spool_bytes",
                          "spool_corrupt_lines", "dead_letter_rotations"})
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0, 10.0, 30.0)


class _SinkCollector:
    """Each sink's counters and gauges, as they are when Prometheus scrapes."""

    def __init__(self, eventlog: EventLog) -> None:
        self.eventlog = eventlog

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "telemetry_sink_events", "Events by sink and what happened to them "
            "(accepted, delivered, retried, spooled, replayed, dead_lettered, dropped)",
            labels=["sink", "counter"])
        depth = GaugeMetricFamily("telemetry_sink_queue_depth", "Events queued in memory",
                                  labels=["sink"])
        spool = GaugeMetricFamily("telemetry_sink_spool_bytes", "Bytes waiting in the spool",
                                  labels=["sink"])
        for sink in self.eventlog.sink_handlers:
            stats = sink.stats()
            for name, value in stats.items():
                if name not in _SINK_GAUGES:
                    events.add_metric([sink.label, name], value)
            depth.add_metric([sink.label], stats.get("queue_depth", 0))
            spool.add_metric([sink.label], stats.get("spool_bytes", 0))
        yield from (events, depth, spool)


class Metrics:
    """The counters the handlers and the Service update."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, eventlog: EventLog) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self.received = Counter("telemetry_rest_events_received",
                                "Events received in well-formed POST events requests",
                                registry=registry)
        self.recorded = Counter("telemetry_rest_events_recorded", "Events recorded",
                                registry=registry)
        self.duplicate = Counter("telemetry_rest_events_duplicate",
                                 "Events not recorded again: their id was seen lately",
                                 registry=registry)
        self.not_recorded = Counter("telemetry_rest_events_not_recorded",
                                    "Events not recorded, by reason (not_allowed, no_consent)",
                                    ["reason"], registry=registry)
        self.invalid = Counter("telemetry_rest_events_invalid",
                               "Invalid events, by the rule they broke", ["rule"],
                               registry=registry)
        self.rejected = Counter("telemetry_rest_requests_rejected",
                                "Requests refused as a whole, by status and error code",
                                ["status", "code"], registry=registry)
        self.latency = Histogram("telemetry_rest_request_duration_seconds",
                                 "Time from a request's start to its answer, by endpoint",
                                 ["endpoint"], buckets=_LATENCY_BUCKETS, registry=registry)
        registry.register(_SinkCollector(eventlog))  # type: ignore[arg-type]
        self._latency_by_endpoint: dict[str, Any] = {}

    def observe_latency(self, endpoint: str, seconds: float) -> None:
        """Count one answered request of ``endpoint`` in the latency histogram."""
        child = self._latency_by_endpoint.get(endpoint)
        if child is None:
            child = self._latency_by_endpoint[endpoint] = self.latency.labels(endpoint)
        child.observe(seconds)

    def count_events(self, received: int, counts: Mapping[str, int],
                     not_recorded: Mapping[str, int], invalid: Mapping[str, int]) -> None:
        """Count one request's events (once per request, not per event)."""
        self.received.inc(received)
        if counts["recorded"]:
            self.recorded.inc(counts["recorded"])
        if counts["duplicate"]:
            self.duplicate.inc(counts["duplicate"])
        for reason, n in not_recorded.items():
            self.not_recorded.labels(reason).inc(n)
        for rule, n in invalid.items():
            self.invalid.labels(rule).inc(n)

    def render(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
