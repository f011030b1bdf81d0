"""Who an event is about: an explicit ``user=`` keyword, else the ambient ``acting_as``.

A server sets the user once per request (``with acting_as(name):``); library code that
calls ``record_event`` without knowing the user still gets it right. The context is a
``contextvars.ContextVar``, so it nests, and each asyncio task (and each thread) sees
the value that was current where it was started, never another request's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ._errors import ConsentError

_current: ContextVar[str | None] = ContextVar("telemetry_core_user", default=None)

# Printable, no whitespace or control characters, 1..256 characters: JupyterHub names,
# e-mail addresses and opaque ids all fit; a stray newline or an empty string does not.
_USER_RE = re.compile(r"[^\s\x00-\x1f\x7f]{1,256}")
USER_FORMAT = "1 to 256 printable characters without whitespace"


def check_user(user: object) -> str:
    """``user`` if it is a well-formed user id; ConsentError otherwise.

    The message describes the value (type, length), never repeats it.
    """
    if not isinstance(user, str):
        raise ConsentError(f"a user id is a string ({USER_FORMAT}), got {type(user).__name__}")
    if _USER_RE.fullmatch(user) is None:
        raise ConsentError(
            f"malformed user id (a string of length {len(user)}): user ids are {USER_FORMAT}")
    return user


@contextmanager
def acting_as(user: str) -> Iterator[str]:
    """Within this block, events are about ``user`` unless ``record_event(user=...)`` says
    otherwise. Nests; restores the outer user on exit; per asyncio task and thread."""
    token = _current.set(check_user(user))
    try:
        yield user
    finally:
        _current.reset(token)


def current_user() -> str | None:
    """The user set by the innermost ``acting_as`` in this context, or None."""
    return _current.get()
