"""Request cookies and ``Set-Cookie`` header values.

:func:`parse_cookies` reads a ``Cookie`` header leniently (a malformed pair
is skipped, the others kept); :func:`set_cookie_header` formats one
``Set-Cookie`` value with ``HttpOnly`` and ``SameSite=Lax`` unless told
otherwise.
"""

from __future__ import annotations

from email.utils import formatdate
from time import time

__all__ = ["delete_cookie_header", "parse_cookies", "set_cookie_header"]

_FORBIDDEN = set("\x00\r\n;,")


def parse_cookies(header: str) -> dict[str, str]:
    """``"a=1; b=\\"x\\""`` -> ``{"a": "1", "b": "x"}``; the first of repeated names wins."""
    cookies: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies.setdefault(name, value)
    return cookies


def _check(text: str, what: str) -> str:
    if _FORBIDDEN.intersection(text):
        raise ValueError(f"cookie {what} contains a forbidden character: {text!r}")
    return text


def set_cookie_header(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = True,
    same_site: str | None = "Lax",
) -> str:
    """The value of a ``Set-Cookie`` header (``max_age`` None: a browser-session cookie)."""
    parts = [f"{_check(name, 'name')}={_check(value, 'value')}"]
    if max_age is not None:
        max_age = max(0, int(max_age))
        parts.append(f"Max-Age={max_age}")
        parts.append("Expires=" + formatdate(time() + max_age, usegmt=True))
    if path:
        parts.append(f"Path={_check(path, 'path')}")
    if domain:
        parts.append(f"Domain={_check(domain, 'domain')}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)


def delete_cookie_header(name: str, path: str | None = "/", domain: str | None = None) -> str:
    """A ``Set-Cookie`` value that makes the browser drop cookie ``name``."""
    return set_cookie_header(name, "", max_age=0, path=path, domain=domain)
