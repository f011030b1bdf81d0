"""KafkaSink: delivers batches of events with librdkafka's idempotent producer.

Each event becomes one message: key = event id (so consumers can deduplicate the
replays that at-least-once delivery allows), headers = schema id and version, value =
the event's JSON bytes exactly as the core serialised them. An event counts as
delivered only once the broker acknowledged it; everything else goes back to the
framework (retry, spool) or, for errors that no retry can fix, to the dead-letter file.

Batches go to librdkafka through the C batch producer (_rdkafka.c, loaded by
_native.py), which releases the interpreter lock, or else through confluent-kafka's
Producer.produce(); write_batch sorts the outcomes of both the same way.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from confluent_kafka import KafkaError, KafkaException, Producer

from telemetry_core.sinks import SinkConfigError, SinkEvent, SinkHandler, WriteResult

from ._native import rdkafka
from ._topics import check_template, is_template, topic_for

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

_BASE_OPTIONS = frozenset(
    name for name, p in inspect.signature(SinkHandler.__init__).parameters.items()
    if name != "self" and p.kind is p.KEYWORD_ONLY)

_MAX_ROUTES = 4096  # bound of the (schema, version) -> (topic, headers) cache

# produce() is called with positional arguments only: (topic, value, key, partition,
# callback, on_delivery, timestamp, headers), the order of its C argument list in
# confluent-kafka 2.x. Keyword arguments cost it ~0.5 us per message (a quarter of the
# call), since CPython 3.11 looks each keyword name up as a new string. -1 = the
# partitioner picks; None = the producer's on_delivery; 0 = now. The delivery tests
# consume the headers back, so a change of that order would fail them.
_ANY_PARTITION = -1

# Producers inherited from a parent process: destroying one in a forked child can hang
# (its librdkafka threads do not exist there), so they are kept, unused, until exit.
_inherited: list[Any] = []

# librdkafka's syslog levels as logging levels.
_LOG_LEVELS = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL,
               3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO, 6: logging.INFO,
               7: logging.DEBUG}

Headers = list[tuple[str, "str | bytes | None"]]
# topic, headers as confluent-kafka's produce() takes them, and as _rdkafka's (a tuple)
Route = tuple[str, Headers, tuple[tuple[str, bytes], ...]]


#: Counters this sink adds to the framework's (``stats()``).
KAFKA_COUNTERS = ("kafka_delivery_errors", "kafka_producer_restarts", "kafka_topics_created")


def _number(name: str, value: Any, kind: type[int] | type[float], expected: str) -> Any:
    """``value`` as ``kind``, or a SinkConfigError naming the option and what it expects."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not (
            number > 0 or (expected.startswith("-1") and number == -1)):
        raise SinkConfigError(f"kafka sink: {name!r} must be a number {expected}, got {value!r}")
    return number


def _error_of(exc: KafkaException) -> KafkaError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


