"""Kafka sink for telemetry-core: ``{"type": "kafka", "bootstrap.servers": ..., "topic": ...}``.

The public face is :class:`KafkaSink` and :func:`topic_template`; configuration normally
names the sink by type and telemetry-core builds it through the entry point.
"""

from ._sink import KafkaSink
from ._topics import TOPIC_CHARSET, topic_for, topic_template

__all__ = ["TOPIC_CHARSET", "KafkaSink", "topic_for", "topic_template"]
