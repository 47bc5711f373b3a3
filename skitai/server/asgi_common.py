"""What the ASGI container's HTTP and WebSocket sides share: versions, checks, names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .exchange import HOP_BY_HOP, EncodedHeaders

if TYPE_CHECKING:
    from .exchange import Exchange

#: ``scope["asgi"]`` (shared by every scope: read it, never change it).
ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
#: Key of ``scope["extensions"]`` holding the engine's services: a dict with the
#: WSGI environ's ``skitai.*`` keys without their prefix (``context``, ``states``,
#: ``replay``, ``hub``, ``corequests``, ``devel``), shared by the worker's requests.
EXTENSION = "skitai"
_ENVIRON_PREFIX = "skitai."

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_UNSAFE_VALUE = re.compile(rb"[\r\n\x00]")
TEXT_PLAIN = ("Content-Type", "text/plain; charset=utf-8")
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
#: ``http.response.start`` status -> status line; the statuses an app may send.
STATUS_LINES = {code: f"{code} {_PHRASES.get(code, 'Status')}" for code in range(200, 600)}


class ASGIProtocolError(RuntimeError):
    """Raised in an application that sent a message the ASGI protocol does not allow now."""


def app_name(app: object, names: Mapping[int, str] | None = None) -> str:
    """A name for ``app`` in log lines: from ``names`` (by ``id``), else its qualified name."""
    name = names.get(id(app)) if names else None
    return name or getattr(app, "__qualname__", None) or type(app).__qualname__


def extension_from_environ(extra_environ: Mapping[str, Any]) -> dict[str, Any]:
    """``scope["extensions"]["skitai"]`` from the container's ``skitai.*`` environ keys."""
    return {
        key[len(_ENVIRON_PREFIX) :]: value
        for key, value in extra_environ.items()
        if key.startswith(_ENVIRON_PREFIX)
    }


def connection_scope(
    kind: str,
    exchange: Exchange,
    root_path: str,
    path: str,
    state: dict[str, Any],
    extension: dict[str, Any],
) -> dict[str, Any]:
    """The keys an ``http`` and a ``websocket`` scope share, for ``exchange``.

    ``path`` is the whole decoded path (``root_path`` included); ``state`` is
    copied (the lifespan state extension); ``headers`` are the request's
    ``(lower-case name, value)`` bytes pairs.
    """
    return {
        "type": kind,
        "asgi": ASGI_VERSION,
        "http_version": "2" if exchange.version == "2.0" else exchange.version,  # ASGI's name
        "path": path,
        "raw_path": exchange.path,
        "query_string": exchange.query,
        "root_path": root_path,
        "headers": list(exchange.headers),
        "client": exchange.client,
        "server": exchange.server,
        "state": state.copy(),
        "extensions": {EXTENSION: extension},
    }


def _checked(item: Any) -> tuple[bytes, bytes]:
    """One ASGI response header as ``(name, value)`` bytes, or :class:`ASGIProtocolError`.

    Names must be tokens and values free of CR, LF and NUL (no response splitting).
    """
    try:
        name, value = item
    except (TypeError, ValueError):
        raise ASGIProtocolError(f"an ASGI header is a (name, value) pair: {item!r}") from None
    if type(name) is not bytes or type(value) is not bytes:
        raise ASGIProtocolError(f"ASGI header names and values are bytes: {item!r}")
    if _TOKEN.match(name) is None or _UNSAFE_VALUE.search(value) is not None:
        raise ASGIProtocolError(f"invalid ASGI response header {item!r}")
    return name, value


def _content_length(value: bytes, declared: int | None) -> int:
    if not value.strip().isdigit() or (declared is not None and declared != int(value)):
        raise ASGIProtocolError(f"invalid Content-Length {value!r}")
    return int(value)


def response_headers(headers: Iterable[Any]) -> tuple[list[tuple[str, str]], int | None]:
    """Check an ASGI header list; return it as ``(str, str)`` pairs and a declared length.

    Names must be tokens and values free of CR, LF and NUL (no response
    splitting); both bytes.  Raises :class:`ASGIProtocolError` otherwise.
    """
    out: list[tuple[str, str]] = []
    declared: int | None = None
    for item in headers:
        name, value = _checked(item)
        if name.lower() == b"content-length":
            declared = _content_length(value, declared)
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    return out, declared


# What a checked header pair is to the response head (see _field).
_LINE, _TYPE, _ENCODING, _SERVER, _LENGTH, _CLOSE, _UPGRADE, _DROP = range(8)
#: checked (name, value) pairs -> (kind, line, content type or length); apps send the same
#: few fields again and again, so each is checked, classified and encoded once
_FIELDS: dict[tuple[bytes, bytes], tuple[int, bytes, Any]] = {}
_FIELDS_MAX = 1024


def _field(name: bytes, value: bytes) -> tuple[int, bytes, Any]:
    """Classify a checked header pair, as :meth:`EncodedHeaders.from_pairs` does str ones."""
    lname = name.lower().decode("latin-1")
    if lname in HOP_BY_HOP:
        if lname == "connection":
            return (_CLOSE if value.lower() == b"close" else _DROP), b"", None
        if lname != "upgrade":
            return _DROP, b"", None
    line = b"%s: %s\r\n" % (name, value)
    if lname == "upgrade":
        return _UPGRADE, line, None  # sent only with a 426 (RFC 9110 §15.5.22)
    if lname == "content-length":
        return _LENGTH, b"", _content_length(value, None)
    if lname == "content-type":
        return _TYPE, line, value.decode("latin-1")
    if lname == "content-encoding":
        return _ENCODING, line, None
    if lname == "server":
        return _SERVER, line, None
    return _LINE, line, None


def encode_headers(headers: Iterable[Any], code: int) -> EncodedHeaders:
    """Check an ASGI header list (as :func:`response_headers`) into the lines of a
    response head with status ``code``; ``length`` is the declared Content-Length."""
    fields = EncodedHeaders()
    lines = fields.lines
    cache = _FIELDS
    for item in headers:
        if type(item) is tuple and len(item) == 2:
            key = item
        else:
            key = _checked(item)
        known = cache.get(key) if type(key[0]) is bytes and type(key[1]) is bytes else None
        if known is None:
            name, value = _checked(key)
            known = _field(name, value)
            if len(cache) >= _FIELDS_MAX:
                cache.clear()  # many distinct values (lengths, cookies): start over
            cache[(name, value)] = known
        kind, line, content_type = known
        if kind == _LINE:
            lines.append(line)
        elif kind == _LENGTH:
            if fields.length is not None and fields.length != content_type:
                raise ASGIProtocolError(f"invalid Content-Length {key[1]!r}")
            fields.length = content_type
        elif kind == _TYPE:
            fields.content_type = content_type
            lines.append(line)
        elif kind == _ENCODING:
            fields.encoded = True
            lines.append(line)
        elif kind == _SERVER:
            fields.has_server = True
            lines.append(line)
        elif kind == _CLOSE:
            fields.close = True
        elif kind == _UPGRADE and code == 426:
            lines.append(line)
    return fields


__all__ = [
    "ASGIProtocolError",
    "ASGI_VERSION",
    "EXTENSION",
    "STATUS_LINES",
    "TEXT_PLAIN",
    "app_name",
    "connection_scope",
    "encode_headers",
    "extension_from_environ",
    "response_headers",
]