class KafkaSink(SinkHandler):
    """Produces each event as one Kafka message (key = event id), at-least-once.

    Configuration: ``{"type": "kafka", "bootstrap.servers": "host:9092", "topic":
    "jupyter.{schema_name}"}``; every other key that is not a sink option below or a
    framework option (``batch_size``, ...) is passed to librdkafka as a producer setting.
    """

    sink_type: ClassVar[str] = "kafka"
    options: ClassVar[dict[str, str]] = {
        "bootstrap.servers": "host:port[,host:port...] of the Kafka brokers (required)",
        "topic": "topic name, or a template such as 'jupyter.{schema_name}' "
                 "(variables: schema_name, schema_path, schema, version) (required)",
        "create_topics": "create missing topics through the admin client (default false)",
        "topic_partitions": "partitions of topics the sink creates (default: broker's)",
        "topic_replication": "replication factor of topics the sink creates (default: broker's)",
        "topic_config": "topic-level settings for topics the sink creates, e.g. retention.ms",
        "connect_timeout": "seconds to reach the brokers at start-up (default 10)",
        "native_producer": "produce batches in C with the interpreter lock released, where "
                           "that is built (default true; see telemetry_sink_kafka._native)",
        "<librdkafka setting>": "any producer setting, e.g. 'linger.ms', 'sasl.mechanism'; "
                                "defaults: enable.idempotence=true, acks=all, "
                                "compression.type=lz4, message.timeout.ms=15000",
    }
    # Each batch waits for its acknowledgements before the next is taken; 8,000 was the
    # fastest of 2,500-40,000 in bench_kafka (larger ones stay in the cache less).
    default_batch_size: ClassVar[int] = 8000
    default_batch_age: ClassVar[float] = 0.5

    def __init__(
        self,
        *,
        topic: str | None = None,
        create_topics: bool = False,
        topic_partitions: int = -1,
        topic_replication: int = -1,
        topic_config: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        native_producer: bool = True,
        **settings: Any,
    ) -> None:
        base_options = {k: settings.pop(k) for k in list(settings) if k in _BASE_OPTIONS}
        super().__init__(**base_options)
        if not settings.get("bootstrap.servers"):
            raise SinkConfigError(
                "kafka sink: 'bootstrap.servers' is required: the brokers to connect to, "
                "as 'host:port[,host:port...]'")
        for name in _OWN_SETTINGS:
            if name in settings:
                raise SinkConfigError(f"kafka sink: {name!r} is set by the sink itself and "
                                      "cannot be configured")
        if "transactional.id" in settings:
            raise SinkConfigError(
                "kafka sink: 'transactional.id' is not supported: the sink does not use "
                "transactions (the idempotent producer already keeps order and avoids "
                "duplicates from its own retries); remove the setting")
        self.topic = check_template(topic)
        self._templated = is_template(self.topic)
        self.create_topics = bool(create_topics)
        self.topic_partitions = _number("topic_partitions", topic_partitions, int, "-1 or >= 1")
        self.topic_replication = _number("topic_replication", topic_replication, int,
                                         "-1 or >= 1")
        self.connect_timeout = _number("connect_timeout", connect_timeout, float, "> 0")
        if not isinstance(topic_config, (Mapping, type(None))):
            raise SinkConfigError(f"kafka sink: 'topic_config' must be a mapping of topic "
                                  f"settings, e.g. {{'retention.ms': '86400000'}}, got "
                                  f"{topic_config!r}")
        self.topic_config = {str(k): str(v) for k, v in (topic_config or {}).items()}
        self.user_settings: dict[str, Any] = settings
        defaults = {k: v for k, v in SAFE_DEFAULTS.items()
                    if not any(a in settings for a in _ALIASES.get(k, ()))}
        self.producer_config: dict[str, Any] = {**defaults, **settings}
        timeout_ms = self.producer_config.get(
            "message.timeout.ms", self.producer_config.get("delivery.timeout.ms"))
        # Every message gets its report within message.timeout.ms; wait a little longer.
        self.flush_timeout = _number("message.timeout.ms", timeout_ms, float, "> 0") / 1000 + 5
        for name in KAFKA_COUNTERS:
            self.counters[name] = 0
        #: Whether batches go through the C producer (_rdkafka.c) rather than
        #: confluent-kafka's produce(): where it is built, asked for, and every setting
        #: is a plain value (a Python callback such as oauth_cb needs confluent-kafka).
        self.native = bool(native_producer) and rdkafka is not None and all(
            isinstance(v, (str, int, float, bool)) for v in self.producer_config.values())
        self._producer: Any = None  # a confluent_kafka.Producer, or an _rdkafka.Producer
        self._producer_pid = 0
        self._routes: dict[tuple[str, str], Route] = {}
        self._known_topics: set[str] = set()
        self._errors: list[tuple[KafkaError, bytes | None]] = []
        self._fatal: KafkaError | None = None
        self._last_down_warning = -float("inf")

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
            self._ensure_topic(self.topic, at_start=True)
        elif not self._templated and self.topic not in topics:
            log.warning("kafka sink: topic %r does not exist yet; the brokers create it on "
                        "first use only if auto.create.topics.enable is on (else set "
                        "create_topics, or create it)", self.topic)

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Produce ``events``, wait (bounded) for the broker's acknowledgements, sort outcomes."""
        producer = self._producer or self._restart_producer()
        deadline = time.monotonic() + self.flush_timeout
        retry: list[SinkEvent] = []
        rejected: list[tuple[SinkEvent, str]] = []
        produce = self._produce_runs if self.native else self._produce_each
        produced, remaining = produce(producer, events, deadline, retry, rejected)
        if remaining is None:  # not flushed yet: wait for the acknowledgements
            remaining = producer.flush(max(0.0, deadline - time.monotonic()))
        failed = self._failed(producer, events, produced)
        if self.native:
            self._take_reports(producer)
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

    def close_sink(self) -> None:
        """Flush what librdkafka still holds (bounded) and drop the producer."""
        if self._producer is not None and self._producer_pid == os.getpid():
            # write_batch leaves nothing behind; this only bounds an unexpected leftover.
            self._producer.flush(min(self.flush_timeout, 5.0))
            if self.native:
                self._take_reports(self._producer)
        self._producer = None

    # -- producing: two ways, one outcome --------------------------------------------
    #
    # Each returns the events it handed to librdkafka, and how many of them are still
    # unacknowledged if it flushed already (else None); it files the others under retry
    # or rejected. Delivery failures are sorted after the flush (_failed, _sort_failures).

    def _produce_each(self, producer: Producer, events: Sequence[SinkEvent], deadline: float,
                      retry: list[SinkEvent], rejected: list[tuple[SinkEvent, str]],
                      ) -> tuple[list[SinkEvent], int | None]:
        """confluent-kafka's produce() per event, which holds the interpreter lock."""
        self._errors = []
        # The loop runs once per event, so it keeps to the minimum: the route is looked
        # up when the schema changes, and what was produced is worked out afterwards,
        # from the few events that were not (by position), only if anything failed.
        not_produced: set[int] = set()
        end = len(events)
        produce = producer.produce
        routes = self._routes
        schema_id = version = None
        route: Route = ("", [], ())
        topic, headers, _ = route
        for i, event in enumerate(events):
            if event.schema_id is not schema_id or event.version is not version:
                schema_id, version = event.schema_id, event.version
                route = routes.get((schema_id, version)) or self._route(event)
                topic, headers, _ = route
            try:  # no event id (a foreign log record): no key, so any partition
                produce(topic, event.json, event.event_id or None, _ANY_PARTITION, None, None,
                        0, headers)
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
            return [e for i, e in enumerate(events[:end]) if i not in not_produced], None
        return list(events), None

    def _produce_runs(self, producer: Any, events: Sequence[SinkEvent], deadline: float,
                      retry: list[SinkEvent], rejected: list[tuple[SinkEvent, str]],
                      ) -> tuple[list[SinkEvent], int | None]:
        """The C producer, a run of one schema at a time, with the interpreter lock
        released: the application's threads go on recording meanwhile. The last run
        flushes too, before the lock is taken back."""
        batch = events if isinstance(events, list) else list(events)
        producer.begin()
        # The (start, stop) of each run produced. No list of those events is built
        # unless some were not: copying a batch's references touches every event again.
        spans: list[tuple[int, int]] = []
        unacknowledged: int | None = None
        start, end = 0, len(batch)
        while start < end:
            event = batch[start]
            route = (self._routes.get((event.schema_id, event.version))
                     or self._route(event))
            stop, code, reason, left = producer.produce(
                batch, start, route[0], route[2], max(0.0, deadline - time.monotonic()))
            if stop > start:
                spans.append((start, stop))
            if code == 0:
                start = stop
                unacknowledged = left if left >= 0 else None
                continue
            if code == KafkaError._QUEUE_FULL:
                # librdkafka's local queue is full: serve reports until there is room.
                if self._wait_for_room(producer, deadline):
                    start = stop
                    continue
                retry.extend(batch[stop:])
                break
            if not self._refused(batch[stop], KafkaError(code, reason),
                                 f"{KafkaError(code).name()}: {reason}", retry, rejected):
                retry.extend(batch[stop + 1:])
                break
            start = stop + 1
        if spans == [(0, end)]:
            return batch, unacknowledged
        return [e for a, b in spans for e in batch[a:b]], unacknowledged

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
                producer.produce(route[0], event.json, event.event_id or None, _ANY_PARTITION,
                                 None, None, 0, route[1])
                return True
            except BufferError:
                continue
        return False

    def _wait_for_room(self, producer: Any, deadline: float) -> bool:
        """Serve the C producer's reports (up to ``deadline``) until its queue has room."""
        while time.monotonic() < deadline:
            if producer.poll(0.05) or producer.flush(0.0) == 0:
                return True
        return False

    def _failed(self, producer: Any, events: Sequence[SinkEvent],
                produced: list[SinkEvent]) -> list[tuple[KafkaError, list[SinkEvent]]]:
        """The delivery reports that said no, each with the events it is about."""
        if self.native:
            return [(KafkaError(code, reason), [events[position]])
                    for position, code, reason in producer.failures()]
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
        self._warn("kafka-delivery", "kafka sink: %d of %d events not delivered (first "
                   "error: %s: %s)", len(failed), produced, first.name(), first.str())

    def _route(self, event: SinkEvent) -> Route:
        """Topic and headers of a (schema, version), cached; creates the topic if asked."""
        if len(self._routes) >= _MAX_ROUTES:
            self._routes.clear()
        topic = (topic_for(self.topic, event.schema_id, event.version)
                 if self._templated else self.topic)
        if self.create_topics and topic not in self._known_topics:
            self._ensure_topic(topic, at_start=False)
        headers = (("schema_id", event.schema_id.encode()),
                   ("schema_version", event.version.encode()))
        route: Route = (topic, list(headers), headers)
        self._routes[(event.schema_id, event.version)] = route
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

    def _new_producer(self) -> Any:
        if self.native:
            assert rdkafka is not None
            settings = {k: _as_setting(v) for k, v in self.producer_config.items()}
            # Reports of failures only, as on the confluent-kafka path: the C producer
            # waits for a batch until librdkafka holds none of its messages.
            settings["delivery.report.only.error"] = "true"
            try:
                producer: Any = rdkafka.Producer(settings)
            except rdkafka.ConfigError as exc:
                name, reason = exc.args
                raise SinkConfigError(self._explain_bad_settings(reason, name)) from exc
            producer.share_lock_flag(self.lock_wanted)  # see SinkHandler.lock_wanted
        else:
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
        if self.native:
            answer = producer.topics(self.connect_timeout)
            if isinstance(answer, list):
                return set(answer)
            self._take_reports(producer)
            code, reason = answer
            why, cause = f"{KafkaError(code).name()}: {reason}", None
        else:
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
                f"sink's options ({', '.join(k for k in self.options if k[0] != '<')}) go to "
                "librdkafka; see its CONFIGURATION.md for names and values")

    def _bump(self, counter: str, n: int = 1) -> None:
        # get(): a forked child's framework resets the counters to its own names.
        self.counters[counter] = self.counters.get(counter, 0) + n

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

    def _take_reports(self, producer: Any) -> None:
        """The C producer's log lines and error callbacks since the last call, handed on
        as confluent-kafka would (its logger, ``_on_error``)."""
        logs, logs_dropped, errors, errors_dropped = producer.take_reports()
        for level, facility, message in logs:
            librdkafka_log.log(_LOG_LEVELS.get(level, logging.DEBUG), "%s: %s",
                               facility, message)
        if logs_dropped or errors_dropped:
            librdkafka_log.warning("%d log lines and %d error reports of librdkafka were "
                                   "dropped (too many between two batches)",
                                   logs_dropped, errors_dropped)
        for code, reason in errors:
            if code == KafkaError._FATAL:  # the error behind it, as confluent-kafka says
                code, reason = producer.fatal_error() or (code, reason)
                self._on_error(KafkaError(code, reason, fatal=True))
            else:
                self._on_error(KafkaError(code, reason))

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


def _as_setting(value: str | int | float | bool) -> str:
    """A setting's value as librdkafka's text (what confluent-kafka passes it too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe(exc: KafkaException) -> str:
    err = _error_of(exc)
    return f"{err.name()}: {err.str()}" if err is not None else str(exc)
