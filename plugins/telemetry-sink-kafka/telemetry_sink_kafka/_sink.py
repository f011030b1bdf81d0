"""KafkaSink: delivers batches of events with librdkafka's idempotent producer.

Each event becomes one message: key = event id (so consumers can deduplicate the
replays that at-least-once delivery allows), headers = schema id and version, value =
the event's JSON bytes exactly as the core serialised them. An event counts as
delivered only once the broker acknowledged it; everything else goes back to the
framework (retry, spool) or, for errors that no retry can fix, to the dead-letter file.

Messages go through confluent-kafka's public ``Producer.produce`` only, one call per
event. Its ``produce_batch`` would take a list in one call, but it drops headers (the
schema id and version that consumers route on), so the sink does not use it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from telemetry_core.sinks import (
    NameTemplate,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    WriteResult,
    extra_options,
    hour_key,
    option,
)

from ._topics import TIME_VARIABLES, topic_template

log = logging.getLogger("telemetry_sink_kafka")
librdkafka_log = logging.getLogger("telemetry_sink_kafka.librdkafka")

#: Producer settings applied unless configuration overrides them.
SAFE_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,  # no duplicates or reordering from the producer's own retries
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 5,
    # librdkafka gives up on a message after this long and reports it failed; the
    # framework then retries and spools it. It also bounds how long a batch can take.
    "message.timeout.ms": 15000,
}

# Delivery errors no retry can fix: the event goes to the dead-letter file with the reason.
PERMANENT_ERRORS = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD,
    KafkaError.TOPIC_EXCEPTION,  # an illegal topic name
    KafkaError._INVALID_ARG,
})

# After these the producer instance cannot go on (its producer id was fenced or lost,
# e.g. by a broker restart): it is replaced by a new one and the events retried.
FENCING_ERRORS = frozenset({
    KafkaError.PRODUCER_FENCED,
    KafkaError._FENCED,
    KafkaError._FATAL,
    KafkaError.INVALID_PRODUCER_EPOCH,
})

# librdkafka's other names for the defaulted settings: a user who sets an alias
# overrides the default (else both would be passed and one would silently win).
_ALIASES = {
    "acks": ("request.required.acks",),
    "compression.type": ("compression.codec",),
    "linger.ms": ("queue.buffering.max.ms",),
    "message.timeout.ms": ("delivery.timeout.ms",),
}

# Settings the sink needs for its own bookkeeping; configuration cannot change them.
_OWN_SETTINGS = ("on_delivery", "dr_cb", "dr_msg_cb", "error_cb", "logger",
                 "delivery.report.only.error")

# Settings that the admin client (topic creation) shares with the producer.
_ADMIN_PREFIXES = ("bootstrap.servers", "security.", "sasl.", "ssl.", "client.id",
                   "socket.", "broker.address.")

# librdkafka settings without a dot in their name (most have one, e.g. linger.ms).
_PLAIN_SETTINGS = frozenset({"acks", "debug", "retries", "partitioner"})

_MAX_ROUTES = 4096  # bound of the (schema, version) -> (topic, headers) cache

# Producers inherited from a parent process: destroying one in a forked child can hang
# (its librdkafka threads do not exist there), so they are kept, unused, until exit.
_inherited: list[Any] = []

Headers = list[tuple[str, "str | bytes | None"]]
Route = tuple[str, Headers]  # topic, and headers as confluent-kafka's produce() takes them


#: Counters this sink adds to the framework's (``stats()``).
KAFKA_COUNTERS = ("kafka_delivery_errors", "kafka_producer_restarts", "kafka_topics_created")


def _minus_one_or_positive(value: int) -> None:
    if value != -1 and value < 1:
        raise ValueError(f"must be -1 (the broker's default) or >= 1, got {value!r}")


def _error_of(exc: KafkaException) -> KafkaError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


@dataclass(frozen=True)
class KafkaOptions:
    """The Kafka sink's options; other keys that look like librdkafka settings go to
    ``settings``."""

    bootstrap_servers: str = option(None, "host:port[,host:port...] of the Kafka brokers",
                                    key="bootstrap.servers", required=True)
    topic: str = option(None, "topic name, or a template such as 'jupyter.{schema_name}' "
                        "(the framework's variables)", required=True)
    create_topics: bool = option(False, "create missing topics through the admin client")
    topic_partitions: int = option(-1, "partitions of topics the sink creates (-1: the "
                                   "broker's default)", check=_minus_one_or_positive)
    topic_replication: int = option(-1, "replication factor of topics the sink creates (-1: "
                                    "the broker's default)", check=_minus_one_or_positive)
    topic_config: dict[str, Any] | None = option(
        None, "topic-level settings for topics the sink creates, e.g. "
        "{'retention.ms': '86400000'}")
    connect_timeout: float = option(10.0, "seconds to reach the brokers at start-up",
                                    minimum=0.001)
    settings: dict[str, Any] = extra_options("librdkafka producer settings")


class KafkaSink(Sink):
    """Produces each event as one Kafka message (key = event id), at-least-once.

    Configuration: ``{"type": "kafka", "bootstrap.servers": "host:9092", "topic":
    "jupyter.{schema_name}"}``; every other key that is not a sink option below or a
    framework option (``batch_size``, ...) and looks like a librdkafka setting (has a
    dot, or is acks, debug, retries, partitioner) is passed to librdkafka.
    """

    type = "kafka"
    Options = KafkaOptions
    counters = KAFKA_COUNTERS
    # Each batch waits for its acknowledgements before the next is taken; 8,000 was the
    # fastest of 2,500-40,000 in bench_kafka (larger ones stay in the cache less).
    batch_size = 8000
    batch_age = 0.5

    @classmethod
    def accepts_extra(cls, key: str) -> bool:
        """librdkafka producer settings are passed on (checked by librdkafka at open)."""
        return "." in key or key in _PLAIN_SETTINGS or key in _OWN_SETTINGS

    def __init__(self, context: SinkContext, options: KafkaOptions) -> None:
        super().__init__(context)
        settings = {"bootstrap.servers": options.bootstrap_servers, **options.settings}
        for name in _OWN_SETTINGS:
            if name in settings:
                raise SinkConfigError(f"kafka sink: {name!r} is set by the sink itself and "
                                      "cannot be configured")
        if "transactional.id" in settings:
            raise SinkConfigError(
                "kafka sink: 'transactional.id' is not supported: the sink does not use "
                "transactions (the idempotent producer already keeps order and avoids "
                "duplicates from its own retries); remove the setting")
        self.topic: NameTemplate = topic_template(options.topic)
        self._templated = bool(self.topic.fields)
        # A topic named by time ({date}, {hour}, ...) is looked up per event and cached
        # per UTC hour; any other per (schema, version) only.
        self._timed = bool(self.topic.fields & TIME_VARIABLES)
        self.create_topics = options.create_topics
        self.topic_partitions = options.topic_partitions
        self.topic_replication = options.topic_replication
        self.connect_timeout = options.connect_timeout
        self.topic_config = {str(k): str(v) for k, v in (options.topic_config or {}).items()}
        self.user_settings: dict[str, Any] = settings
        defaults = {k: v for k, v in SAFE_DEFAULTS.items()
                    if not any(a in settings for a in _ALIASES.get(k, ()))}
        self.producer_config: dict[str, Any] = {**defaults, **settings}
        timeout_ms = self.producer_config.get(
            "message.timeout.ms", self.producer_config.get("delivery.timeout.ms"))
        try:
            timeout_s = float(timeout_ms) / 1000  # type: ignore[arg-type]
        except (TypeError, ValueError):
            timeout_s = -1
        if timeout_s <= 0:
            raise SinkConfigError(f"kafka sink: 'message.timeout.ms' must be a number > 0, "
                                  f"got {timeout_ms!r}")
        # Every message gets its report within message.timeout.ms; wait a little longer.
        self.flush_timeout = timeout_s + 5
        self._producer: Producer | None = None
        self._producer_pid = 0
        self._routes: dict[tuple[str, str, str], Route] = {}
        self._known_topics: set[str] = set()
        self._errors: list[tuple[KafkaError, bytes | None]] = []
        self._fatal: KafkaError | None = None
        self._last_down_warning = -float("inf")

    def default_name(self) -> str:
        """From the topic template: two sinks writing different topics get their own spools."""
        return self.topic.template

    # -- the plugin contract ---------------------------------------------------------

    def open(self) -> None:
        """Create the producer and check that the brokers answer; SinkConfigError if not.

        Called again in a forked child: the parent's producer is left alone there.
        """
        if self._producer is not None and self._producer_pid != os.getpid():
            _inherited.append(self._producer)
            self._producer = None
        producer = self._new_producer()
        topics = self._list_topics(producer)
        self._known_topics.update(topics)
        self._producer = producer
        if self.create_topics and not self._templated:
            self._ensure_topic(self.topic.template, at_start=True)
        elif not self._templated and self.topic.template not in topics:
            log.warning("kafka sink: topic %r does not exist yet; the brokers create it on "
                        "first use only if auto.create.topics.enable is on (else set "
                        "create_topics, or create it)", self.topic.template)

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Produce ``events``, wait (bounded) for the broker's acknowledgements, sort outcomes."""
        producer = self._producer or self._restart_producer()
        deadline = time.monotonic() + self.flush_timeout
        retry: list[SinkEvent] = []
        rejected: list[tuple[SinkEvent, str]] = []
        produced = self._produce_each(producer, events, deadline, retry, rejected)
        remaining = producer.flush(max(0.0, deadline - time.monotonic()))
        failed = self._failed(produced)
        if remaining:
            # No report in time (should not happen: message.timeout.ms is shorter). Purge
            # so that nothing is sent behind our back, and retry all we cannot vouch for.
            log.warning("kafka sink: %d messages unacknowledged after %.0fs; retrying them",
                        remaining, self.flush_timeout)
            producer.purge()
            producer.flush(1.0)
            retry.extend(produced)
            self._fatal = self._fatal or KafkaError(KafkaError._TIMED_OUT)
        elif failed:
            self._sort_failures(failed, len(produced), retry, rejected)
        if self._fatal is not None:
            self._drop_producer()
        if retry or rejected:
            return WriteResult(retry=retry, rejected=rejected)
        return None

    def close(self) -> None:
        """Flush what librdkafka still holds (bounded) and drop the producer."""
        if self._producer is not None and self._producer_pid == os.getpid():
            # write_batch leaves nothing behind; this only bounds an unexpected leftover.
            self._producer.flush(min(self.flush_timeout, 5.0))
        self._producer = None

    # -- producing -------------------------------------------------------------------

    def _produce_each(self, producer: Producer, events: Sequence[SinkEvent], deadline: float,
                      retry: list[SinkEvent], rejected: list[tuple[SinkEvent, str]],
                      ) -> list[SinkEvent]:
        """Hand each event to librdkafka; return those it took. Events it refused are filed
        under ``retry`` or ``rejected``; delivery failures are sorted after the flush."""
        self._errors = []
        # The loop runs once per event, so it keeps to the minimum: the route is looked
        # up when the schema changes, and what was produced is worked out afterwards,
        # from the few events that were not (by position), only if anything failed.
        not_produced: set[int] = set()
        end = len(events)
        produce = producer.produce
        routes = self._routes
        timed = self._timed
        schema_id = version = None
        route: Route = ("", [])
        topic, headers = route
        for i, event in enumerate(events):
            if timed or event.schema_id is not schema_id or event.version is not version:
                schema_id, version = event.schema_id, event.version
                route = routes.get(self._route_key(event)) or self._route(event)
                topic, headers = route
            try:  # no event id (a foreign log record): no key, so any partition
                # Positional (topic, value, key, partition -1 = any, on_delivery, callback:
                # the producer's, timestamp 0 = now, headers): kept because it pays.
                # produce() parses keywords slowly: 200k calls took 5.5 us each against
                # 7.0 with keywords (confluent-kafka 2.16); bench_kafka.py shows it in
                # its "raw Producer, error-only" rows, keywords and positional.
                produce(topic, event.json, event.event_id or None, -1, None, None, 0, headers)
            except BufferError:
                # librdkafka's local queue is full: serve reports until there is room.
                if not self._produce_when_room(producer, route, event, deadline):
                    retry.extend(events[i:])
                    end = i
                    break
            except KafkaException as exc:
                not_produced.add(i)
                err = _error_of(exc)
                if not self._refused(event, err, _describe(exc), retry, rejected):
                    retry.extend(events[i + 1:])
                    end = i + 1
                    break
        if not_produced or end < len(events):
            return [e for i, e in enumerate(events[:end]) if i not in not_produced]
        return list(events)

    def _refused(self, event: SinkEvent, err: KafkaError | None, why: str,
                 retry: list[SinkEvent], rejected: list[tuple[SinkEvent, str]]) -> bool:
        """File an event that librdkafka refused to queue; False if the producer cannot
        go on (the rest of the batch is then retried)."""
        if err is not None and err.code() in PERMANENT_ERRORS:
            rejected.append((event, why))
            return True
        retry.append(event)
        if err is not None and (err.fatal() or err.code() in FENCING_ERRORS):
            self._fatal = err
            return False
        return True

    def _produce_when_room(self, producer: Producer, route: Route,
                           event: SinkEvent, deadline: float) -> bool:
        while time.monotonic() < deadline:
            producer.poll(0.05)
            try:
                producer.produce(route[0], value=event.json, key=event.event_id or None,
                                 headers=route[1])
                return True
            except BufferError:
                continue
        return False

    def _failed(self, produced: list[SinkEvent]) -> list[tuple[KafkaError, list[SinkEvent]]]:
        """The delivery reports that said no, each with the events it is about."""
        if not self._errors:
            return []
        # confluent-kafka's reports carry the message, whose key is the event id.
        by_key: dict[bytes, list[SinkEvent]] = {}
        for event in produced:
            by_key.setdefault(event.event_id.encode(), []).append(event)
        return [(err, by_key.pop(key or b"", [])) for err, key in self._errors]

    def _sort_failures(self, failed: list[tuple[KafkaError, list[SinkEvent]]], produced: int,
                       retry: list[SinkEvent], rejected: list[tuple[SinkEvent, str]]) -> None:
        """Turn the batch's failed deliveries into retry/rejected lists."""
        self._bump("kafka_delivery_errors", len(failed))
        for err, failed_events in failed:
            for event in failed_events:
                if err.code() in PERMANENT_ERRORS:
                    rejected.append((event, f"{err.name()}: {err.str()}"))
                else:
                    retry.append(event)
            if err.fatal() or err.code() in FENCING_ERRORS:
                self._fatal = err
        first = failed[0][0]
        self.context.warn("kafka-delivery", "kafka sink: %d of %d events not delivered (first "
                   "error: %s: %s)", len(failed), produced, first.name(), first.str())

    def _route_key(self, event: SinkEvent) -> tuple[str, str, str]:
        return (event.schema_id, event.version,
                hour_key(event.timestamp) if self._timed else "")

    def _route(self, event: SinkEvent) -> Route:
        """Topic and headers of a (schema, version), cached; creates the topic if asked."""
        if len(self._routes) >= _MAX_ROUTES:
            self._routes.clear()
        topic = self.topic.render(event) if self._templated else self.topic.template
        if self.create_topics and topic not in self._known_topics:
            self._ensure_topic(topic, at_start=False)
        route: Route = (topic, [("schema_id", event.schema_id.encode()),
                                ("schema_version", event.version.encode())])
        self._routes[self._route_key(event)] = route
        return route

    def _ensure_topic(self, topic: str, *, at_start: bool) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin_config = {k: v for k, v in self.user_settings.items()
                        if k.startswith(_ADMIN_PREFIXES)}
        admin = AdminClient({**admin_config, "logger": librdkafka_log})  # type: ignore[dict-item]
        new = NewTopic(topic, num_partitions=self.topic_partitions,
                       replication_factor=self.topic_replication, config=self.topic_config)
        try:
            admin.create_topics([new], request_timeout=self.connect_timeout)[topic].result(
                timeout=self.connect_timeout)
            self._bump("kafka_topics_created")
            log.info("kafka sink: created topic %r", topic)
        except KafkaException as exc:
            err = _error_of(exc)
            if err is None or err.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                message = (f"kafka sink: cannot create topic {topic!r} (partitions="
                           f"{self.topic_partitions}, replication={self.topic_replication}, "
                           f"config={self.topic_config}): {_describe(exc)}")
                if at_start:
                    raise SinkConfigError(message + "; check topic_partitions, "
                                          "topic_replication and topic_config") from exc
                # Producing may still work (the broker may auto-create): log, do not retry.
                log.error("%s", message)
        self._known_topics.add(topic)

    def _new_producer(self) -> Producer:
        # Reports of failures only: a batch is done when librdkafka holds none of it.
        config = {**self.producer_config, "delivery.report.only.error": True,
                  "on_delivery": self._on_delivery, "error_cb": self._on_error,
                  "logger": librdkafka_log}
        try:
            producer = Producer(config)
        except KafkaException as exc:
            raise SinkConfigError(self._explain_bad_settings(_describe(exc))) from exc
        self._producer_pid = os.getpid()
        return producer

    def _list_topics(self, producer: Any) -> set[str]:
        """The cluster's topics; SinkConfigError if it does not answer in time."""
        try:
            return set(producer.list_topics(timeout=self.connect_timeout).topics)
        except KafkaException as exc:
            why, cause = _describe(exc), exc
        raise SinkConfigError(
            f"kafka sink: cannot reach the brokers at bootstrap.servers="
            f"{self.user_settings['bootstrap.servers']!r} within {self.connect_timeout:g}s "
            f"({why}); check the address and that the brokers are running, or "
            "raise 'connect_timeout'") from cause

    def _explain_bad_settings(self, reason: str, name: str = "") -> str:
        """Name the setting(s) librdkafka rejected: its message may use an alias's name,
        or none (settings that conflict), so each is tried alone where it does not say."""
        if name in self.user_settings:
            culprits = [f"{name}={self.user_settings[name]!r} ({reason})"]
        else:
            culprits = []
            for key, value in self.user_settings.items():
                try:
                    Producer({"logger": librdkafka_log, key: value})
                except KafkaException as one:
                    culprits.append(f"{key}={value!r} ({_describe(one)})")
        where = "; ".join(culprits) or reason
        return (f"kafka sink: invalid producer setting: {where}. Settings other than the "
                f"sink's options ({', '.join(o.name for o in self.declared_options())}) go to "
                "librdkafka; see its CONFIGURATION.md for names and values")

    def _bump(self, counter: str, n: int = 1) -> None:
        self.context.count(counter, n)

    def _restart_producer(self) -> Any:
        self._bump("kafka_producer_restarts")
        self._fatal = None
        self._producer = self._new_producer()
        return self._producer

    def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        log.warning("kafka sink: producer cannot continue (%s); starting a new one",
                    self._fatal.str() if self._fatal else "unknown")
        if producer is not None:
            producer.purge()  # queued and in-flight messages, waiting until done
            producer.flush(1.0)

    # confluent-kafka calls these from poll()/flush(), i.e. on the worker thread.

    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self._errors.append((err, msg.key()))

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
            log.error("kafka sink: fatal producer error: %s", err.str())
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            now = time.monotonic()
            if now - self._last_down_warning > 30:
                self._last_down_warning = now
                log.warning("kafka sink: all brokers are down (%s); events wait in the "
                            "queue and spool", err.str())


def _describe(exc: KafkaException) -> str:
    err = _error_of(exc)
    return f"{err.name()}: {err.str()}" if err is not None else str(exc)
