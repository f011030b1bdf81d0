"""One consent decision as stored (apart from the store, so reading it needs no database
driver)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """One consent decision, as stored: who, on what, yes or no, against which notice,
    when (RFC 3339, UTC) and through what (``python``, ``cli``, ``rest``, ``jupyterlab``)."""

    user: str
    scope: str
    granted: bool
    notice_version: str
    at: str
    via: str

    def as_json(self) -> dict[str, Any]:
        """The decision as the REST API shows it (``user`` is said once, outside)."""
        out = asdict(self)
        del out["user"]
        return out
