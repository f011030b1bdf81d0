"""Per-subject encryption of the personal values a policy keeps, and the subject key.

The subject key is a keyed pseudonym of a user (HMAC-SHA256 with the deployment's subject
secret): events about a person carry it in ``__subject__`` so they can be found, exported
and erased without the user's name being stored in clear.

Kept personal values are sealed with AES-GCM under that subject's own data key (from a
:class:`~telemetry_core.subject.KeyStore`). Deleting the key makes every copy unreadable,
wherever it went (crypto-shredding): Kafka topics, object-locked S3 objects, backups.
A sealed value is the string ``"enc:v1:" + base64(nonce || ciphertext || tag)``; the
subject key is the associated data, so a value moved to another subject's event does not
open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import os
import struct
import threading
from typing import Any

import orjson

SEALED_PREFIX = "enc:v1:"
_COUNTER = struct.Struct(">Q")
SUBJECT_PREFIX = "s1:"
#: What readers show where a value's key was erased.
SHREDDED = "<erased>"


def subject_key(user: str, secret: bytes) -> str:
    """The pseudonym that stands for ``user`` in ``__subject__`` (stable per secret)."""
    digest = hmac.new(secret, b"subject\x00" + user.encode("utf-8"), hashlib.sha256).digest()
    return SUBJECT_PREFIX + base64.b32encode(digest[:20]).decode("ascii").lower()


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed (encrypted) value."""
    return type(value) is str and value.startswith(SEALED_PREFIX)


class Sealer:
    """Seals and opens values under one data key. Nonces are a random 4-byte prefix per
    sealer and a 64-bit counter (NIST SP 800-38D's deterministic construction): unique
    without a system call per value."""

    __slots__ = ("_aead", "_subject", "_prefix", "_counter", "_lock")

    def __init__(self, data_key: bytes, subject: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(data_key)
        self._subject = subject.encode("ascii")
        self._prefix = os.urandom(4)
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def seal(self, value: Any) -> str:
        """``value`` (any JSON value) as a sealed string."""
        with self._lock:
            nonce = self._prefix + _COUNTER.pack(next(self._counter))
        sealed = self._aead.encrypt(nonce, orjson.dumps(value), self._subject)
        return SEALED_PREFIX + binascii.b2a_base64(nonce + sealed, newline=False).decode()

    def open(self, sealed: str) -> Any:
        """The JSON value sealed in ``sealed``; ValueError when it is not ours or damaged."""
        from cryptography.exceptions import InvalidTag

        try:
            raw = binascii.a2b_base64(sealed[len(SEALED_PREFIX):])
        except binascii.Error:
            raise ValueError("a sealed value is damaged (not base64)") from None
        try:
            plain = self._aead.decrypt(raw[:12], raw[12:], self._subject)
        except InvalidTag:
            raise ValueError("a sealed value does not open with this subject's key") from None
        return orjson.loads(plain)


def wrap_key(master: bytes, data_key: bytes, subject: str) -> bytes:
    """``data_key`` encrypted under the deployment's master key (envelope encryption)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return nonce + AESGCM(master).encrypt(nonce, data_key, subject.encode("ascii"))


def unwrap_key(master: bytes, wrapped: bytes, subject: str) -> bytes:
    """The data key in ``wrapped`` (ValueError: wrong master key or damaged record)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], subject.encode("ascii"))
    except InvalidTag:
        raise ValueError("a subject key does not open with the configured master key "
                         "(TELEMETRY_SUBJECT_MASTER_KEY changed?)") from None


def parse_master_key(text: str) -> bytes:
    """A master key from its configured form: 32 bytes, base64 (``telemetry subject
    new-key`` prints one)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError("the subject master key is not base64 (make one with "
                         "`telemetry subject new-key`)") from None
    if len(key) != 32:
        raise ValueError(f"the subject master key must be 32 bytes, not {len(key)} (make one "
                         "with `telemetry subject new-key`)")
    return key


def new_master_key() -> str:
    """A fresh master key, base64."""
    return base64.b64encode(os.urandom(32)).decode("ascii")
