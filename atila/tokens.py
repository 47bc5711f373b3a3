"""JWT and one-time tokens (spec "Making JWT Token", "Making One-Time Token",
"(JWT) Bearer Authorization").

* JWT (:func:`encode_jwt`/:func:`decode_jwt`) uses PyJWT with **HS256 only**,
  keyed by ``app.securekey``: a token with ``alg: none`` or any other
  algorithm is refused, ``exp``/``nbf``/``iat`` are honoured.  A token that
  does not verify decodes to ``{"err": "<why>"}`` (the shape
  ``was.request.JWT`` has), never to its unverified claims.  A client sends
  the same token with every request, so the claims of tokens that verified
  are kept (per process, keyed by the exact token and key) until they expire:
  checking the signature again would give the same answer, and only ``exp``
  can change that answer as time passes (``nbf``/``iat`` already passed).
* One-time tokens (:class:`OneTimeTokens`) are sealed (:mod:`atila.sealing`,
  purpose ``ott``): unreadable and unforgeable, with their own expiry.  With
  a ``session_key`` the token is also bound to the session that made it and
  dies with :meth:`OneTimeTokens.revoke` or the session; every revoked token
  is refused until it would have expired anyway.  Under Skitai revocations
  are recorded in the server's cross-worker replay table
  (``environ["skitai.replay"]``), so every worker refuses the token; under
  another WSGI server, in the process.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from typing import TYPE_CHECKING, Any

import jwt

from atila.sealing import seal, unseal
from skitai.replay import LocalReplaySet

if TYPE_CHECKING:
    from skitai.types import ReplaySet

__all__ = ["JWT_ALGORITHM", "OneTimeTokens", "bearer_token", "decode_jwt", "encode_jwt"]

#: The only algorithm accepted and produced.
JWT_ALGORITHM = "HS256"


def encode_jwt(claims: dict[str, Any], key: str | bytes) -> str:
    """A HS256 JWT of ``claims`` signed with ``key``."""
    return jwt.encode(dict(claims), key, algorithm=JWT_ALGORITHM)


#: Verified tokens remembered per process (a bound on memory, not a tuning knob).
VERIFIED_JWT_CACHE_SIZE = 1024
#: ``(token, key) -> (claims, expires at)`` of tokens that verified (oldest first).
_verified: dict[tuple[str, str | bytes], tuple[dict[str, Any], float]] = {}


def decode_jwt(token: str | None, key: str | bytes) -> dict[str, Any]:
    """The verified claims of ``token``, or ``{"err": "<why>"}`` (a fresh dict each call)."""
    if not token:
        return {"err": "no token"}
    cache_key = (token, key)
    known = _verified.get(cache_key)
    if known is not None:
        claims, expires = known
        if time.time() < expires:
            return dict(claims)
        _verified.pop(cache_key, None)  # expired: PyJWT gives the error below
    try:
        claims = jwt.decode(
            token, key, algorithms=[JWT_ALGORITHM], options={"verify_signature": True}
        )
    except jwt.ExpiredSignatureError:
        return {"err": "token expired"}
    except jwt.InvalidAlgorithmError:
        return {"err": "algorithm not allowed"}
    except jwt.InvalidTokenError as exc:
        return {"err": f"invalid token: {exc}"}
    if not isinstance(claims, dict):
        return {"err": "invalid token: claims are not an object"}
    _remember(cache_key, claims)
    return dict(claims)


def _remember(cache_key: tuple[str, str | bytes], claims: dict[str, Any]) -> None:
    """Keep a verified token's claims until its ``exp`` (PyJWT checked it is a number)."""
    expires = float(claims["exp"]) if "exp" in claims else math.inf
    if len(_verified) >= VERIFIED_JWT_CACHE_SIZE:
        try:  # drop the oldest; another thread may have dropped it first
            _verified.pop(next(iter(_verified)), None)
        except (StopIteration, RuntimeError):
            _verified.clear()
    _verified[cache_key] = (dict(claims), expires)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class OneTimeTokens:
    """Encode, decode and revoke one-time tokens for one app (thread-safe).

    :meth:`decode` and :meth:`revoke` take the server's shared replay set as
    ``seen`` (``environ["skitai.replay"]``); without one, revocations are kept
    in this object (one process).
    """

    PURPOSE = "ott"

    def __init__(self) -> None:
        self._revoked: ReplaySet = LocalReplaySet()

    def encode(
        self, key: str | bytes, data: Any, timeout: float, session: Any = None,
        session_key: str | None = None,
    ) -> str:  # fmt: skip
        """A token carrying ``data``, valid ``timeout`` seconds (bound to ``session_key``)."""
        token_id = secrets.token_urlsafe(12)
        payload: dict[str, Any] = {"d": data, "e": time.time() + float(timeout), "j": token_id}
        if session_key:
            if session is None:
                raise RuntimeError("a session_key needs sessions (app.securekey)")
            session.set(session_key, token_id)
            payload["k"] = session_key
        return seal(payload, key, self.PURPOSE)

    def _payload(self, key: str | bytes, token: str | None) -> dict[str, Any] | None:
        payload = unseal(token, key, self.PURPOSE)
        if not isinstance(payload, dict):
            return None
        expires, token_id = payload.get("e"), payload.get("j")
        if not isinstance(expires, (int, float)) or expires <= time.time():
            return None
        if not isinstance(token_id, str):
            return None
        return payload

    @staticmethod
    def _revocation_key(token_id: str) -> bytes:
        return b"atila/ott/" + token_id.encode("utf-8")

    def decode(
        self, key: str | bytes, token: str | None, session: Any = None,
        seen: ReplaySet | None = None,
    ) -> Any:  # fmt: skip
        """The data of a valid, unexpired, unrevoked ``token``; None otherwise."""
        payload = self._payload(key, token)
        if payload is None:
            return None
        token_id = payload["j"]
        revoked = self._revoked if seen is None else seen
        if revoked.contains(self._revocation_key(token_id)):
            return None
        session_key = payload.get("k")
        if session_key is not None:
            held = session.get(session_key) if session is not None else None
            if not isinstance(held, str) or not hmac.compare_digest(held, token_id):
                return None
        return payload.get("d")

    def revoke(
        self, key: str | bytes, token: str | None, session: Any = None,
        seen: ReplaySet | None = None,
    ) -> None:  # fmt: skip
        """Refuse ``token`` from now on (and drop it from the session it is bound to).

        Raises ``RuntimeError`` when the revocation cannot be recorded because
        the replay set is full (rather than leave the token valid silently).
        """
        payload = self._payload(key, token)
        if payload is None:
            return
        revoked = self._revoked if seen is None else seen
        revocation = self._revocation_key(payload["j"])
        # remembered until the token would have expired anyway (+1 s for clock rounding)
        ttl = max(float(payload["e"]) - time.time(), 0.0) + 1.0
        if not revoked.add_if_absent(revocation, ttl) and not revoked.contains(revocation):
            raise RuntimeError("cannot revoke the one-time token: the replay table is full")
        session_key = payload.get("k")
        if session_key is not None and session is not None:
            if session.get(session_key) == payload["j"]:
                session.remove(session_key)
