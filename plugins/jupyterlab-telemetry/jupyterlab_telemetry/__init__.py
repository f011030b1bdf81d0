"""jupyterlab-telemetry: the JupyterLab 4 / Notebook 7 extension of telemetry-core.

The Python package only ships the prebuilt labextension (under
share/jupyter/labextensions/jupyterlab-telemetry).
"""

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-telemetry"}]
