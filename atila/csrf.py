"""CSRF tokens (spec "Cross Site Request Forgery Token").

The browser keeps a random secret in a sealed, ``HttpOnly``, ``SameSite=Lax``
cookie (``ATLCSRF``); the token put in forms (``was.csrf_token``,
``was.csrf_token_input``) is ``base64url(HMAC-SHA256(k, secret))``.
``was.verify_csrf()`` compares (constant time) the token sent back — form or
JSON field ``csrf_token``, or header ``X-CSRF-Token`` — with the one derived
from the request's own cookie, so a token taken from another browser (or a
forged cookie) does not verify.  ``was.remove_csrf()`` deletes the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from typing import Any

from atila.cookies import delete_cookie_header, set_cookie_header
from atila.sealing import b64encode, derive_key, seal, unseal

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "CsrfCookie", "SafeHTML"]

CSRF_COOKIE = "ATLCSRF"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PURPOSE = "csrf"


class SafeHTML(str):
    """Markup that template engines must not escape (they honour ``__html__``)."""

    def __html__(self) -> str:
        return str(self)


class CsrfCookie:
    """The request's CSRF secret: read from the cookie, made on first need."""

    def __init__(self, cookies: dict[str, str], securekey: str | bytes) -> None:
        self._key = securekey
        raw = cookies.get(CSRF_COOKIE)
        payload = unseal(raw, securekey, _PURPOSE) if raw else None
        secret = payload.get("s") if isinstance(payload, dict) else None
        self._secret: str | None = secret if isinstance(secret, str) else None
        self._stale = bool(raw) and self._secret is None
        self._new = False
        self._removed = False

    def _token_of(self, secret: str) -> str:
        key = derive_key(self._key, "atila/csrf/token")
        return b64encode(hmac.new(key, secret.encode("ascii"), hashlib.sha256).digest())

    @property
    def token(self) -> str:
        """The token for forms (sets the cookie when the browser has none yet)."""
        if self._secret is None:
            self._secret = secrets.token_urlsafe(32)
            self._new = True
            self._removed = False
        return self._token_of(self._secret)

    def input(self) -> SafeHTML:
        """``<input type="hidden" name="csrf_token" value="...">`` (not escaped by templates)."""
        value = html.escape(self.token, quote=True)
        return SafeHTML(f'<input type="hidden" name="{CSRF_FIELD}" value="{value}">')

    def verify(self, given: Any) -> bool:
        """True when ``given`` is the token of this request's cookie."""
        if self._secret is None or self._new or not isinstance(given, str) or not given:
            return False
        return hmac.compare_digest(self._token_of(self._secret).encode(), given.encode())

    def remove(self) -> None:
        """Forget the secret and delete the cookie."""
        self._secret = None
        self._new = False
        self._removed = True

    def set_cookie(self) -> str | None:
        """The ``Set-Cookie`` value for the response, or None."""
        if self._new and self._secret is not None:
            return set_cookie_header(CSRF_COOKIE, seal({"s": self._secret}, self._key, _PURPOSE))
        if self._removed or self._stale:
            return delete_cookie_header(CSRF_COOKIE)
        return None
