"""Reading a traitlets config file (``c.EventLog.* = ...``) into a ``Config``.

traitlets reads two formats: Python files (``.py``, executed) and JSON files
(``.json``). Anything else is refused by name here: a ``.yaml`` file handed to the
Python loader would be executed as Python, and a YAML mapping happens to be valid
Python often enough (``EventLog: {}`` is an annotation) to pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import (
    ConfigFileNotFound,
    JSONFileConfigLoader,
    PyFileConfigLoader,
)


class ConfigFileError(ValueError):
    """A config file could not be read: missing, an unsupported format, or broken."""


def load_config_file(path: str | os.PathLike[str]) -> Config:
    """Read ``path`` (``.py`` or ``.json``) into a traitlets ``Config``.

    Raises :class:`ConfigFileError` with one line that says which file and why.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".py", ".json"):
        raise ConfigFileError(
            f"{path}: config files are traitlets files, .py (c.EventLog.x = ...) or .json "
            f'({{"EventLog": {{...}}}}); {suffix or "no suffix"!r} is not read')
    if not path.is_file():
        raise ConfigFileError(f"{path}: no such config file")
    loader_class = JSONFileConfigLoader if suffix == ".json" else PyFileConfigLoader
    loader = loader_class(path.name, str(path.parent.resolve()))
    try:
        config = loader.load_config()
    except ConfigFileNotFound:
        raise ConfigFileError(f"{path}: no such config file") from None
    except SyntaxError as exc:
        raise ConfigFileError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from None
    except ValueError as exc:  # json.JSONDecodeError included
        raise ConfigFileError(f"{path}: not a valid {suffix[1:]} config file: {exc}") from None
    except Exception as exc:  # the file is a program: it may raise anything
        raise ConfigFileError(
            f"{path}: running the config file failed: {type(exc).__name__}: {exc}") from None
    return config
