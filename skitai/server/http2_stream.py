"""One HTTP/2 stream as the containers see it: an :class:`H2Exchange` and its :class:`H2Stream`.

The WSGI container, the ASGI container and the static files answer an
:class:`~skitai.server.exchange.Exchange` and reach its connection through
``exchange.protocol`` (``loop``, ``lost``, ``writable``, ``drain()``,
``wait_lost()``, ``exchange_done()``).  On HTTP/2 that "protocol" is the
stream: :class:`H2Stream` gives each stream those members, with its own flow
control, so every container works over HTTP/2 unchanged.  :class:`H2Exchange`
writes the response as HEADERS and DATA frames through the connection
(:class:`skitai.server.http2.H2Protocol`) instead of HTTP/1.1 bytes.
"""

from __future__ import annotations

import asyncio
import os
import threading
import zlib
from collections.abc import Sequence
from time import monotonic
from typing import IO, TYPE_CHECKING

from .body import RequestBody
from .errors import ClientDisconnected
from .exchange import EncodedHeaders, Exchange

if TYPE_CHECKING:
    from .http2 import H2Protocol

#: Response bytes one stream may queue (beyond its flow-control window) before
#: its writer waits, as ``Transport.pause_writing`` makes an HTTP/1.1 writer wait.
STREAM_HIGH_WATER = 64 * 1024
#: Bytes read from a file per DATA write (static files, ``wsgi.file_wrapper``).
FILE_CHUNK = 64 * 1024
#: HTTP/2 error code CANCEL (RFC 9113 §7), used when the engine gives a stream up.
CANCEL = 0x8
#: HTTP/2 error code INTERNAL_ERROR: the response could not be completed.
INTERNAL_ERROR = 0x2


class H2Stream:
    """One stream of an HTTP/2 connection: what an exchange calls its ``protocol``."""

    def __init__(self, connection: H2Protocol, stream_id: int) -> None:
        self.connection = connection
        self.stream_id = stream_id
        self.state = connection.state
        self.config = connection.config
        self.loop = connection.loop
        self.peer = connection.peer
        self.sockname = connection.sockname
        self.scheme = connection.scheme
        #: set while this stream may queue more output (thread-side flow control)
        self.writable = threading.Event()
        self.writable.set()
        #: the client reset the stream or the connection is gone
        self.lost = False
        #: an HTTP/1.1 notion (close after the response): never on a stream
        self.closing = False
        self.exchange: H2Exchange | None = None
        #: response body bytes waiting for flow-control window
        self.pending = bytearray()
        #: the response is complete once ``pending`` is sent
        self.end_pending = False
        #: trailer fields sent with the end of the stream (gRPC status, ASGI trailers)
        self.trailers: list[tuple[bytes, bytes]] | None = None
        #: the END_STREAM flag went out: nothing more is sent on this stream
        self.ended = False
        #: the client's END_STREAM arrived
        self.remote_ended = False
        #: request-body bytes held back from the client's window while the body buffer is full
        self.unacked = 0
        self.last_data = monotonic()
        #: since when output waits for a window the client does not open (None: not stalled)
        self.stalled_since: float | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost_waiter: asyncio.Future[None] | None = None

    @property
    def transport(self) -> asyncio.Transport | None:
        """The connection's transport (None once it is gone)."""
        return self.connection.transport

    @property
    def draining(self) -> bool:
        """The worker is stopping (the connection sent GOAWAY)."""
        return self.connection.draining

    async def drain(self) -> None:
        """Wait (on the loop) until this stream may queue more output."""
        while not self.writable.is_set() and not self.lost:
            self._drain_waiter = self.loop.create_future()
            await self._drain_waiter

    def wait_lost(self) -> asyncio.Future[None]:
        """A future done once the client reset the stream or the connection is lost."""
        if self._lost_waiter is None:
            self._lost_waiter = self.loop.create_future()
            if self.lost:
                self._lost_waiter.set_result(None)
        return self._lost_waiter

    def exchange_done(self, exchange: Exchange) -> None:
        """Called by the exchange when its response is complete (or given up)."""
        self.connection.exchange_done(self)

    def body_drained(self) -> None:
        """Called from a handler thread when it has read the body buffer down."""
        self.loop.call_soon_threadsafe(self.connection.release_window, self)

    def update_writable(self) -> None:
        """Let writers go on while little is queued and the socket takes output."""
        if self.lost or (len(self.pending) < STREAM_HIGH_WATER and self.connection.socket_writable):
            self.writable.set()
            waiter = self._drain_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        else:
            self.writable.clear()

    def mark_lost(self) -> None:
        """The stream is gone: wake every waiter, fail the body's readers."""
        if self.lost:
            return
        self.lost = True
        self.pending.clear()
        self.update_writable()
        if self._lost_waiter is not None and not self._lost_waiter.done():
            self._lost_waiter.set_result(None)
        exchange = self.exchange
        if exchange is not None:
            exchange.wake_writers()
            if exchange.body is not None:
                exchange.body.abort(ClientDisconnected("the client reset the stream"))


#: Fields HTTP/2 forbids (RFC 9113 §8.2.2) that :data:`~skitai.server.exchange.HOP_BY_HOP`
#: lets through (``Upgrade`` with a 426, ``Proxy-Connection``).
_CONNECTION_SPECIFIC = frozenset((b"upgrade", b"proxy-connection"))


