"""The in-process client: call any WSGI callable without sockets.

:class:`Client` (alias :class:`WSGIClient`) builds the environ with
:func:`build_environ`, checks what the app sends back against PEP 3333 and
returns a :class:`Response`.
"""

from __future__ import annotations

import contextlib
import io
import json as jsonlib
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

from requests.structures import CaseInsensitiveDict

from skitai.types import Environ, ExcInfo, WSGIApp

from ._common import (
    _BODY_METHODS,
    _HOP_BY_HOP,
    _QUERY_SAFE,
    _STATUS,
    _TOKEN,
    _is_json_media_type,
)  # fmt: skip


class WSGIProtocolError(AssertionError):
    """The application broke PEP 3333 (bad status, headers or body type)."""


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def _header_environ(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """HTTP request headers as environ keys; repeats are joined, ``None`` values dropped."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in items:
        if value is None:
            continue
        text = str(value)
        if not _TOKEN.match(name) or any(c in text for c in "\r\n\0"):
            raise ValueError(f"invalid request header {name!r}: {text!r}")
        key = _environ_key(name)
        if key in result:
            separator = "; " if key == "HTTP_COOKIE" else ", "
            text = result[key] + separator + text
        result[key] = text
    return result


def _split_script_name(path: str, script_name: str) -> str:
    """PATH_INFO for ``path`` below the mount point ``script_name``."""
    if not script_name:
        return path
    if path == script_name or path.startswith(script_name + "/"):
        return path[len(script_name) :]
    raise ValueError(f"path {path!r} is not under SCRIPT_NAME {script_name!r}")


def build_environ(
    method: str,
    path: str,
    *,
    query_string: str = "",
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
    body: bytes = b"",
    script_name: str = "",
    url_scheme: str = "http",
    server_name: str = "localhost",
    server_port: int | None = None,
) -> Environ:
    """Build a complete PEP 3333 environ for one request.

    ``path`` is the full, percent-encoded request path (it may carry a
    ``?query``, joined with ``query_string``); PATH_INFO is its decoded bytes
    as a latin-1 string, minus the ``script_name`` mount point.  ``headers``
    is a mapping or (name, value) pairs; an explicit Content-Length wins over
    the body's length.  This is the hook the engine's mount table plugs into.
    """
    raw_path, _, raw_query = path.partition("?")
    query = "&".join(q for q in (raw_query, query_string) if q)
    script_name = script_name.rstrip("/")
    full_path = unquote_to_bytes(raw_path or "/").decode("latin-1")
    port = server_port or (443 if url_scheme == "https" else 80)
    default_port = port == (443 if url_scheme == "https" else 80)
    environ: Environ = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": script_name,
        "PATH_INFO": _split_script_name(full_path, script_name),
        "QUERY_STRING": quote(query, safe=_QUERY_SAFE),
        "CONTENT_TYPE": "",
        "CONTENT_LENGTH": str(len(body)) if body or method.upper() in _BODY_METHODS else "",
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": server_name if default_port else f"{server_name}:{port}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ.update(_header_environ(headers))
    return environ


def _check_status(status: object) -> None:
    if not isinstance(status, str) or not _STATUS.match(status):
        raise WSGIProtocolError(f"invalid status {status!r}: want '200 OK' style str")


def _check_headers(headers: object) -> None:
    if type(headers) is not list:
        raise WSGIProtocolError(f"response headers must be a list, not {type(headers)!r}")
    for item in headers:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
        ):
            raise WSGIProtocolError(f"response header must be a (str, str) tuple: {item!r}")
        name, value = item
        if not _TOKEN.match(name) or any(c in value for c in "\r\n\0"):
            raise WSGIProtocolError(f"invalid response header {name!r}: {value!r}")
        if name.lower() in _HOP_BY_HOP:
            raise WSGIProtocolError(f"hop-by-hop header {name!r} is not allowed")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise WSGIProtocolError(f"header {name!r} is not latin-1: {value!r}") from exc


class _WSGICall:
    """One application call: start_response, write() and body collection."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.body = bytearray()

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Any:
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise WSGIProtocolError("start_response() called twice without exc_info")
        _check_status(status)
        _check_headers(headers)
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise WSGIProtocolError(f"write() needs bytes, not {type(data)!r}")
        self._append(data)

    def _append(self, data: bytes) -> None:
        if self.status is None:
            raise WSGIProtocolError("body sent before start_response()")
        self.headers_sent = True
        self.body += data

    def run(self, app: WSGIApp, environ: Environ) -> None:
        iterable = app(environ, self.start_response)
        try:
            for chunk in iterable:
                if not isinstance(chunk, bytes):
                    raise WSGIProtocolError(f"app yielded {type(chunk)!r}, not bytes")
                if chunk:
                    self._append(chunk)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        if self.status is None:
            raise WSGIProtocolError("app returned without calling start_response()")


def _is_expired(morsel: Morsel[str]) -> bool:
    """True when a Set-Cookie asks the client to delete the cookie."""
    max_age = morsel["max-age"]
    if max_age:
        with contextlib.suppress(ValueError):
            return int(max_age) <= 0
    if morsel["expires"]:
        try:
            expires = parsedate_to_datetime(morsel["expires"])
        except (TypeError, ValueError):
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires <= datetime.now(UTC)
    return False


class Response:
    """The result of an in-process request (a subset of ``requests.Response``)."""

    def __init__(self, status: str, header_list: list[tuple[str, str]], content: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.status_code = int(code)
        self.reason = reason
        #: Response headers exactly as the app gave them, repeats included.
        self.header_list = header_list
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        self.cookies = SimpleCookie()
        for name, value in header_list:
            if name in self.headers:
                value = self.headers[name] + ", " + value
            self.headers[name] = value
        for name, value in header_list:
            if name.lower() == "set-cookie":
                self.cookies.load(value)
        self.content = content

    @property
    def ok(self) -> bool:
        """True for status codes below 400."""
        return self.status_code < 400

    @property
    def encoding(self) -> str:
        """The Content-Type charset, ``utf-8`` when none is given."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with :attr:`encoding` (undecodable bytes replaced)."""
        try:
            return self.content.decode(self.encoding, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.content, **kwargs)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def _encode_body(data: Any, json: Any, content_type: str | None) -> tuple[bytes, str | None]:
    """Request body bytes and the Content-Type they imply (None: leave as is)."""
    if data is not None and json is not None:
        raise ValueError("give data or json, not both")
    if json is None and isinstance(data, Mapping) and _is_json_media_type(content_type):
        json = data
    if json is not None:
        return jsonlib.dumps(json).encode("utf-8"), "application/json"
    if data is None:
        return b"", None
    if isinstance(data, (bytes, bytearray)):
        return bytes(data), None
    if isinstance(data, str):
        return data.encode("utf-8"), None
    if hasattr(data, "read"):
        return _encode_body(data.read(), None, content_type)
    if isinstance(data, (Mapping, list, tuple)):
        return urlencode(data, doseq=True).encode("ascii"), "application/x-www-form-urlencoded"
    raise TypeError(f"cannot send {type(data)!r} as a request body")


class Client:
    """Call a WSGI app in-process, like a browser session without sockets.

    ``app`` is any PEP 3333 callable (an Atila app, a dispatcher, ...).
    Cookies set by responses are kept in :attr:`cookies` (a
    :class:`http.cookies.SimpleCookie`; Max-Age=0 or a past Expires deletes
    one) and sent back on every request, regardless of domain and path.
    Exceptions raised by the app propagate to the test.  HEAD responses have
    their body dropped, as a server would.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        script_name: str = "",
        url_scheme: str = "http",
        server_name: str = "localhost",
        server_port: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.script_name = script_name
        self.url_scheme = url_scheme
        self.server_name = server_name
        self.server_port = server_port
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})
        self.cookies = SimpleCookie()

    def set_default_header(self, name: str, value: str | None) -> None:
        """Send ``name: value`` with every request (``None`` removes it)."""
        if value is None:
            self.headers.pop(name, None)
        else:
            self.headers[name] = value

    def request(
        self,
        method: str,
        path: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Call the app once and return its :class:`Response`.

        ``params`` (mapping, pairs or str) is added to the query string;
        ``data`` is form-encoded when it is a mapping or pairs (JSON when the
        Content-Type header is JSON), sent as is when bytes or str;
        ``json`` is sent as ``application/json``.
        """
        merged = self._request_headers(headers)
        body, content_type = _encode_body(data, json, merged.get("content-type"))
        if content_type and "content-type" not in merged:
            merged["Content-Type"] = content_type
        environ = build_environ(
            method,
            path,
            query_string=_query_string(params),
            headers=merged.items(),
            body=body,
            script_name=self.script_name,
            url_scheme=self.url_scheme,
            server_name=self.server_name,
            server_port=self.server_port,
        )
        call = _WSGICall()
        call.run(self.app, environ)
        content = b"" if method.upper() == "HEAD" else bytes(call.body)
        response = Response(call.status or "", call.headers, content)
        self._store_cookies(response.cookies)
        return response

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Response:
        """Send a GET request."""
        return self.request("GET", path, params=params, **kwargs)

    def head(self, path: str, params: Any = None, **kwargs: Any) -> Response:
        """Send a HEAD request (the response body is dropped)."""
        return self.request("HEAD", path, params=params, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Response:
        """Send an OPTIONS request."""
        return self.request("OPTIONS", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        """Send a DELETE request."""
        return self.request("DELETE", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Response:
        """Send a POST request."""
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> Response:
        """Send a PUT request."""
        return self.request("PUT", path, data=data, **kwargs)

    def patch(self, path: str, data: Any = None, **kwargs: Any) -> Response:
        """Send a PATCH request."""
        return self.request("PATCH", path, data=data, **kwargs)

    def _request_headers(self, headers: Mapping[str, str] | None) -> CaseInsensitiveDict[str]:
        merged = self.headers.copy()
        merged.update(headers or {})
        jar = "; ".join(f"{m.key}={m.coded_value}" for m in self.cookies.values())
        if jar:
            merged["Cookie"] = "; ".join(c for c in (merged.get("cookie"), jar) if c)
        return merged

    def _store_cookies(self, received: SimpleCookie) -> None:
        for name, morsel in received.items():
            if _is_expired(morsel):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel


def _query_string(params: Any) -> str:
    if not params:
        return ""
    if isinstance(params, str):
        return params
    return urlencode(params, doseq=True)


#: Alias of :class:`Client` for code that wants to name the transport.
WSGIClient = Client
