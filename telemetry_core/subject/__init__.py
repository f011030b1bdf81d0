"""A person's rights over their events: find, export and erase (docs/subject-rights.md).

- :class:`SubjectRecording` - the EventLog's step 4b (``__subject__``, sealing);
- :func:`subject_key` - the pseudonym in ``__subject__`` that stands for a user;
- :class:`KeyStore` - per-subject data keys (crypto-shredding) and the erasure log;
- :func:`open_event` - a recorded event with its sealed values opened (or shown erased);
- :func:`person`, :func:`find`, :func:`export`, :func:`erase` - what
  ``telemetry subject find|export|erase`` does, for a script.
"""

from __future__ import annotations

from typing import Any

from ._crypto import SHREDDED, is_sealed, new_master_key, subject_key
from ._recording import SubjectRecording, SubjectRoute
from ._sealing import open_event

__all__ = ["SHREDDED", "KeyStore", "Person", "SinkReport", "SubjectRecording", "SubjectRoute",
           "default_erasure_log",
           "default_key_store_path", "describe", "erase", "export", "find", "is_sealed",
           "new_master_key", "open_event", "person", "subject_key"]

# Imported when asked for, not with the EventLog: the key store needs SQLAlchemy, and
# find/export/erase are for the command line.
_LAZY = {"KeyStore": "_keys", "default_key_store_path": "_keys",
         **dict.fromkeys(("Person", "SinkReport", "default_erasure_log", "describe", "erase",
                          "export", "find", "person"), "_rights")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
