"""HTTP/1.1 connections on asyncio, parsed by ``httptools`` (llhttp).

``HttpProtocol`` owns one connection: it feeds bytes to the parser, enforces
the limits of :mod:`skitai.config` (414, 431, 413, 408; chunk extensions and
trailers through :mod:`skitai.server.limits`), answers a body cut short by the
client's close with 400 at once, refuses ambiguous framing (RFC 9112 §6,
request smuggling) with 400 and a closed connection, keeps pipelined requests in
order, and hands each complete request head to the server's dispatcher as an
:class:`~skitai.server.exchange.Exchange`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence
from time import monotonic
from typing import TYPE_CHECKING

import httptools

from . import http2
from .body import RequestBody
from .draining import has_unread_input, idle_grace
from .errors import (
    BadRequest,
    ClientDisconnected,
    ContentTooLarge,
    HeadersTooLarge,
    ProtocolError,
    RequestTimeout,
    URITooLong,
)
from .exchange import Exchange
from .limits import BLANK_LINE, ChunkedBodyMeter, blank_line_ends
from .websocket import is_upgrade_request

if TYPE_CHECKING:
    from .state import ServerState
    from .websocket import WebSocket

#: Parsed requests allowed to wait behind the one being answered.
MAX_PIPELINE = 16
#: Seconds a connection refused with 503 (over ``max_connections``) is drained before closing.
OVER_LIMIT_LINGER = 2.0


class HttpProtocol(asyncio.Protocol):
    """One HTTP/1.x connection."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.config = state.config
        self.loop = state.loop
        #: largest request head (line + headers) held before refusing with 431
        self._head_limit = self.config.max_header_size + self.config.max_uri_size
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.sockname: tuple[str, int] = ("", 0)
        self.scheme = "http"
        #: parsed exchanges in arrival order; the first one is being answered
        self.pipeline: deque[Exchange] = deque()
        #: set while the transport accepts more output (thread-side flow control)
        self.writable = threading.Event()
        self.writable.set()
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost_waiter: asyncio.Future[None] | None = None
        self._client_eof = False
        self.lost = False
        #: close once the exchanges in the pipeline are answered
        self.closing = False
        #: the worker is stopping: see :mod:`skitai.server.draining` for the policy
        self.draining = False
        self._pending_error: ProtocolError | None = None
        self._over_limit = False
        self._reading_paused = False
        # parser state of the request being received
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        #: bytes of the header fields received, as ``max_header_size`` counts them
        self._fields_size = 0
        self._head_size = 0
        self._in_head = False
        #: size of the chunk being fed, counted as head bytes if a message begins it
        self._chunk_size = 0
        #: the last bytes received, for a blank line split between two reads
        self._tail = b""
        #: chunk extensions and trailers of the chunked body being received
        self._meter: ChunkedBodyMeter | None = None
        self._receiving: Exchange | None = None
        self._head_started = 0.0
        self._last_data = 0.0
        self._idle_since = 0.0
        self._requests = 0
        #: set once the connection switched to WebSocket: it gets every byte from then on
        self.websocket: WebSocket | None = None
        #: bytes that followed an upgrade request (the client's first frames)
        self._upgrade_tail = b""
        #: a request that asked to switch to HTTP/2 (``Upgrade: h2c``)
        self._h2c_upgrade: Exchange | None = None

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        sockname = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.peer = (str(peer[0]), int(peer[1]))
        if isinstance(sockname, tuple):
            self.sockname = (str(sockname[0]), int(sockname[1]))
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self._idle_since = monotonic()
        if not self.state.add_connection(self):
            self._refuse_over_limit()
        elif self.scheme == "https" and http2.negotiated(transport):
            http2.take_over(self)  # TLS chose HTTP/2 by ALPN

    def _refuse_over_limit(self) -> None:
        """Answer 503 to a connection over ``max_connections``, then close it gently.

        The client may already be sending its request: closing at once with
        unread data would make the kernel send a reset that can destroy the 503
        before the client reads it.  So the write side is shut, what arrives is
        discarded, and the socket is closed shortly after (lingering close).
        """
        self.closing = True
        self._over_limit = True
        transport = self.transport
        transport.write(
            _simple_response("503 Service Unavailable", "server is at its connection limit")
        )
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(OVER_LIMIT_LINGER, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.lost = True
        self.state.remove_connection(self)
        if self.websocket is not None:
            self.websocket.connection_lost()
        self.writable.set()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        if self._lost_waiter is not None and not self._lost_waiter.done():
            self._lost_waiter.set_result(None)
        error = ClientDisconnected("client disconnected")
        for exchange in self.pipeline:
            exchange.wake_writers()
            if exchange.body is not None:
                exchange.body.abort(error)
        if self._receiving is not None and self._receiving.body is not None:
            self._receiving.body.abort(error)
        self.transport = None

    def pause_writing(self) -> None:  # noqa: D102
        self.writable.clear()

    def resume_writing(self) -> None:  # noqa: D102
        self.writable.set()
        if self.websocket is not None:
            self.websocket.writable_again()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    async def drain(self) -> None:
        """Wait (on the loop) until the transport accepts more output."""
        if self.writable.is_set() or self.lost:
            return
        self._drain_waiter = self.loop.create_future()
        await self._drain_waiter

    def wait_lost(self) -> asyncio.Future[None]:
        """A future done once the client closed its side or the connection is lost
        (an ASGI ``http.disconnect``; what is pending may still be answered)."""
        if self._lost_waiter is None:
            self._lost_waiter = self.loop.create_future()
            if self.lost or self._client_eof:
                self._lost_waiter.set_result(None)
        return self._lost_waiter

    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.websocket is not None:
            self.websocket.feed(data)
            return
        if not self._last_data and data.startswith(http2.PREFACE_START) and not self._over_limit:
            http2.take_over(self, data)  # HTTP/2 with prior knowledge (h2c)
            return
        if self._over_limit:
            return  # refused with 503: drain and discard until the linger ends
        # Timestamps are exact (one clock read per chunk): the coarse clock of
        # ServerState can be up to a tick old and would cut timeouts short.
        self._last_data = monotonic()
        start = 0
        try:
            # Fed in pieces that end after each blank line: a request head then
            # ends a piece, which the chunked body meter relies on (limits.py).
            # The usual read, one whole request head, is the one piece itself.
            if data.find(BLANK_LINE) == len(data) - 4 and BLANK_LINE not in self._tail + data[:3]:
                self._feed(data)
            else:
                for end in blank_line_ends(self._tail, data):
                    self._feed(data[start:end] if end - start < len(data) else data)
                    start = end
        except httptools.HttpParserUpgrade as upgrade:
            if self._h2c_upgrade is not None:  # Upgrade: h2c (RFC 7540 §3.2)
                tail = data[start + upgrade.args[0] :] if upgrade.args else b""
                http2.upgrade(self, self._h2c_upgrade, tail)
                return
            # The parser stops at an upgrade: answer the request, then close, unless
            # the application accepts a WebSocket (switch_to_websocket).
            self.closing = True
            self._pause_reading()
            self._upgrade_tail = data[start + upgrade.args[0] :] if upgrade.args else b""
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, ProtocolError):
                self._reject(cause)
            else:
                raise
        except httptools.HttpParserError as exc:
            self._reject(BadRequest(f"malformed request: {exc}"))
        except ProtocolError as exc:
            self._reject(exc)
        self._tail = data[-3:]

    def _feed(self, piece: bytes) -> None:
        """Feed one piece to the parser and check the limits it does not enforce."""
        if self._in_head:
            # Checked after feeding: the head may end early in this piece, and
            # what follows it (pipelined requests) is not part of it.
            self._head_size += len(piece)
        self._chunk_size = len(piece)
        if self._meter is not None:
            self._meter.start_piece(piece)
        self.parser.feed_data(piece)
        if self._meter is not None:
            self._meter.end_piece()
        # Still inside a head: llhttp buffers the unfinished line (one piece at
        # most past the limit), so this is where a head too large is noticed,
        # whether it began in this piece or earlier.
        if self._in_head and self._head_size > self._head_limit:
            raise HeadersTooLarge("request head too large")

    def eof_received(self) -> bool | None:  # noqa: D102
        if self.websocket is not None:
            return None  # close: connection_lost tells the WebSocket (1006 without a close)
        self.closing = True
        self._in_head = False  # a head cut short is never answered: nothing to wait for
        self._client_eof = True
        if self._lost_waiter is not None and not self._lost_waiter.done():
            self._lost_waiter.set_result(None)  # an ASGI app hears http.disconnect (as uvicorn's)
        receiving = self._receiving
        if receiving is not None and receiving.body is not None:
            # The body ended early (half-close or close): say so now, never
            # wait for the body timeout.  Not yet dispatched, it is answered
            # 400 after what is ahead of it; being read by a handler, the read
            # raises this error (and the container answers 400).
            self._reject(BadRequest("request body incomplete: the client closed its side"))
        if not self.pipeline and self._pending_error is None:
            return None  # close now (once what was written is sent)
        return True  # keep the write side open to answer what is pending

    # -- httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:  # noqa: D102
        self._url = b""
        self._headers = []
        self._fields_size = 0
        # A message that begins a chunk owns (at most) all of it; one that
        # follows another message in the same chunk is counted from the next.
        self._head_size = self._chunk_size
        self._chunk_size = 0
        self._in_head = True
        self._head_started = self._last_data

    def on_url(self, url: bytes) -> None:  # noqa: D102
        self._url += url
        if len(self._url) > self.config.max_uri_size:
            raise URITooLong(f"request target longer than {self.config.max_uri_size} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        if not self._in_head:
            # A chunked body's trailer field: limited, and not merged into the
            # request's headers (the application has seen them already, or
            # would take a trailer for a header the client sent up front).
            if self._meter is not None:
                self._meter.trailer()
            return
        if len(self._headers) >= self.config.max_header_fields:
            raise HeadersTooLarge(f"more than {self.config.max_header_fields} header fields")
        self._headers.append((name.lower(), value))
        self._fields_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:  # noqa: D102
        self._in_head = False
        if self._fields_size > self.config.max_header_size:
            raise HeadersTooLarge(
                f"request headers larger than {self.config.max_header_size} bytes"
            )
        version = self.parser.get_http_version()
        content_length, chunked, expect = _check_framing(self._headers, version)
        body = None
        limit = 0
        if chunked or content_length:
            limit = self.state.body_limit(self._url)
            if content_length is not None and content_length > limit:
                raise ContentTooLarge(f"request body larger than {limit} bytes")
            body = RequestBody(
                self.config.body_buffer_size, self.config.body_timeout, self._body_drained
            )
        if chunked:
            config = self.config
            self._meter = ChunkedBodyMeter(
                config.max_chunk_extensions_size, config.max_header_size, config.max_header_fields
            )
        exchange = Exchange(
            self,
            self.parser.get_method().decode("ascii"),
            self._url,
            version,
            self._headers,
            self.parser.should_keep_alive(),
            body,
            content_length,
            expect,
        )
        exchange.body_limit = limit
        if self.parser.should_upgrade():
            exchange.websocket_request = is_upgrade_request(exchange.method, self._headers)
            if (
                body is None
                and not self.pipeline
                and self.scheme == "http"
                and http2.is_h2c_upgrade(self._headers)
            ):
                self._h2c_upgrade = exchange  # switched once the parser stops (data_received)
                return
        self._requests += 1
        self._receiving = exchange
        self.pipeline.append(exchange)
        if len(self.pipeline) > MAX_PIPELINE:
            self._pause_reading()
        if len(self.pipeline) == 1:
            self._advance()

    def on_body(self, data: bytes) -> None:  # noqa: D102
        self._chunk_size = 0
        if self._meter is not None:
            self._meter.body(len(data))
        exchange = self._receiving
        if exchange is None or exchange.body is None:
            return
        body = exchange.body
        full = body.feed(data)
        limit = exchange.body_limit
        if body.received > limit:
            raise ContentTooLarge(f"request body larger than {limit} bytes")
        if full:
            if exchange.dispatched or exchange is not self.pipeline[0]:
                self._pause_reading()
            else:
                self._advance()

    def on_chunk_header(self) -> None:  # noqa: D102
        if self._meter is not None:
            self._meter.chunk_header()

    def on_chunk_complete(self) -> None:  # noqa: D102
        if self._meter is not None:
            self._meter.chunk_complete()

    def on_message_complete(self) -> None:  # noqa: D102
        self._chunk_size = 0
        if self._meter is not None:
            # A chunked message ends its piece (blank_line_ends): what is left
            # of the piece is the rest of the trailer section.
            self._meter.end_piece()
            self._meter = None
        exchange = self._receiving
        self._receiving = None
        if exchange is not None and exchange.body is not None:
            exchange.body.feed_eof()
            if self.pipeline and exchange is self.pipeline[0]:
                self._advance()

    # -- pipeline --------------------------------------------------------------------------
    def _advance(self) -> None:
        """Dispatch the first exchange of the pipeline once it is ready."""
        if not self.pipeline:
            return
        exchange = self.pipeline[0]
        if exchange.dispatched:
            return
        body = exchange.body
        if body is not None and not body.complete:
            exchange.send_continue()
            if body.buffered < self.config.body_buffer_size:
                return
        exchange.dispatched = True
        self.state.dispatch(exchange)

    def exchange_done(self, exchange: Exchange) -> None:
        """Called by an exchange when its response is complete."""
        if self.pipeline and self.pipeline[0] is exchange:
            self.pipeline.popleft()
        if self.state.access_log:
            self.state.log_access(exchange)
        if self.transport is None:
            return
        # A request answered on the loop from on_headers_complete is still
        # "receiving": only one with a body has bytes left unread.
        unread = exchange is self._receiving and exchange.body is not None
        if not exchange.keep_alive or unread:
            # Unread body or a close requested: nothing more on this connection.
            self.closing = True
            self.pipeline.clear()
        if self.draining and len(self.pipeline) == 1:
            self.closing = True  # the last request received: its answer says close
        if self.pipeline:
            self._advance()
            if self._reading_paused and len(self.pipeline) <= MAX_PIPELINE // 2:
                self._resume_reading()
            return
        if self._pending_error is not None:
            self._send_error(self._pending_error)
            return
        if self.closing:
            self.transport.close()
            return
        self._idle_since = monotonic()
        if self._reading_paused:
            self._resume_reading()
        if self.draining:
            # This response promised keep-alive (its head went out before the
            # drain began): answer the next request, with Connection: close.
            self.closing = True

    def switch_to_websocket(
        self, exchange: Exchange, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """The application accepted ``exchange``'s WebSocket: write the handshake, switch."""
        websocket = exchange.websocket
        assert websocket is not None and self.transport is not None
        self.transport.write(websocket.handshake(exchange, headers))
        exchange.finished = True
        if self.pipeline and self.pipeline[0] is exchange:
            self.pipeline.popleft()
        self.state.log_access(exchange)
        self.websocket = websocket
        self._receiving = None
        self.closing = False
        tail, self._upgrade_tail = self._upgrade_tail, b""
        self._reading_paused = False
        self.transport.resume_reading()
        websocket.open(tail)

    # -- errors, timeouts, shutdown --------------------------------------------------------
    def _reject(self, error: ProtocolError) -> None:
        """Answer a protocol error after the exchanges ahead of it, then close."""
        self.closing = True
        self._in_head = False
        self._pause_reading()
        receiving = self._receiving
        self._receiving = None
        if receiving is not None and receiving.dispatched:
            # The application has this request and is reading its body: it gets
            # the error from wsgi.input and answers it (a second, protocol-level
            # response would follow its own); the connection closes after that.
            if receiving.body is not None:
                receiving.body.abort(error)
            self.state.log_error(self, error)
            return
        if receiving is not None and receiving in self.pipeline:
            self.pipeline.remove(receiving)
        if self.pipeline:
            self._pending_error = error
        else:
            self._send_error(error)

    def _send_error(self, error: ProtocolError) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_simple_response(error.status, str(error)))
            self.transport.close()
        self.state.log_error(self, error)

    def check_timeouts(self, now: float) -> None:
        """Enforce the head, body and keep-alive timeouts (called each second)."""
        if self.transport is None:
            return
        if self.websocket is not None:
            self.websocket.check_timeouts(now)
            return
        config = self.config
        if self._in_head:
            if now - self._head_started > config.header_timeout:
                self._reject(RequestTimeout("request head not received in time"))
        elif self._receiving is not None and not self._reading_paused:
            # (while reading is paused the server, not the client, is the slow one)
            if now - self._last_data > config.body_timeout:
                self._reject(RequestTimeout("request body stalled"))
        elif not self.pipeline:
            if self.draining:
                self._close_if_quiet(now)
                return
            limit = config.keepalive_timeout if self._requests else config.header_timeout
            if now - self._idle_since > limit:
                self.transport.close()

    def shutdown(self) -> None:
        """Drain: answer what the client sends, end with ``Connection: close``, close when quiet.

        The policy, and why an idle connection is not closed at once, is in
        :mod:`skitai.server.draining`.  Called again on each pass of the drain.
        """
        self.draining = True
        if self.websocket is not None:
            self.websocket.shutdown()
            return
        if self.transport is None:
            return
        pipeline = self.pipeline
        if not pipeline or (len(pipeline) == 1 and not pipeline[0].started):
            # The next response head says Connection: close.  (A head already out
            # promised keep-alive, and pipelined requests are answered first:
            # exchange_done marks the last one.)
            self.closing = True
        self._close_if_quiet(monotonic())

    def _close_if_quiet(self, now: float) -> None:
        """Close a draining connection that is idle, quiet long enough, with nothing unread."""
        if self.transport is None or self.pipeline or self._in_head:
            return
        if self._receiving is not None:
            return
        if now - self._idle_since < idle_grace(self._requests):
            return
        if has_unread_input(self.transport):
            return  # a request is waiting in the socket: it is read and answered next
        self.transport.close()

    def _body_drained(self) -> None:
        """Called from a handler thread when it has read the body buffer down."""
        self.loop.call_soon_threadsafe(self._resume_if_drained)

    def _resume_if_drained(self) -> None:
        if self._reading_paused and len(self.pipeline) <= MAX_PIPELINE // 2:
            self._resume_reading()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closing:
            self._reading_paused = False
            self._last_data = monotonic()  # the body timeout restarts from now
            self.transport.resume_reading()


def _check_framing(
    headers: list[tuple[bytes, bytes]], version: str
) -> tuple[int | None, bool, bool]:
    """Validate Host and body framing (RFC 9112 §3.2, §6); return (length, chunked, expect)."""
    hosts = 0
    lengths: list[bytes] = []
    codings: list[bytes] = []
    expect = False
    for name, value in headers:
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"expect":
            if value.strip().lower() != b"100-continue":
                raise ProtocolError("unsupported Expect value", "417 Expectation Failed")
            expect = True
    if version == "1.1" and hosts != 1:
        raise BadRequest("a HTTP/1.1 request needs exactly one Host header")
    if hosts > 1:
        raise BadRequest("duplicate Host header")
    if codings:
        if lengths:
            raise BadRequest("both Content-Length and Transfer-Encoding")
        if version != "1.1" or [c.strip().lower() for c in codings] != [b"chunked"]:
            raise BadRequest("unsupported Transfer-Encoding")
        return None, True, expect
    if not lengths:
        return None, False, expect
    if len(set(lengths)) > 1 or not lengths[0].isdigit():
        raise BadRequest("invalid Content-Length")
    return int(lengths[0]), False, expect


def _simple_response(status: str, message: str) -> bytes:
    """A complete plain-text response that closes the connection."""
    body = (message + "\n").encode("utf-8", "replace")
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + body


__all__ = ["HttpProtocol"]