def _h2_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """HTTP/2 fields from encoded ``b"Name: value\\r\\n"`` lines (names lower-cased)."""
    out = []
    for line in lines:
        name, _, value = line[:-2].partition(b":")
        name = name.lower()
        if name not in _CONNECTION_SPECIFIC:
            out.append((name, value.strip()))
    return out


class H2Exchange(Exchange):
    """An exchange whose response goes out as HTTP/2 frames on its stream."""

    __slots__ = ("stream",)

    def __init__(
        self,
        stream: H2Stream,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: RequestBody | None,
        content_length: int | None,
        expect_continue: bool,
    ) -> None:
        super().__init__(
            stream,  # type: ignore[arg-type]  # the stream stands in for the connection
            method,
            target,
            "2.0",
            headers,
            True,
            body,
            content_length,
            expect_continue,
        )
        self.stream = stream
        stream.exchange = self

    @property
    def closed(self) -> bool:
        """True when the client reset the stream or left."""
        return self.stream.lost

    def send_continue(self) -> None:
        """Send an interim ``100`` HEADERS frame once, when the client waits for it."""
        if self.expect_continue and not self._continue_sent and not self.started:
            self._continue_sent = True
            self.stream.connection.send_head(self.stream, [(b":status", b"100")], False)

    def _h2_head(
        self,
        status: str,
        headers: Sequence[tuple[str, str]] | EncodedHeaders,
        length: int | None,
        body: bytes,
        compress: bool,
        streaming: bool,
    ) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The response's header fields (``:status`` first) and its maybe gzipped body."""
        code, fields, length, no_body_status = self._response_fields(status, headers, length)
        out = [(b":status", b"%d" % code), *_h2_fields(fields.lines)]
        if compress and self._wants_gzip(fields, code, length):
            self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
            out += ((b"content-encoding", b"gzip"), (b"vary", b"accept-encoding"))
            if streaming:
                length = None
            else:
                body = self._gzip.compress(body) + self._gzip.flush()
                self._gzip = None
                length = len(body)
        state = self.stream.state
        if not fields.has_server:
            out.append((b"server", state.server_header[8:-2]))  # b"Server: x\r\n"
        out.append((b"date", state.date_header[6:-2]))
        if length is not None and not no_body_status:
            out.append((b"content-length", b"%d" % length))
        return out, body

    def respond(
        self, status: str, headers: Sequence[tuple[str, str]] | EncodedHeaders, body: bytes = b""
    ) -> None:
        """Send a complete response and finish the exchange."""
        if self.started or self.closed:
            self._finish()
            return
        if status[:3] == "101":  # no protocol switch inside a stream
            status, headers, body = "500 Internal Server Error", [], b"Internal Server Error\n"
        self.started = True
        fields, body = self._h2_head(status, headers, len(body), body, True, False)
        connection = self.stream.connection
        if self._no_body or not body:
            connection.send_head(self.stream, fields, True)
        else:
            connection.send_head(self.stream, fields, False)
            connection.send_body(self.stream, body, True)
            self.bytes_sent += len(body)
        self._finish()

    def start(
        self,
        status: str,
        headers: Sequence[tuple[str, str]] | EncodedHeaders,
        length: int | None = None,
        compress: bool = True,
    ) -> None:
        """Send the response head of a streamed response."""
        if self.started:
            return
        self.started = True
        fields, _ = self._h2_head(status, headers, length, b"", compress, True)
        if not self.closed:
            self.stream.connection.send_head(self.stream, fields, False)

    def write(self, data: bytes) -> None:
        """Queue a piece of a streamed response body (sent as the window allows)."""
        if self._no_body or not data or self.closed:
            return
        if self._gzip is not None:
            data = self._gzip.compress(data)
            if not data:
                return
        self.bytes_sent += len(data)
        self.stream.connection.send_body(self.stream, data, False)

    def end(self) -> None:
        """Finish a streamed response: END_STREAM once the queued body is sent."""
        if self.finished:
            return
        if not self.closed:
            tail = b""
            if self._gzip is not None:
                tail = self._gzip.flush()
                self._gzip = None
            self.bytes_sent += len(tail)
            self.stream.connection.send_body(self.stream, tail, True)
        self._finish()

    def end_with_trailers(self, trailers: EncodedHeaders) -> None:
        """Finish a streamed response with a trailer section (gRPC status, ASGI trailers)."""
        self.stream.trailers = _h2_fields(trailers.lines)
        self.end()

    def abort(self) -> None:
        """The response cannot be completed: reset the stream (the connection serves on)."""
        self.stream.connection.reset(self.stream, INTERNAL_ERROR if self.started else CANCEL)
        self._finish()

    async def send_file(self, file: IO[bytes], offset: int, count: int) -> None:
        """Send ``count`` bytes of ``file`` from ``offset``, paced by the stream's window."""
        if self._no_body:
            self.end()
            return
        file_fd = file.fileno()
        remaining = count
        stream = self.stream
        while remaining > 0 and not self.closed:
            await stream.drain()
            if self.closed:
                break
            data = os.pread(file_fd, min(remaining, FILE_CHUNK), offset)
            if not data:
                break
            stream.connection.send_body(stream, data, False)
            offset += len(data)
            remaining -= len(data)
            self.bytes_sent += len(data)
        if remaining > 0:
            self.abort()
        else:
            self.end()


__all__ = ["H2Exchange", "H2Stream", "STREAM_HIGH_WATER"]
