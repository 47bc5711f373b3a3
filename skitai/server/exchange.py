"""One HTTP/1.x request/response exchange.

An ``Exchange`` holds the parsed request head and body, and writes the
response: framing (``Content-Length``, chunked or close-delimited), ``HEAD``,
gzip, the ``Date``/``Server`` headers, files by ``sendfile``.  Methods without a
``threadsafe_`` prefix run on the event loop; handler threads use the
``threadsafe_*`` ones, which hand work to the loop and honour flow control.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from .body import RequestBody
from .errors import ClientDisconnected

if TYPE_CHECKING:
    from .http11 import HttpProtocol
    from .websocket import WebSocket

#: Content types worth compressing (prefixes of the media type).
COMPRESSIBLE_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/ld+json",
    "image/svg+xml",
)
#: Headers a WSGI application may not set (PEP 3333: hop-by-hop).
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    )
)
#: Seconds a handler thread waits for a slow client to drain the output.
WRITE_TIMEOUT = 60.0
#: Bytes a handler thread may queue for the event loop before it waits.
MAX_QUEUED_WRITE = 256 * 1024
SENDFILE_CHUNK = 1 << 20


def _no_body_status(code: int) -> bool:
    return code < 200 or code in (204, 304)


def accepts_gzip(value: bytes) -> bool:
    """Return True when an ``Accept-Encoding`` value admits gzip (q > 0).

    An explicit ``gzip`` entry wins over ``*`` wherever it appears
    (``*, gzip;q=0`` refuses gzip).
    """
    star = False
    for item in value.lower().split(b","):
        coding, _, params = item.partition(b";")
        coding = coding.strip()
        if coding not in (b"gzip", b"*"):
            continue
        accepted = True
        for param in params.split(b";"):
            key, _, q = param.strip().partition(b"=")
            if key == b"q":
                try:
                    accepted = float(q) > 0
                except ValueError:
                    accepted = False
        if coding == b"gzip":
            return accepted
        star = accepted
    return star


class EncodedHeaders:
    """Response header fields as they go out, and what the head must know of them.

    ``lines`` are the ``b"Name: value\\r\\n"`` lines to send: hop-by-hop fields
    (PEP 3333) and ``Content-Length`` left out (the exchange frames the body),
    ``length`` the declared ``Content-Length``, ``close`` a ``Connection: close``
    the app asked for, ``content_type`` the media type (for gzip), ``encoded`` a
    ``Content-Encoding`` present, ``has_server`` a ``Server`` field of the app's.
    """

    __slots__ = ("lines", "length", "close", "content_type", "encoded", "has_server")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.length: int | None = None
        self.close = False
        self.content_type: str | None = None
        self.encoded = False
        self.has_server = False

    @classmethod
    def from_pairs(cls, headers: Sequence[tuple[str, str]], code: int) -> EncodedHeaders:
        """Scan ``(str, str)`` pairs (a WSGI app's, the engine's own) for status ``code``."""
        fields = cls()
        lines = fields.lines
        for name, value in headers:
            lname = name.lower()
            if lname in HOP_BY_HOP:
                if lname == "connection" and value.lower() == "close":
                    fields.close = True
                if not (lname == "upgrade" and code == 426):  # RFC 9110 §15.5.22 needs it
                    continue
            if lname == "content-length":
                fields.length = int(value)
                continue
            if lname == "content-type":
                fields.content_type = value
            elif lname == "content-encoding":
                fields.encoded = True
            elif lname == "server":
                fields.has_server = True
            lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
        return fields


class Exchange:
    """A request head, its body, and the response being written for it."""

    __slots__ = (
        "protocol",
        "method",
        "target",
        "path",
        "query",
        "version",
        "headers",
        "keep_alive",
        "body",
        "content_length",
        "body_limit",
        "expect_continue",
        "dispatched",
        "started",
        "finished",
        "status_code",
        "bytes_sent",
        "_chunked",
        "_gzip",
        "_no_body",
        "_continue_sent",
        "_queued",
        "_queued_cond",
        "websocket_request",
        "websocket",
        "_forwarded_client",
        "_forwarded_scheme",
    )

    def __init__(
        self,
        protocol: HttpProtocol,
        method: str,
        target: bytes,
        version: str,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        body: RequestBody | None,
        content_length: int | None,
        expect_continue: bool,
    ) -> None:
        self.protocol = protocol
        self.method = method
        self.target = target
        path, _, query = target.partition(b"?")
        #: raw (still percent-encoded) path and query, as bytes
        self.path = path
        self.query = query
        self.version = version
        #: header (lower-cased name, value) pairs in arrival order
        self.headers = headers
        self.keep_alive = keep_alive
        self.body = body
        self.content_length = content_length
        #: largest body accepted for this request (set by the protocol)
        self.body_limit = 0
        self.expect_continue = expect_continue
        self.dispatched = False
        self.started = False
        self.finished = False
        self.status_code = 0
        self.bytes_sent = 0
        self._chunked = False
        self._gzip: zlib._Compress | None = None  # type: ignore[name-defined]
        self._no_body = False
        self._continue_sent = False
        self._queued = 0  # bytes a handler thread queued for the loop to write
        self._queued_cond: threading.Condition | None = None
        #: the request asks to switch to WebSocket (set by the protocol)
        self.websocket_request = False
        #: the WebSocket the application accepted (``environ["skitai.websocket"]``)
        self.websocket: WebSocket | None = None
        self._forwarded_client: tuple[str, int] | None = None
        self._forwarded_scheme: str | None = None

    def forwarded(self, client: str | None, scheme: str | None) -> None:
        """A trusted proxy says who the client is and which scheme it spoke
        (:mod:`skitai.server.proxy`): :attr:`client` and :attr:`scheme` follow."""
        if client is not None:
            self._forwarded_client = (client, 0)  # the client's port is not forwarded
        if scheme is not None:
            self._forwarded_scheme = scheme

    # -- request helpers ---------------------------------------------------------
    def header(self, name: bytes) -> bytes | None:
        """Return the first value of a request header (``name`` lower-case)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def client(self) -> tuple[str, int]:
        """The client's (address, port): the peer's, or what a trusted proxy forwarded."""
        return self._forwarded_client or self.protocol.peer

    @property
    def server(self) -> tuple[str, int]:
        """The local (address, port) the request came in on."""
        return self.protocol.sockname

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` (as the client spoke it, when a trusted proxy says so)."""
        return self._forwarded_scheme or self.protocol.scheme

    @property
    def closed(self) -> bool:
        """True when the client has gone away."""
        return self.protocol.transport is None or self.protocol.transport.is_closing()

    def send_continue(self) -> None:
        """Send ``100 Continue`` once, when the client waits for it."""
        if self.expect_continue and not self._continue_sent and not self.started:
            self._continue_sent = True
            if not self.closed:
                self.protocol.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- response head -------------------------------------------------------------
    def _response_fields(
        self, status: str, headers: Sequence[tuple[str, str]] | EncodedHeaders, length: int | None
    ) -> tuple[int, EncodedHeaders, int | None, bool]:
        """The status code, the checked header fields, the body length they declare (else
        ``length``) and whether the status has no body; records the status on the exchange.

        ``headers`` already checked and encoded (:class:`EncodedHeaders`, the ASGI
        container's) are used as they are; ``(str, str)`` pairs are scanned here.
        """
        code = int(status[:3])
        if type(headers) is EncodedHeaders:
            fields = headers
        else:
            fields = EncodedHeaders.from_pairs(headers, code)  # type: ignore[arg-type]
        if fields.length is not None:
            length = fields.length
        self.status_code = code
        no_body_status = code < 200 or code == 204 or code == 304
        self._no_body = no_body_status or self.method == "HEAD"
        return code, fields, length, no_body_status

    def _wants_gzip(self, fields: EncodedHeaders, code: int, length: int | None) -> bool:
        """The engine's gzip rule: a 200 of a compressible type, not already encoded, at
        least ``gzip_min_size`` long (or of unknown length), from a client that accepts it."""
        config = self.protocol.state.config
        content_type = fields.content_type
        if (
            code != 200
            or content_type is None
            or fields.encoded
            or not config.gzip
            or (length is not None and length < config.gzip_min_size)
            or not content_type.startswith(COMPRESSIBLE_TYPES)
        ):
            return False
        accept = self.header(b"accept-encoding")
        return accept is not None and accepts_gzip(accept)

    def _head(
        self,
        status: str,
        headers: Sequence[tuple[str, str]] | EncodedHeaders,
        length: int | None,
        body: bytes,
        compress: bool = True,
        streaming: bool = False,
    ) -> tuple[bytes, bytes]:
        """Build the response head; return it and the (maybe gzipped) body.

        ``streaming`` responses send their body later: when gzipped, their
        length is unknown and they go out chunked.  ``headers`` already checked
        and encoded (:class:`EncodedHeaders`, the ASGI container's) are used as
        they are; ``(str, str)`` pairs are scanned here.
        """
        code, fields, length, no_body_status = self._response_fields(status, headers, length)
        out = [b"HTTP/1.1 ", status.encode("latin-1"), b"\r\n", *fields.lines]
        close = fields.close or not self.keep_alive or self.protocol.closing
        state = self.protocol.state
        if compress and self._wants_gzip(fields, code, length):
            self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
            out.append(b"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n")
            if streaming:
                length = None
            else:
                body = self._gzip.compress(body) + self._gzip.flush()
                self._gzip = None
                length = len(body)
        if not fields.has_server:
            out.append(state.server_header)
        out.append(state.date_header)
        if length is not None:
            if not no_body_status:
                out += (b"Content-Length: ", b"%d" % length, b"\r\n")
        elif not no_body_status:
            if self.version == "1.1":
                self._chunked = not self._no_body
                if self._chunked:
                    out.append(b"Transfer-Encoding: chunked\r\n")
            else:
                close = True
        if close:
            self.keep_alive = False
            out.append(b"Connection: close\r\n")
        elif self.version == "1.0":
            out.append(b"Connection: keep-alive\r\n")
        out.append(b"\r\n")
        return b"".join(out), body

    # -- loop side ---------------------------------------------------------------------
    def respond(
        self, status: str, headers: Sequence[tuple[str, str]] | EncodedHeaders, body: bytes = b""
    ) -> None:
        """Send a complete response in one write and finish the exchange."""
        if self.started or self.closed:
            self._finish()
            return
        if status[:3] == "101":
            if self.websocket is not None:
                self.started = True
                self.status_code = 101
                self.protocol.switch_to_websocket(self, headers)
                return
            # 101 switches to a protocol the engine speaks only when the app accepted it
            status, headers, body = "500 Internal Server Error", [], b"Internal Server Error\n"
        self.started = True
        head, body = self._head(status, headers, len(body), body)
        if self._no_body:
            self.protocol.transport.write(head)
        else:
            self.protocol.transport.write(head + body)
            self.bytes_sent += len(body)
        self._finish()

    def start(
        self,
        status: str,
        headers: Sequence[tuple[str, str]] | EncodedHeaders,
        length: int | None = None,
        compress: bool = True,
    ) -> None:
        """Send the response head of a streamed response.

        ``length`` is the body size when known; ``compress=False`` keeps the
        body as it is (files sent by ``send_file``).
        """
        if self.started:
            return
        self.started = True
        head, _ = self._head(status, headers, length, b"", compress, streaming=True)
        if not self.closed:
            self.protocol.transport.write(head)

    def write(self, data: bytes) -> None:
        """Send a piece of a streamed response body."""
        if self._no_body or not data or self.closed:
            return
        if self._gzip is not None:
            data = self._gzip.compress(data)
            if not data:
                return
        self.bytes_sent += len(data)
        if self._chunked:
            self.protocol.transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.protocol.transport.write(data)

    def end(self) -> None:
        """Finish a streamed response."""
        if self.finished:
            return
        if not self._no_body and not self.closed:
            tail = b""
            if self._gzip is not None:
                tail = self._gzip.flush()
                self._gzip = None
            if self._chunked:
                if tail:
                    self.protocol.transport.write(b"%x\r\n%b\r\n0\r\n\r\n" % (len(tail), tail))
                else:
                    self.protocol.transport.write(b"0\r\n\r\n")
            elif tail:
                self.protocol.transport.write(tail)
            self.bytes_sent += len(tail)
        self._finish()

    def abort(self) -> None:
        """Drop the connection: the response cannot be completed."""
        self.keep_alive = False
        if self.protocol.transport is not None:
            self.protocol.transport.abort()
        self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.protocol.exchange_done(self)

    async def send_file(self, file: IO[bytes], offset: int, count: int) -> None:
        """Send ``count`` bytes of ``file`` from ``offset`` as the body.

        Uses ``os.sendfile`` on the socket while the kernel takes the bytes
        without blocking; when it would block, one chunk is read and queued on
        the transport, whose flow control then paces the rest.  Gzip and
        chunked framing are not used for files.
        """
        if self._no_body:
            self.end()
            return
        sock = self.protocol.transport.get_extra_info("socket") if not self.closed else None
        fd = sock.fileno() if sock is not None and self.protocol.scheme == "http" else -1
        file_fd = file.fileno()
        remaining = count
        while remaining > 0 and not self.closed:
            await self.protocol.drain()
            if self.closed:
                break
            sent = 0
            if fd >= 0 and self.protocol.transport.get_write_buffer_size() == 0:
                try:
                    sent = os.sendfile(fd, file_fd, offset, min(remaining, SENDFILE_CHUNK))
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    fd = -1
                    sent = 0
                if sent == 0 and fd >= 0 and remaining > 0:
                    # Socket full: queue one chunk; drain() waits for the transport.
                    data = os.pread(file_fd, min(remaining, 65536), offset)
                    if not data:
                        break
                    self.protocol.transport.write(data)
                    sent = len(data)
            else:
                data = os.pread(file_fd, min(remaining, 65536), offset)
                if not data:
                    break
                self.protocol.transport.write(data)
                sent = len(data)
            offset += sent
            remaining -= sent
            self.bytes_sent += sent
        if remaining > 0:
            self.abort()
        else:
            self.end()

    # -- thread side ---------------------------------------------------------------------
    def threadsafe_respond(
        self, status: str, headers: Sequence[tuple[str, str]], body: bytes = b""
    ) -> None:
        """``respond`` from a handler thread."""
        self.protocol.loop.call_soon_threadsafe(self.respond, status, headers, body)

    def threadsafe_start(
        self,
        status: str,
        headers: Sequence[tuple[str, str]],
        length: int | None = None,
        compress: bool = True,
    ) -> None:
        """``start`` from a handler thread."""
        self.protocol.loop.call_soon_threadsafe(self.start, status, headers, length, compress)

    def threadsafe_write(self, data: bytes) -> None:
        """``write`` from a handler thread, waiting while the client is slow.

        At most ``MAX_QUEUED_WRITE`` bytes may wait for the loop to hand them
        to the transport: the transport's own pause comes only once the loop
        runs, and a fast producer could otherwise queue without bound.  Raises
        ``ClientDisconnected`` when the client has gone or does not read for
        ``WRITE_TIMEOUT`` seconds.
        """
        protocol = self.protocol
        if protocol.lost:
            raise ClientDisconnected("client disconnected")
        cond = self._queued_cond
        if cond is None:
            cond = self._queued_cond = threading.Condition(threading.Lock())
        with cond:
            while self._queued >= MAX_QUEUED_WRITE and not protocol.lost:
                if not cond.wait(WRITE_TIMEOUT):
                    raise ClientDisconnected("client stopped reading")
            self._queued += len(data)
        if not protocol.writable.wait(WRITE_TIMEOUT) or protocol.lost:
            raise ClientDisconnected("client stopped reading")
        protocol.loop.call_soon_threadsafe(self._write_queued, data)

    def _write_queued(self, data: bytes) -> None:
        """Loop side of ``threadsafe_write``: write, then release the queue budget."""
        self.write(data)
        cond = self._queued_cond
        if cond is not None:
            with cond:
                self._queued -= len(data)
                cond.notify()

    def wake_writers(self) -> None:
        """Wake a handler thread waiting in ``threadsafe_write`` (connection lost)."""
        cond = self._queued_cond
        if cond is not None:
            with cond:
                cond.notify_all()

    def threadsafe_end(self) -> None:
        """``end`` from a handler thread."""
        self.protocol.loop.call_soon_threadsafe(self.end)

    def threadsafe_abort(self) -> None:
        """``abort`` from a handler thread."""
        self.protocol.loop.call_soon_threadsafe(self.abort)

    def threadsafe_send_file(self, file: IO[bytes], offset: int, count: int) -> None:
        """``send_file`` from a handler thread (the file is closed afterwards)."""

        def _start() -> None:
            task = self.protocol.loop.create_task(self.send_file(file, offset, count))
            task.add_done_callback(lambda _t: file.close())

        self.protocol.loop.call_soon_threadsafe(_start)


__all__ = ["Exchange", "EncodedHeaders", "accepts_gzip", "COMPRESSIBLE_TYPES"]
