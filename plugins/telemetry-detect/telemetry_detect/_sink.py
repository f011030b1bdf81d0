"""The ``detect`` sink: evaluates Sigma rules over each batch and records alerts.

It runs on the sink framework like any sink (bounded queue, batching, never blocking
the application, spool and replay after a restart), so detection sees exactly what the
policy recorded. A match becomes an event of the ``detect/alert`` schema, recorded
through the EventLog the sink belongs to, so it reaches every other sink. Events of the
alert schema itself are never evaluated: a rule on alerts cannot feed on its own output.

For a schema with ``inspect_before_redaction`` the rules see the event before redaction
(``SinkEvent.inspected``); the alert's user is then the user as recorded (null or a
hash where the policy redacts it), never the inspected one. An event that waited in the
spool has lost its inspected copy (the spool holds only what is recorded): it is
evaluated as recorded, and counted in ``detect_not_inspected``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from telemetry_core.sinks import (
    Option,
    PermanentSinkError,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
)

from ._alerts import ALERT_SCHEMA, ALERT_VERSION, alerts
from ._compile import RuleError, rule_files, shipped_pack
from ._novelty import NOVELTY_OPTIONS, novelty_config
from ._owner import owner_of
from ._webhook import Webhook, check_url


class DetectSink(Sink):
    """Sigma rules over recorded events; matches become ``detect/alert`` events."""

    type = "detect"
    inspects_before_redaction = True  # evaluates and forgets; stores nothing of an event
    # One DuckDB query a batch, whose fixed cost (~15 ms: planning, and state for each of
    # the rules' expressions) is paid per batch: 10000 events a batch when events queue
    # up; batch_age bounds the wait (the alert latency) when they do not.
    batch_size = 10000
    batch_age = 0.2
    counters = ("detect_events", "detect_matches", "detect_alerts", "detect_not_inspected",
                "detect_alerts_not_recorded", "detect_webhook_sent", "detect_webhook_dropped",
                "detect_webhook_failed", "detect_novelty_evicted")
    options = (
        Option("rules", "list", [], "rule files or directories, in addition to the pack"),
        Option("pack", "bool", True, "evaluate the shipped rule pack too"),
        Option("webhook_url", "str", None, "POST each recorded alert here as JSON (Slack/"
               "Teams style); none by default", nullable=True, check=check_url),
        Option("webhook_queue", "int", 1000, "alerts waiting for the webhook at most; more "
               "are dropped and counted", minimum=1),
        Option("webhook_timeout", "float", 5.0, "seconds one POST may take", minimum=0.1),
        Option("webhook_attempts", "int", 3, "POSTs of one alert before it counts as failed",
               minimum=1),
        *NOVELTY_OPTIONS,
    )

    def __init__(self, context: SinkContext, *, rules: list[str], pack: bool,
                 webhook_url: str | None, webhook_queue: int, webhook_timeout: float,
                 webhook_attempts: int, **novelty: Any) -> None:
        super().__init__(context)
        self._webhook_options = (webhook_url, webhook_queue, webhook_timeout,
                                 webhook_attempts)
        self._webhook: Webhook | None = None
        self.rule_paths = [Path(p) for p in rules] + ([shipped_pack()] if pack else [])
        if not self.rule_paths:
            raise SinkConfigError("detect sink: no rules: give 'rules' or leave 'pack' on")
        self._detector: Any = None
        self._novelty_options = novelty

    def default_name(self) -> str:
        return "default"

    def open(self) -> None:
        try:
            rule_files(self.rule_paths)  # fail at start-up for a missing path
        except RuleError as exc:
            raise SinkConfigError(f"detect sink: {exc}") from None
        try:  # fail at start-up for a state dir we cannot use; the file comes when needed
            Path(self._novelty().path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise SinkConfigError(f"detect sink: state_dir: {exc}") from None
        url, max_queue, timeout, attempts = self._webhook_options
        if url and self._webhook is None:
            self._webhook = Webhook(url, self.context.count, max_queue, timeout, attempts)

    def _ready(self) -> Any:
        """The detector, compiled against the owner's schemas on first use (the owning
        EventLog is still being built when the sink opens)."""
        if self._detector is None:
            from ._detector import Detector

            try:
                self._detector = Detector(self.rule_paths, owner_of(self.context.label),
                                          self._novelty())
            except RuleError as exc:
                raise PermanentSinkError(f"detect sink: {exc}") from None
        return self._detector

    def _novelty(self) -> Any:
        def evicted(n: int) -> None:
            self.context.count("detect_novelty_evicted", n)

        return novelty_config(self.context.name, on_evict=evicted, **self._novelty_options)

    def write_batch(self, events: Sequence[SinkEvent]) -> None:
        wanted = [e for e in events if e.schema_id != ALERT_SCHEMA]
        self.context.count("detect_events", len(wanted))
        if not wanted:
            return None
        detector = self._ready()
        owner = owner_of(self.context.label)
        self._count_not_inspected(owner, wanted)
        try:
            found = detector.match_json([e.json if e.inspected is None else e.inspected
                                         for e in wanted])
        except Exception as exc:  # its message may quote a value (a failed cast)
            raise PermanentSinkError(f"detect sink: evaluating the rules failed "
                                     f"({type(exc).__name__})") from None
        as_recorded = {e.event_id: e.json for e in wanted if e.inspected is not None}
        if as_recorded:
            found = [_as_recorded(m, as_recorded[m.event_id]) if m.event_id in as_recorded
                     else m for m in found]
        matches = detector.evaluate(found)
        if not matches:
            return None
        self.context.count("detect_matches", len(matches))
        for event_id, data in alerts(matches):
            recorded = None
            if owner is not None:
                recorded = owner.record_event(ALERT_SCHEMA, ALERT_VERSION, data,
                                              event_id=event_id)
            if recorded is None:
                self.context.count("detect_alerts_not_recorded")
                self.context.warn("not-recorded", "%s: an alert was not recorded (is %s in "
                                  "allowed_schemas?)", self.context.label, ALERT_SCHEMA)
            else:
                self.context.count("detect_alerts")
                if self._webhook is not None:
                    self._webhook.send(recorded)  # as recorded: what the policy allows
        return None

    def _count_not_inspected(self, owner: Any, events: Sequence[SinkEvent]) -> None:
        """Count events of inspected schemas that arrive as recorded (from the spool)."""
        if owner is None:
            return
        lost = sum(1 for e in events if e.inspected is None and owner.inspects(e.schema_id))
        if lost:
            self.context.count("detect_not_inspected", lost)
            self.context.warn("not-inspected", "%s: events of schemas with "
                              "inspect_before_redaction were evaluated as recorded (they "
                              "waited in the spool, which keeps no inspected copy)",
                              self.context.label)

    def close(self) -> None:
        if self._webhook is not None:
            self._webhook.close()
            self._webhook = None
        if self._detector is not None:
            self._detector.close()


def _as_recorded(match: Any, recorded_json: bytes) -> Any:
    """``match`` with the user its event was recorded with (the inspected one may be a
    value the policy redacts; it stays in the correlations' memory, never in an alert)."""
    user = orjson.loads(recorded_json).get("user")
    return dataclasses.replace(match, user=None if user is None else str(user))
