"""The optional C hot path; everything else about the package is in pyproject.toml.

``optional=True``: where it cannot be compiled, the package installs without it and
runs its Python code (the reference the C code mirrors).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("telemetry_core._speedups", ["telemetry_core/_speedups.c"],
                             optional=True)])
