"""Topic names: the framework's name templates with Kafka's rules.

A topic template uses the framework's variables (``telemetry_core.sinks.VARIABLES``),
e.g. ``"jupyter.{schema_name}"``. Its literal text must already be a legal topic name;
substituted values keep only what Kafka allows (letters, digits, ``.``, ``_``, ``-``;
other runs become ``_``), and a topic is at most 249 characters.
"""

from __future__ import annotations

from telemetry_core.sinks import Charset, NameTemplate, SinkConfigError

MAX_TOPIC_LENGTH = 249  # Kafka's limit
#: The template variables that change with the event's time.
TIME_VARIABLES = frozenset({"date", "year", "month", "day", "hour"})
#: What Kafka allows in a topic name.
TOPIC_CHARSET = Charset(value=r"A-Za-z0-9._-", literal=r"A-Za-z0-9._-",
                        max_length=MAX_TOPIC_LENGTH)


def topic_template(template: object) -> NameTemplate:
    """Check a topic (template) at configuration time; raise SinkConfigError if wrong."""
    topic = NameTemplate(template, where="kafka sink: 'topic'", charset=TOPIC_CHARSET)
    if topic.template in (".", "..") or len(topic.template) > MAX_TOPIC_LENGTH:
        raise SinkConfigError(f"kafka sink: {topic.template!r} is not a legal topic name "
                              f"(not '.' or '..', at most {MAX_TOPIC_LENGTH} characters)")
    return topic


def topic_for(template: str, schema_id: str, version: str, timestamp: str = "") -> str:
    """The topic an event of ``schema_id``/``version`` at ``timestamp`` (ISO 8601; empty:
    now) goes to under ``template``."""
    return topic_template(template).render_for(schema_id, version, timestamp)
