"""Test clients: a live-server client and an in-process WSGI client.

This module owns the two ways a test talks to an application:

* :func:`test_client` starts a server script (``serve.py``) in its own process
  group on an ephemeral port, waits until it accepts connections and returns a
  :class:`LiveClient`, a :class:`requests.Session` bound to that server
  (seed section "App Testing & Generating API Document").
* :class:`Client` (alias :class:`WSGIClient`) calls any PEP 3333 WSGI callable
  directly, without sockets, and returns a :class:`Response`.  Its environ is
  built by :func:`build_environ`, the public hook for the engine's mount table.

Both clients share one rule from the seed's ``axios`` example: when the
Content-Type header is ``application/json``, a dict given as ``data`` is sent
as a JSON body; otherwise it is sent as form data.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json as jsonlib
import os
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import InsecureRequestWarning

from skitai.types import Environ, ExcInfo, WSGIApp

__all__ = [
    "Client", "LiveClient", "Response", "ServerProcess", "ServerStartError",
    "WSGIClient", "WSGIProtocolError", "build_environ", "test_client",
]  # fmt: skip

#: Seconds :meth:`ServerProcess.stop` waits after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 10.0
#: Default per-request socket timeout of a :class:`LiveClient` (never hang a test).
DEFAULT_REQUEST_TIMEOUT = 30.0

_OUTPUT_TAIL_BYTES = 4000
_CONNECT_TIMEOUT = 0.2
_POLL_INTERVAL = 0.05
_ABSOLUTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS = re.compile(r"^[1-9][0-9]{2} [^\r\n]*$")
_HOP_BY_HOP = frozenset(
    "connection keep-alive proxy-authenticate proxy-authorization te trailers"
    " transfer-encoding upgrade".split()
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_QUERY_SAFE = string.punctuation


def _is_json_media_type(content_type: str | None) -> bool:
    """Return True for ``application/json`` and ``application/*+json`` types."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _content_type(*header_sets: Mapping[str, Any] | None) -> str | None:
    """Content-Type from the first header set that names it (case-insensitive)."""
    for headers in header_sets:
        if not headers:
            continue
        lookup = CaseInsensitiveDict(headers)
        if "content-type" in lookup:
            return lookup["content-type"]
    return None


# --------------------------------------------------------------------------
# Live server
# --------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """The server script exited, or never accepted connections, while starting."""


class ServerProcess:
    """A server script running in its own process group.

    Its stdout and stderr go to one temporary file (never a pipe that could
    fill up); :meth:`output_tail` reads the end of it.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None,
        port: int,
    ) -> None:
        self.command = list(command)
        self.port = port
        self._log = tempfile.TemporaryFile()
        self._stopped = False
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has run."""
        return self._stopped

    def output_tail(self, limit: int = _OUTPUT_TAIL_BYTES) -> str:
        """The last ``limit`` bytes the server wrote, decoded as UTF-8."""
        if self._log.closed:
            return ""
        size = self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, size - limit))
        return self._log.read().decode("utf-8", "replace")

    def wait_ready(self, timeout: float) -> None:
        """Block until the server accepts TCP connections on 127.0.0.1.

        Raises :class:`ServerStartError` (with the output tail) when the
        process exits first or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise self._start_error(
                    f"exited with status {self.process.returncode} before accepting connections"
                )
            if _accepts_connections(self.port) and self.process.poll() is None:
                return
            if time.monotonic() >= deadline:
                raise self._start_error(
                    f"did not accept connections on port {self.port} within {timeout:g}s"
                )
            time.sleep(_POLL_INTERVAL)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds.

        Idempotent.  Stragglers left in the group by the leader are killed too.
        """
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
            self._signal_group(signal.SIGKILL)
        finally:
            self._log.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _start_error(self, what: str) -> ServerStartError:
        tail = self.output_tail()
        return ServerStartError(f"server {' '.join(self.command)!r} {what}; output:\n{tail}")


def _accepts_connections(port: int) -> bool:
    """True when a TCP connect to 127.0.0.1:``port`` succeeds."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=_CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def _free_port() -> int:
    """An ephemeral port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveClient(requests.Session):
    """A :class:`requests.Session` bound to a running server.

    Relative URLs (``"/users/100"``) are joined onto :attr:`base_url`;
    absolute URLs pass through.  When the effective Content-Type header is
    JSON, a dict given as ``data`` (also positionally, as in
    ``axios.patch('/users/100', {'last_name': 'Roh'})``) is sent as JSON.
    """

    def __init__(
        self,
        base_url: str,
        server: ServerProcess | None = None,
        *,
        verify: bool = True,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.server = server
        self.verify = verify
        self.request_timeout = request_timeout

    @property
    def port(self) -> int | None:
        """The port of :attr:`base_url`."""
        return urlsplit(self.base_url).port

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The server's :class:`subprocess.Popen`, if this client started one."""
        return self.server.process if self.server else None

    def url_for(self, url: str) -> str:
        """Join a relative URL onto :attr:`base_url`; return absolute URLs as is."""
        if _ABSOLUTE_URL.match(url):
            return url
        return self.base_url + (url if url.startswith("/") else "/" + url)

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; see :meth:`requests.Session.request`."""
        if kwargs.get("json") is None and isinstance(data, Mapping):
            if _is_json_media_type(_content_type(headers, self.headers)):
                kwargs["json"], data = data, None
        kwargs.setdefault("timeout", self.request_timeout)
        with warnings.catch_warnings():
            if kwargs.get("verify", self.verify) is False:
                warnings.simplefilter("ignore", InsecureRequestWarning)
            return super().request(
                method,
                self.url_for(url),
                params=params,
                data=data,
                headers=headers,
                **kwargs,
            )

    def set_default_header(self, name: str, value: str | None) -> None:
        """Send ``name: value`` with every request (``None`` removes it)."""
        if value is None:
            self.headers.pop(name, None)
        else:
            self.headers[name] = value

    def clone(self) -> LiveClient:
        """A new client sharing this one's cookie jar and server.

        Default headers, params and other settings are copied, so changing
        them on the clone does not affect this client.
        """
        twin = LiveClient(
            self.base_url,
            self.server,
            verify=bool(self.verify),
            request_timeout=self.request_timeout,
        )
        twin.verify = self.verify
        twin.headers = self.headers.copy()
        twin.cookies = self.cookies
        twin.auth = self.auth
        twin.cert = self.cert
        twin.params = dict(self.params)
        twin.proxies = dict(self.proxies)
        twin.hooks = {event: list(hooks) for event, hooks in self.hooks.items()}
        twin.trust_env = self.trust_env
        twin.max_redirects = self.max_redirects
        return twin

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the server (shared with clones) and close pooled connections.

        Idempotent; see :meth:`ServerProcess.stop`.
        """
        if self.server is not None:
            self.server.stop(grace)
        self.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _server_command(
    script: Path, port: int, *, devel: bool, silent: bool, args: Sequence[str]
) -> list[str]:
    command = [sys.executable, str(script), "--port", str(port)]
    if devel:
        command.append("--devel")
    if silent:
        command.append("--silent")
    return command + list(args)


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    merged.setdefault("PYTHONUNBUFFERED", "1")
    merged.update(env or {})
    return merged


def test_client(
    script: str | os.PathLike[str],
    port: int | None = None,
    *,
    ssl: bool = False,
    silent: bool = True,
    dry: bool = False,
    devel: bool = True,
    timeout: float = 30.0,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> LiveClient:
    """Start ``script`` as a server and return a :class:`LiveClient` for it.

    Runs ``python <script> --port <port> [--devel] [--silent] *args`` in the
    script's directory, in a new process group; ``port=None`` picks a free
    ephemeral port.  ``env`` adds to (does not replace) the environment.
    Waits up to ``timeout`` seconds for the port to accept connections and
    raises :class:`ServerStartError` (a ``RuntimeError``) with the server's
    output if it exits or times out first.  ``ssl=True`` makes the base URL
    ``https`` without certificate verification.  ``dry`` is accepted for
    compatibility with the seed API and has no effect.

    Seed section: "App Testing & Generating API Document".
    """
    del dry  # accepted for seed compatibility
    if isinstance(args, str):
        raise TypeError("args must be a sequence of strings, not a string")
    script_path = Path(script).resolve()
    if not script_path.is_file():
        raise FileNotFoundError(f"server script not found: {script_path}")
    port = port or _free_port()
    command = _server_command(script_path, port, devel=devel, silent=silent, args=args)
    server = ServerProcess(command, cwd=script_path.parent, env=_child_env(env), port=port)
    try:
        server.wait_ready(timeout)
    except BaseException:
        server.stop()
        raise
    scheme = "https" if ssl else "http"
    return LiveClient(f"{scheme}://127.0.0.1:{port}", server, verify=not ssl)


test_client.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# --------------------------------------------------------------------------
# In-process WSGI client
# --------------------------------------------------------------------------


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
