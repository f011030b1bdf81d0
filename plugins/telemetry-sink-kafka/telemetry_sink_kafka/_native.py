"""The optional C batch producer (``_rdkafka.c``), the librdkafka it runs on, and the
switch that turns it off.

``rdkafka`` is the compiled module with librdkafka loaded, or None: when it was not
built, when the librdkafka that confluent-kafka loaded cannot be found or is not the
version confluent-kafka reports, or when ``TELEMETRY_SINK_KAFKA_PURE_PYTHON=1`` is set.
The sink then produces through confluent-kafka's ``Producer.produce``.
"""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path
from types import ModuleType

import confluent_kafka

rdkafka: ModuleType | None = None
#: Why ``rdkafka`` is None; None while it is in use.
why_not: str | None = "TELEMETRY_SINK_KAFKA_PURE_PYTHON is set"


def _loaded_librdkafka() -> str | None:
    """The path of the librdkafka this process has loaded (confluent-kafka's), if known."""
    try:  # Linux: what the dynamic linker actually mapped
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").split(" ", 5)[-1].strip()
                if "librdkafka" in Path(path).name:
                    return path
    except OSError:
        pass
    package = Path(confluent_kafka.__file__).parent
    for folder in (package.parent / "confluent_kafka.libs", package / ".dylibs"):
        for candidate in sorted(folder.glob("librdkafka*")):  # a wheel's bundled copy
            return str(candidate)
    return ctypes.util.find_library("rdkafka")  # built against a system librdkafka


def _load() -> tuple[ModuleType | None, str | None]:
    try:
        from . import _rdkafka
    except ImportError as exc:
        return None, f"not built ({exc})"
    path = _loaded_librdkafka()
    if path is None:
        return None, "librdkafka not found"
    try:
        version = _rdkafka.load(path)
    except ImportError as exc:
        return None, str(exc)
    expected = confluent_kafka.libversion()[0]
    if version != expected:
        return None, f"{path} is librdkafka {version}, confluent-kafka runs {expected}"
    return _rdkafka, None


if os.environ.get("TELEMETRY_SINK_KAFKA_PURE_PYTHON", "") in ("", "0"):
    rdkafka, why_not = _load()


def describe() -> str:
    """One line: how the sink produces, and why."""
    if rdkafka is not None:
        return "produce: C batches with the interpreter lock released (_rdkafka.c)"
    return f"produce: confluent-kafka's Producer.produce ({why_not})"
