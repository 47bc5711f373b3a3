"""Sealed values: authenticated encryption of small JSON payloads with the app's securekey.

Sessions, message boxes, CSRF cookies and one-time tokens all travel through
the client; :func:`seal` makes them unreadable and unforgeable, :func:`unseal`
gives back the payload or ``None`` for anything tampered, truncated, expired,
sealed for another purpose or with another key.  Only the standard library is
used (no pickle: payloads are JSON).

Format (documented in ``docs/atila-security.md``)::

    token  = base64url( version(1) || nonce(16) || ciphertext || tag(32) )   # no padding
    k_enc  = HMAC-SHA256(securekey, "atila/seal/enc/" + purpose)
    k_mac  = HMAC-SHA256(securekey, "atila/seal/mac/" + purpose)
    stream = HMAC-SHA256(k_enc, nonce || counter_be32) for counter = 0, 1, ...
    ciphertext = JSON(payload) XOR stream            # HMAC as a PRF in counter mode
    tag    = HMAC-SHA256(k_mac, version || nonce || ciphertext)   # encrypt-then-MAC

The tag is checked (constant time) before anything is decrypted or parsed.
``purpose`` separates the uses, so a session cookie is no valid message box,
CSRF cookie or one-time token, and a named session's cookie is no valid
default session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from functools import lru_cache
from typing import Any

__all__ = ["b64decode", "b64encode", "derive_key", "seal", "unseal"]

VERSION = b"\x01"
NONCE_SIZE = 16
TAG_SIZE = 32
#: Sealed values larger than this (decoded) are refused unread.
MAX_SEALED_SIZE = 64 * 1024


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding (safe in cookies and URLs)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Inverse of :func:`b64encode`; None for anything that is not such base64."""
    try:
        raw = text.encode("ascii")
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (UnicodeError, binascii.Error, ValueError):
        return None


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


@lru_cache(maxsize=256)
def derive_key(key: str | bytes, label: str) -> bytes:
    """A 32-byte key for ``label`` derived from ``key`` (HMAC-SHA256)."""
    return hmac.new(_key_bytes(key), label.encode("utf-8"), hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = []
    for counter in range((size + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:size]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def seal(payload: Any, key: str | bytes, purpose: str) -> str:
    """Encrypt and sign the JSON-serialisable ``payload`` for ``purpose``."""
    plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    nonce = secrets.token_bytes(NONCE_SIZE)
    cipher = _xor(
        plain, _keystream(derive_key(key, "atila/seal/enc/" + purpose), nonce, len(plain))
    )
    body = VERSION + nonce + cipher
    tag = hmac.new(derive_key(key, "atila/seal/mac/" + purpose), body, hashlib.sha256).digest()
    return b64encode(body + tag)


def unseal(token: str | None, key: str | bytes, purpose: str) -> Any:
    """The payload :func:`seal` sealed in ``token``; None when it is not authentic."""
    if not token or len(token) > MAX_SEALED_SIZE * 4 // 3 + 4:
        return None
    raw = b64decode(token)
    if raw is None or len(raw) < 1 + NONCE_SIZE + TAG_SIZE or raw[:1] != VERSION:
        return None
    body, tag = raw[:-TAG_SIZE], raw[-TAG_SIZE:]
    expected = hmac.new(derive_key(key, "atila/seal/mac/" + purpose), body, hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), tag):
        return None
    nonce, cipher = body[1 : 1 + NONCE_SIZE], body[1 + NONCE_SIZE :]
    stream = _keystream(derive_key(key, "atila/seal/enc/" + purpose), nonce, len(cipher))
    try:
        return json.loads(_xor(cipher, stream).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
