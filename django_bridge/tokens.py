"""JSON Web Tokens for Django users (spec "Making JWT Token", "(JWT) Bearer Authorization").

Tokens are made and checked by :mod:`atila.tokens` (PyJWT, HS256 only: a
token with ``alg: none`` or another algorithm, a bad signature or a past
``exp`` is refused) under Django's ``settings.SECRET_KEY``;
:func:`django_bridge.install` makes that key the app's ``securekey``, so
``was.request.JWT``, ``was.encode_jwt`` and ``was.decode_jwt`` agree with
these tokens.

Claims: ``uid`` (the user's primary key, as the spec's practical example
reads ``was.request.JWT["uid"]``), ``username``, ``iat`` and ``exp``.
"""

from __future__ import annotations

import time
from typing import Any

from atila.tokens import decode_jwt, encode_jwt

__all__ = ["DEFAULT_LIFETIME", "decode_token", "issue_token", "signing_key"]

#: Seconds a token issued by :func:`issue_token` stays valid.
DEFAULT_LIFETIME = 3600


def signing_key() -> str:
    """The key tokens are signed with: Django's ``SECRET_KEY``."""
    from django.conf import settings

    key: str = settings.SECRET_KEY
    return key


def issue_token(
    user: Any, lifetime: int = DEFAULT_LIFETIME, key: str | bytes | None = None, **claims: Any
) -> str:
    """A JWT for Django ``user``, valid ``lifetime`` seconds, with extra ``claims``.

    Signed with ``key`` (default: Django's ``SECRET_KEY``).
    """
    now = int(time.time())
    payload = {
        "uid": user.pk,
        "username": user.get_username(),
        "iat": now,
        "exp": now + int(lifetime),
        **claims,
    }
    return encode_jwt(payload, key or signing_key())


def decode_token(token: str | None) -> dict[str, Any]:
    """The verified claims of ``token``, or ``{"err": "<why>"}``.

    Beyond :func:`atila.tokens.decode_jwt`, the ``uid`` and ``exp`` claims
    are required: a token without an expiry is refused.
    """
    claims = decode_jwt(token, signing_key())
    if "err" not in claims and ("uid" not in claims or "exp" not in claims):
        return {"err": "invalid token: uid and exp claims required"}
    return claims
