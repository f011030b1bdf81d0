"""The optional C batch producer; everything else about the package is in pyproject.toml.

``optional=True``: where it cannot be compiled, the plugin installs without it and
produces through confluent-kafka's ``Producer.produce`` instead (``_native.py``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("telemetry_sink_kafka._rdkafka",
                             ["telemetry_sink_kafka/_rdkafka.c"], optional=True)])
