"""One consent decision as stored (apart from the store, so reading it needs no database
driver)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decision:
    """One consent decision, as stored: who, on what, yes or no, against which notice,
    when (RFC 3339, UTC), through what (``python``, ``cli``, ``rest``, ``jupyterlab``),
    who made it (``by``) and how they were authenticated (``auth``); ``""`` where a store
    from before those columns does not know. ``id`` is the row's (None until stored)."""

    user: str
    scope: str
    granted: bool
    notice_version: str
    at: str
    via: str
    by: str = ""
    auth: str = ""
    id: int | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The decision as the REST API shows it (``user`` is said once, outside)."""
        out = asdict(self)
        del out["user"], out["id"]
        return out

    def row(self) -> dict[str, Any]:
        """The decision as a row to insert."""
        return {"user_id": self.user, "scope": self.scope, "granted": self.granted,
                "notice_version": self.notice_version, "at": self.at, "via": self.via,
                "decided_by": self.by, "auth_method": self.auth}
