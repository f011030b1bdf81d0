"""Kafka sink for telemetry-core: ``{"type": "kafka", "bootstrap.servers": ..., "topic": ...}``.

The public face is :class:`KafkaSink` and :func:`topic_for`; configuration normally
names the sink by type and telemetry-core builds it through the entry point.
"""

from ._sink import KafkaSink
from ._topics import TOPIC_VARIABLES, topic_for

__all__ = ["TOPIC_VARIABLES", "KafkaSink", "topic_for"]
