"""Reading a traitlets config file (``c.EventLog.* = ...``) into a ``Config``.

traitlets reads two formats: Python files (``.py``, executed) and JSON files
(``.json``). Anything else is refused by name here: a ``.yaml`` file handed to the
Python loader would be executed as Python, and a YAML mapping happens to be valid
Python often enough (``EventLog: {}`` is an annotation) to pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from traitlets.config import Config, Configurable
from traitlets.config.loader import (
    ConfigFileNotFound,
    JSONFileConfigLoader,
    PyFileConfigLoader,
)


class ConfigError(ValueError):
    """A configuration names a setting or section that does not exist (a typo, most
    often): refused with "did you mean", never silently ignored."""


class ConfigFileError(ConfigError):
    """A config file could not be read: missing, an unsupported format, or broken."""


#: This project's configurable classes: a section one or two letters away from one of
#: these (``c.EventLogs``, ``c.Eventlog``) is a typo, not someone else's section.
OUR_SECTIONS = ("EventLog", "TelemetryServer", "TelemetryHooks")


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute) from ``a`` to ``b``: the Levenshtein distance."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def check_sections(config: Config, ours: Iterable[str] = OUR_SECTIONS) -> None:
    """Refuse a non-empty section whose name misspells one of ``ours`` (so
    ``c.EventLogs.allowed_schemas`` is an error, while ``c.EventLogger`` and other
    applications' sections pass)."""
    ours = tuple(ours)
    for name, value in config.items():
        if name in ours or not isinstance(value, Config) or not value:
            continue
        near = [o for o in ours if _distance(name.lower(), o.lower()) <= 2]
        if near:
            raise ConfigError(f"c.{name} is not a configuration section; did you mean "
                              f"c.{near[0]}? (c.{name}.* would be ignored)")


def check_keys(cls: type[Configurable], section: Any) -> None:
    """Refuse a key of ``c.<cls>`` that is not one of its settings, with "did you mean"."""
    from ._suggest import did_you_mean

    names = cls.class_trait_names(config=True)
    for key, value in section.items():
        if key in names or isinstance(value, Config) or key[:1].isupper():
            continue  # a setting, or a nested section traitlets reads elsewhere
        raise ConfigError(f"c.{cls.__name__}.{key} is not a setting of {cls.__name__}"
                          f"{did_you_mean(key, names)}; its settings: "
                          f"{', '.join(sorted(names))}")


def check_config(config: Config, classes: Iterable[type[Configurable]]) -> None:
    """Sections that misspell ours, and keys ``classes`` do not have: a ConfigError
    naming the first, before anything starts."""
    check_sections(config)
    for cls in classes:
        if cls.__name__ in config:
            check_keys(cls, config[cls.__name__])


class StrictConfigurable(Configurable):
    """A Configurable that refuses what plain traitlets only warns about (or ignores):
    an unknown keyword argument (``TypeError``), an unknown key in its own section and
    a section that misspells one of ours (:class:`ConfigError`), each with "did you
    mean". A typo in a privacy setting must never leave the default in force silently.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ._suggest import did_you_mean

        names = type(self).class_trait_names()
        for key in kwargs:
            if key not in names:
                settings = type(self).class_trait_names(config=True)
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                                f"{key!r}{did_you_mean(key, settings)}")
        super().__init__(*args, **kwargs)

    def _load_config(self, cfg: Config, section_names: Any = None, traits: Any = None) -> None:
        check_sections(cfg)
        check_keys(type(self), self._find_my_config(cfg))
        super()._load_config(cfg, section_names=section_names, traits=traits)


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
