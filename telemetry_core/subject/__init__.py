"""A person's rights over their events: find, export and erase (docs/subject-rights.md).

- :func:`subject_key` - the pseudonym in ``__subject__`` that stands for a user;
- :class:`KeyStore` - per-subject data keys (crypto-shredding) and the erasure log;
- :func:`open_event` - a recorded event with its sealed values opened (or shown erased);
- ``telemetry subject find|export|erase|new-key`` - the command line.
"""

from __future__ import annotations

from typing import Any

from ._crypto import SHREDDED, is_sealed, new_master_key, subject_key
from ._sealing import open_event

__all__ = ["SHREDDED", "KeyStore", "default_key_store_path", "is_sealed", "new_master_key",
           "open_event", "subject_key"]


def __getattr__(name: str) -> Any:
    # The key store needs SQLAlchemy: imported when asked for, not with the EventLog.
    if name in ("KeyStore", "default_key_store_path"):
        from . import _keys

        return getattr(_keys, name)
    raise AttributeError(name)
