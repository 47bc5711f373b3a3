"""HTTP client corequests on the worker's event loop (h11 over asyncio streams).

``HttpClient.request`` returns a :class:`~skitai.corequests.Task` whose value
is an :class:`HttpResponse`.  Connections are kept alive and reused per
origin (scheme, host, port); a reused connection the server had closed is
retried once on a new one (idempotent methods only).  Failures: cannot connect → ``503``, bad or cut
response → ``502``, too slow → ``504``.  ``task.fetch()`` gives the decoded
body (JSON as Python objects, text otherwise) and raises ``502`` when the
upstream answered an error status; ``task.dispatch()`` keeps the upstream's
``status_code``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
import xmlrpc.client
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import h11

from .errors import BackendDropped, BackendUnavailable, CorequestError
from .results import Task

if TYPE_CHECKING:
    from .service import Corequests

#: Idle keep-alive connections kept per origin.
MAX_IDLE_PER_ORIGIN = 10
_READ_SIZE = 65536
USER_AGENT = "skitai-corequests"
#: Methods retried once when a kept-alive connection turns out closed.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamError(CorequestError):
    """The upstream answered an error status (``task.fetch()`` on it)."""

    status = "502 Bad Gateway"


class HttpResponse:
    """An upstream's response: ``status_code``, ``reason``, ``headers``, ``content``."""

    def __init__(
        self, status_code: int, reason: str, headers: list[tuple[str, str]], content: bytes
    ):
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status_code} {self.reason}>"

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @property
    def content_type(self) -> str:
        """The media type, lower-case, without parameters."""
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        """The body as text (UTF-8 unless the Content-Type names a charset)."""
        charset = "utf-8"
        for part in (self.header("content-type") or "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON."""
        return jsonlib.loads(self.content)

    @property
    def data(self) -> Any:
        """JSON bodies decoded, XML-RPC responses unmarshalled, others as text."""
        kind = self.content_type
        if kind == "application/json" or kind.endswith("+json"):
            return self.json()
        if kind in ("text/xml", "application/xml") and b"<methodResponse" in self.content[:200]:
            return xmlrpc.client.loads(self.content, use_builtin_types=True)[0][0]
        return self.text

    def corequest_data(self) -> Any:
        """What ``task.fetch()`` returns: :attr:`data`; ``502`` for an error status."""
        if self.status_code >= 400:
            raise UpstreamError(f"upstream answered {self.status_code} {self.reason}")
        return self.data


class _Connection:
    __slots__ = ("reader", "writer", "h11", "reused", "answered")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.reused = False
        #: a response (head) arrived for the request in progress: never retried then
        self.answered = False

    def close(self) -> None:
        self.writer.close()


Origin = tuple[str, str, int]


class HttpClient:
    """Keep-alive HTTP/1.1 client of one worker (use it through the hub)."""

    def __init__(self, hub: Corequests) -> None:
        self.hub = hub
        self._idle: dict[Origin, list[_Connection]] = defaultdict(list)
        self._ssl = ssl.create_default_context()

    def resolve(self, url: str) -> tuple[str, float | None]:
        """``"@alias/path"`` → the alias's base URL + path, and the alias's timeout."""
        if not url.startswith("@"):
            return url, None
        name, slash, path = url.partition("/")
        alias = self.hub.alias(name)
        return alias.location + slash + path, alias.timeout

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> Task:
        """Send a request; ``data`` (bytes, str or form dict) or ``json`` is the body."""
        target, alias_timeout = self.resolve(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, doseq=True)
        header_list = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            header_list.append(("Content-Type", "application/json"))
        elif isinstance(data, dict):
            body = urlencode(data, doseq=True).encode()
            header_list.append(("Content-Type", "application/x-www-form-urlencoded"))
        elif data is not None:
            body = data.encode() if isinstance(data, str) else bytes(data)
        limit = timeout if timeout is not None else (alias_timeout or 30.0)
        coro = self._fetch(method.upper(), target, header_list, body)
        return self.hub.submit(coro, timeout=limit, **options)

    def rpc_call(self, url: str, method: str, params: tuple[Any, ...], **options: Any) -> Task:
        """An XML-RPC call of ``method`` (``fetch()`` gives its result)."""
        payload = xmlrpc.client.dumps(params, method, allow_none=True).encode()
        return self.request(
            "POST", url, data=payload, headers=[("Content-Type", "text/xml")], **options
        )

    async def _fetch(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> HttpResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin: Origin = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        request_headers = [("Host", host), ("User-Agent", USER_AGENT)]
        names = {name.lower() for name, _ in headers}
        request_headers = [h for h in request_headers if h[0].lower() not in names] + headers
        if body or method in ("POST", "PUT", "PATCH"):
            request_headers.append(("Content-Length", str(len(body))))
        while True:
            conn = await self._connect(origin)
            try:
                return await self._exchange(conn, origin, method, target, request_headers, body)
            except (OSError, h11.ProtocolError) as exc:
                conn.close()
                if conn.reused and method in _IDEMPOTENT and not conn.answered:
                    continue  # the server closed a kept-alive connection: retry on a new one
                raise BackendDropped(f"bad or cut response from {url}: {exc}") from None
            except BaseException:
                conn.close()
                raise

    async def _connect(self, origin: Origin) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                conn.reused = True
                return conn
            conn.close()
        scheme, host, port = origin
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=self._ssl if scheme == "https" else None
            )
        except OSError as exc:
            raise BackendUnavailable(f"upstream {host}:{port} is unavailable: {exc}") from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        origin: Origin,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> HttpResponse:
        machine = conn.h11
        conn.answered = False
        out = machine.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            out += machine.send(h11.Data(data=body))
        out += machine.send(h11.EndOfMessage())
        conn.writer.write(out)
        await conn.writer.drain()
        response: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            event = machine.next_event()
            if event is h11.NEED_DATA:
                # b"" (EOF) ends a close-delimited body; h11 raises if it cut the response
                machine.receive_data(await conn.reader.read(_READ_SIZE))
                continue
            if isinstance(event, h11.Response):
                response = event
                conn.answered = True
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("connection closed before a response")
        assert response is not None
        self._keep(conn, origin)
        return HttpResponse(
            response.status_code,
            response.reason.decode("latin-1"),
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers],
            b"".join(chunks),
        )

    def _keep(self, conn: _Connection, origin: Origin) -> None:
        machine = conn.h11
        if machine.our_state is h11.DONE and machine.their_state is h11.DONE:
            machine.start_next_cycle()
            idle = self._idle[origin]
            if len(idle) < MAX_IDLE_PER_ORIGIN:
                idle.append(conn)
                return
        conn.close()


__all__ = ["HttpClient", "HttpResponse", "UpstreamError"]
