"""HTTP/2 connections on asyncio, driven by ``h2``'s sans-I/O ``H2Connection``.

:class:`H2Protocol` owns one HTTP/2 connection.  A connection becomes HTTP/2
when TLS negotiated ``h2`` by ALPN, or when a cleartext client opens with the
connection preface (h2c with prior knowledge); the HTTP/1.1 protocol hands the
transport over with :func:`take_over`.  Each request stream becomes an
:class:`~skitai.server.http2_stream.H2Exchange` dispatched like an HTTP/1.1
one, so WSGI apps, ASGI apps and static files are served unchanged.

Flow control both ways: a request body is acknowledged (WINDOW_UPDATE) as the
app reads it, so a client uploads only as fast as the app takes the body; a
response waits for the client's window, and its writer waits while more than
:data:`~skitai.server.http2_stream.STREAM_HIGH_WATER` bytes are queued.

Limits and attacks (each answer is a frame with an error code, RFC 9113 §7):

* more than :data:`MAX_CONCURRENT_STREAMS` open streams: ``h2`` refuses the
  connection (GOAWAY ``PROTOCOL_ERROR``); a header list larger than the
  engine's head limit: GOAWAY ``ENHANCE_YOUR_CALM`` (``h2``/``hpack``), as for a
  CONTINUATION flood (``h2`` bounds the frames of one header block);
* more than :data:`RESET_BUDGET` streams reset by the client within
  :data:`BUDGET_PERIOD` seconds (rapid reset, CVE-2023-44487), or more than
  :data:`CONTROL_BUDGET` SETTINGS, PING, PRIORITY or empty DATA frames: GOAWAY
  ``ENHANCE_YOUR_CALM`` and the connection closes;
* a response waiting ``body_timeout`` seconds for a window the client never
  opens: RST_STREAM ``CANCEL``, and a handler thread writing it gets
  ``ClientDisconnected`` (it is never pinned);
* no stream for ``keepalive_timeout`` seconds: GOAWAY ``NO_ERROR`` and close;
* a stopping worker sends GOAWAY ``NO_ERROR`` naming the last stream it will
  answer, finishes those, refuses later ones (``REFUSED_STREAM``: safe to
  retry) and closes (:mod:`skitai.server.draining`).
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

from .body import RequestBody
from .errors import BadRequest, ContentTooLarge, HeadersTooLarge, ProtocolError, RequestTimeout
from .http2_stream import CANCEL, INTERNAL_ERROR, H2Exchange, H2Stream

if TYPE_CHECKING:
    from .exchange import Exchange
    from .http11 import HttpProtocol
    from .state import ServerState

logger = logging.getLogger("skitai.http2")

#: The client's connection preface begins with this (RFC 9113 §3.4).
PREFACE_START = b"PRI * HTTP/2.0"
#: Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
MAX_CONCURRENT_STREAMS = 100
#: The connection's receive window: each stream's own window bounds what it buffers.
CONNECTION_WINDOW = 16 * 1024 * 1024
#: Seconds over which the reset and control-frame budgets are counted.
BUDGET_PERIOD = 10.0
#: Streams the client may reset per period before it is told to calm down.
RESET_BUDGET = 2 * MAX_CONCURRENT_STREAMS
#: SETTINGS, PING, PRIORITY and empty DATA frames allowed per period.
CONTROL_BUDGET = 1000
NO_ERROR = 0x0
REFUSED_STREAM = 0x7
ENHANCE_YOUR_CALM = 0xB


class RateBudget:
    """How many times something may happen per period (a fixed window)."""

    __slots__ = ("budget", "period", "count", "since")

    def __init__(self, budget: int, period: float) -> None:
        self.budget = budget
        self.period = period
        self.count = 0
        self.since = monotonic()

    def spend(self, now: float) -> bool:
        """Count one; False once the budget of the current period is exceeded."""
        if now - self.since > self.period:
            self.since = now
            self.count = 0
        self.count += 1
        return self.count <= self.budget


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.config = config = state.config
        self.loop = state.loop
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.sockname: tuple[str, int] = ("", 0)
        self.scheme = "http"
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: (
                    config.max_header_size + config.max_uri_size
                ),
            },
        )
        self.streams: dict[int, H2Stream] = {}
        #: the socket takes more output (asyncio's pause_writing/resume_writing)
        self.socket_writable = True
        self.draining = False
        self.lost = False
        self._flush_scheduled = False
        #: the connection began as HTTP/1.1 and switched with ``Upgrade: h2c``
        self.upgraded = False
        #: GOAWAY sent: streams above this id are refused
        self._goaway_last: int | None = None
        self._highest_stream = 0
        self._requests = 0
        self._idle_since = monotonic()
        self._resets = RateBudget(RESET_BUDGET, BUDGET_PERIOD)
        self._controls = RateBudget(CONTROL_BUDGET, BUDGET_PERIOD)

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        # (peer, sockname and scheme come from the HTTP/1.1 protocol: take_over)
        self.transport = transport  # type: ignore[assignment]
        if not self.upgraded:  # (initiate_upgrade_connection queued the preface already)
            self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.lost = True
        self.transport = None
        self.socket_writable = True
        self.state.remove_connection(self)  # type: ignore[arg-type]
        for stream in list(self.streams.values()):
            stream.mark_lost()
        self.streams.clear()

    def pause_writing(self) -> None:  # noqa: D102
        self.socket_writable = False
        for stream in self.streams.values():
            stream.update_writable()

    def resume_writing(self) -> None:  # noqa: D102
        self.socket_writable = True
        for stream in self.streams.values():
            stream.update_writable()

    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.transport is None:
            return
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            # h2 queued GOAWAY with the error's code (PROTOCOL_ERROR, ENHANCE_YOUR_CALM ...)
            logger.info("%s: HTTP/2 connection error: %s", self.peer[0], exc)
            self._close()
            return
        now = monotonic()
        for event in events:
            kind = type(event)
            if kind is h2.events.RequestReceived:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is h2.events.DataReceived:
                self._on_data(event, now)  # type: ignore[arg-type]
            elif kind is h2.events.StreamEnded:
                self._on_stream_ended(event.stream_id)  # type: ignore[attr-defined]
            elif kind is h2.events.StreamReset:
                if not self._on_reset(event, now):  # type: ignore[arg-type]
                    return
            elif kind is h2.events.WindowUpdated:
                self._send_all_pending()
            elif kind in (
                h2.events.PingReceived,
                h2.events.RemoteSettingsChanged,
                h2.events.PriorityUpdated,
            ):
                if not self._controls.spend(now):
                    self._calm_down("too many control frames")
                    return
                if kind is h2.events.RemoteSettingsChanged:
                    self._send_all_pending()  # the initial window may have grown
            elif kind is h2.events.ConnectionTerminated:
                self._close()
                return
            if self.transport is None:
                return
        self._flush()

    # -- events ------------------------------------------------------------------------
    def _on_request(self, event: h2.events.RequestReceived) -> None:
        stream_id = event.stream_id
        self._highest_stream = max(self._highest_stream, stream_id)
        if self._goaway_last is not None and stream_id > self._goaway_last:
            self.h2.reset_stream(stream_id, REFUSED_STREAM)  # sent after our GOAWAY: retry
            return
        method = path = b""
        authority = None
        headers: list[tuple[bytes, bytes]] = []
        has_host = False
        for name, value in event.headers:  # h2 checked names (lower case) and pseudo-fields
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    path = value
                elif name == b":authority":
                    authority = value
                continue
            has_host = has_host or name == b"host"
            headers.append((name, value))
        if authority is not None and not has_host:
            headers.insert(0, (b"host", authority))  # WSGI and ASGI apps read Host
        self.open_stream(stream_id, method, path, headers, event.stream_ended is not None)

    def open_stream(
        self,
        stream_id: int,
        method: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        ended: bool,
    ) -> None:
        """Start the exchange of a request stream (``ended``: it has no body)."""
        stream = H2Stream(self, stream_id)
        self.streams[stream_id] = stream
        self._requests += 1
        content_length: int | None = None
        expect = False
        error: ProtocolError | None = None
        if len(headers) > self.config.max_header_fields:
            error = HeadersTooLarge(f"more than {self.config.max_header_fields} header fields")
        elif len(path) > self.config.max_uri_size:
            error = ProtocolError(
                f"request target longer than {self.config.max_uri_size} bytes", "414 URI Too Long"
            )
        for name, value in headers:
            if name == b"content-length":
                if not value.isdigit() or content_length is not None:
                    error = error or BadRequest("invalid Content-Length")
                else:
                    content_length = int(value)
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        limit = self.state.body_limit(path)
        if content_length is not None and content_length > limit and error is None:
            error = ContentTooLarge(f"request body larger than {limit} bytes")
        body = None
        if not ended:
            body = RequestBody(
                self.config.body_buffer_size, self.config.body_timeout, stream.body_drained
            )
        else:
            stream.remote_ended = True
        exchange = H2Exchange(
            stream, method.decode("latin-1"), path, headers, body, content_length, expect
        )
        exchange.body_limit = limit
        if error is not None:
            self._refuse(stream, error)
        elif body is None or expect:
            self._dispatch(exchange)

    def _dispatch(self, exchange: H2Exchange) -> None:
        if not exchange.dispatched:
            exchange.dispatched = True
            exchange.send_continue()
            self.state.dispatch(exchange)

    def _on_data(self, event: h2.events.DataReceived, now: float) -> None:
        stream = self.streams.get(event.stream_id)
        size = event.flow_controlled_length
        exchange = stream.exchange if stream is not None else None
        if exchange is None or exchange.body is None or stream is None or stream.lost:
            self.h2.acknowledge_received_data(size, event.stream_id)  # for a finished stream
            return
        data = event.data
        if not data and event.stream_ended is None and not self._controls.spend(now):
            self._calm_down("too many empty DATA frames")
            return
        stream.last_data = now
        body = exchange.body
        full = body.feed(data)
        if body.received > exchange.body_limit:
            error = ContentTooLarge(f"request body larger than {exchange.body_limit} bytes")
            if exchange.dispatched:
                body.abort(error)  # the app reading it answers 413
            else:
                self._refuse(stream, error)
            return
        if full:
            stream.unacked += size  # the client waits until the app has read some
            self._dispatch(exchange)
        else:
            self.h2.acknowledge_received_data(size, event.stream_id)

    def _on_stream_ended(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None or stream.exchange is None:
            return
        stream.remote_ended = True
        exchange = stream.exchange
        if exchange.body is not None:
            exchange.body.feed_eof()
        self._dispatch(exchange)
        self._retire(stream)

    def _on_reset(self, event: h2.events.StreamReset, now: float) -> bool:
        stream = self.streams.pop(event.stream_id, None)
        if stream is not None:
            stream.mark_lost()
        if event.remote_reset and not self._resets.spend(now):
            self._calm_down("too many streams reset (rapid reset)")
            return False
        return True

    def release_window(self, stream: H2Stream) -> None:
        """The app read a full body buffer down: let the client send the rest."""
        if stream.unacked and not stream.lost and self.transport is not None:
            size, stream.unacked = stream.unacked, 0
            try:
                self.h2.acknowledge_received_data(size, stream.stream_id)
            except h2.exceptions.StreamClosedError:
                return
            self._flush()

    # -- output ------------------------------------------------------------------------
    def send_head(self, stream: H2Stream, fields: list[tuple[bytes, bytes]], end: bool) -> None:
        """Send a HEADERS frame (the response head, or an interim 1xx one)."""
        if stream.lost or self.transport is None:
            return
        try:
            self.h2.send_headers(stream.stream_id, fields, end_stream=end)
        except h2.exceptions.StreamClosedError:
            stream.mark_lost()
            return
        except h2.exceptions.ProtocolError as exc:  # a field HTTP/2 cannot carry (the app's)
            logger.error(
                "%s: stream %d: bad response head: %s", self.peer[0], stream.stream_id, exc
            )
            self.reset(stream, INTERNAL_ERROR)
            return
        if end:
            stream.ended = True
            self._retire(stream)
        self._flush()

    def send_body(self, stream: H2Stream, data: bytes, end: bool) -> None:
        """Queue response body bytes on ``stream``; ``end`` closes it once they are out."""
        if stream.lost or stream.ended or self.transport is None:
            return
        stream.pending += data
        stream.end_pending = stream.end_pending or end
        self._send_pending(stream)
        self._flush()

    def _send_pending(self, stream: H2Stream) -> None:
        """Send what the windows allow of ``stream``'s queued body, then its end."""
        pending = stream.pending
        h2conn = self.h2
        try:
            while pending:
                size = min(
                    h2conn.local_flow_control_window(stream.stream_id),
                    h2conn.max_outbound_frame_size,
                    len(pending),
                )
                if size <= 0:
                    if stream.stalled_since is None:
                        stream.stalled_since = monotonic()
                    break
                h2conn.send_data(stream.stream_id, bytes(pending[:size]))
                del pending[:size]
                stream.stalled_since = None
            if not pending and stream.end_pending and not stream.ended:
                if stream.trailers:
                    h2conn.send_headers(stream.stream_id, stream.trailers, end_stream=True)
                else:
                    h2conn.end_stream(stream.stream_id)
                stream.ended = True
                self._retire(stream)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            stream.mark_lost()
            self.streams.pop(stream.stream_id, None)
        stream.update_writable()

    def _send_all_pending(self) -> None:
        for stream in list(self.streams.values()):
            if stream.pending or (stream.end_pending and not stream.ended):
                self._send_pending(stream)

    def reset(self, stream: H2Stream, code: int) -> None:
        """Reset ``stream`` with error ``code`` (the engine gives it up)."""
        if not stream.lost and not (stream.ended and stream.remote_ended):
            try:
                self.h2.reset_stream(stream.stream_id, code)
            except h2.exceptions.StreamClosedError:
                pass
        stream.mark_lost()
        self._flush()
        self._forget(stream)

    def _flush(self) -> None:
        """Write what h2 queued, once per loop turn: the frames of every response
        answered in this turn go out in one write (one system call, not one per frame)."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_scheduled = False
        data = self.h2.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)

    # -- stream lifecycle ---------------------------------------------------------------
    def exchange_done(self, stream: H2Stream) -> None:
        """A stream's response is complete (or given up): log it, free it when sent."""
        exchange = stream.exchange
        if exchange is not None:
            self.state.log_access(exchange)
        self._retire(stream)

    def _retire(self, stream: H2Stream) -> None:
        """Forget a stream once its response was written (and the request received)."""
        exchange = stream.exchange
        if stream.ended and (exchange is None or exchange.finished):
            if not stream.remote_ended and not stream.lost:
                # answered before the whole request body came: the client may stop sending
                # (RFC 9113 §8.1), and the stream must not wait for a body nobody reads
                self.reset(stream, NO_ERROR)
            else:
                self._forget(stream)

    def _forget(self, stream: H2Stream) -> None:
        """Drop a finished stream; the connection idles, or closes when draining, without any."""
        self.streams.pop(stream.stream_id, None)
        if not self.streams:
            self._idle_since = monotonic()
        self._close_if_done()

    def _refuse(self, stream: H2Stream, error: ProtocolError) -> None:
        """Answer a request the engine refuses (413, 431 ...) on its stream."""
        exchange = stream.exchange
        assert exchange is not None
        exchange.dispatched = True
        body = (str(error) + "\n").encode("utf-8", "replace")
        exchange.respond(error.status, [("Content-Type", "text/plain; charset=utf-8")], body)
        self.state.log_error(self, error)  # type: ignore[arg-type]

    def _calm_down(self, why: str) -> None:
        """The client abuses the connection: GOAWAY ENHANCE_YOUR_CALM, then close."""
        logger.warning("%s: HTTP/2 %s: GOAWAY ENHANCE_YOUR_CALM", self.peer[0], why)
        self.h2.close_connection(ENHANCE_YOUR_CALM, last_stream_id=self._highest_stream)
        for stream in list(self.streams.values()):
            stream.mark_lost()
        self.streams.clear()
        self._close()

    # -- timeouts, shutdown ---------------------------------------------------------------
    def check_timeouts(self, now: float) -> None:
        """Idle timeout, stalled request bodies and response windows (called each second)."""
        if self.transport is None:
            return
        timeout = self.config.body_timeout
        for stream in list(self.streams.values()):
            exchange = stream.exchange
            if stream.stalled_since is not None and now - stream.stalled_since > timeout:
                logger.info(
                    "%s: stream %d: no window for %ss", self.peer[0], stream.stream_id, timeout
                )
                self.reset(stream, CANCEL)
            elif (
                exchange is not None
                and exchange.body is not None
                and not stream.remote_ended
                and not stream.unacked  # (a full buffer: the app, not the client, is slow)
                and now - stream.last_data > timeout
            ):
                error = RequestTimeout("request body stalled")
                if exchange.dispatched:
                    exchange.body.abort(error)
                else:
                    self._refuse(stream, error)
        if self.streams or self.transport is None:
            return
        limit = self.config.keepalive_timeout if self._requests else self.config.header_timeout
        if self.draining or now - self._idle_since > limit:
            self._goodbye()

    def _goodbye(self) -> None:
        self.h2.close_connection(NO_ERROR, last_stream_id=self._highest_stream)
        self._close()

    def _close(self) -> None:
        """Send what h2 queued (a GOAWAY), then close: nothing more is read or written."""
        self._flush_now()
        if self.transport is not None:
            self.transport.close()
            self.transport = None  # (connection_lost follows; events still queued are dropped)

    def shutdown(self) -> None:
        """Drain: GOAWAY with the last stream answered, finish those, then close."""
        self.draining = True
        if self.transport is None:
            return
        if self._goaway_last is None:
            self._flush_now()  # (the frames queued before it go first)
            self._goaway_last = self._highest_stream
            # Written by hand: h2's close_connection() would stop the open streams too.
            frame = GoAwayFrame(0, last_stream_id=self._goaway_last, error_code=NO_ERROR)
            self.transport.write(frame.serialize())
        self._close_if_done()

    def _close_if_done(self) -> None:
        if self.draining and not self.streams and self.transport is not None:
            self._goodbye()


def negotiated(transport: asyncio.BaseTransport) -> bool:
    """True when TLS chose HTTP/2 by ALPN on ``transport``."""
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"


def take_over(old: HttpProtocol, data: bytes = b"", new: H2Protocol | None = None) -> H2Protocol:
    """Turn ``old``'s connection into HTTP/2 and feed it ``data`` (the bytes read so far)."""
    transport = old.transport
    assert transport is not None
    if new is None:
        new = H2Protocol(old.state)
    new.peer, new.sockname, new.scheme = old.peer, old.sockname, old.scheme
    old.transport = None
    connections = old.state.connections
    connections.discard(old)
    connections.add(new)  # type: ignore[arg-type]
    transport.set_protocol(new)
    new.connection_made(transport)
    if data:
        new.data_received(data)
    return new


#: Request fields of an ``Upgrade: h2c`` request that belong to HTTP/1.1 alone.
_UPGRADE_ONLY = frozenset(
    (b"connection", b"upgrade", b"http2-settings", b"keep-alive", b"proxy-connection", b"te")
)


def is_h2c_upgrade(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when an HTTP/1.1 request asks to switch to h2c (RFC 7540 §3.2)."""
    upgrade = settings = 0
    for name, value in headers:
        if name == b"upgrade":
            upgrade += b"h2c" in [token.strip().lower() for token in value.split(b",")]
        elif name == b"http2-settings":
            settings += 1
    return upgrade == 1 and settings == 1


def upgrade(old: HttpProtocol, exchange: Exchange, tail: bytes) -> None:
    """Answer ``101`` to an ``Upgrade: h2c`` request and serve it as stream 1 over HTTP/2.

    ``tail`` is what followed the request (the client's connection preface).
    An ``HTTP2-Settings`` value that does not decode gets 400 and a close.
    """
    transport = old.transport
    assert transport is not None
    new = H2Protocol(old.state)
    new.upgraded = True
    try:
        new.h2.initiate_upgrade_connection(exchange.header(b"http2-settings"))
    except Exception as exc:  # noqa: BLE001 - base64 or frame errors: the client's mistake
        body = b"invalid HTTP2-Settings\n"
        transport.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        transport.close()
        logger.info("%s: refused h2c upgrade: %s", old.peer[0], exc)
        return
    transport.write(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    )
    take_over(old, new=new)
    new._highest_stream = 1
    headers = [(name, value) for name, value in exchange.headers if name not in _UPGRADE_ONLY]
    new.open_stream(1, exchange.method.encode("latin-1"), exchange.target, headers, True)
    new.streams[1].remote_ended = True
    transport.resume_reading()  # (the HTTP/1.1 side paused it at the upgrade)
    if tail:
        new.data_received(tail)


__all__ = [
    "H2Protocol",
    "MAX_CONCURRENT_STREAMS",
    "is_h2c_upgrade",
    "negotiated",
    "take_over",
    "upgrade",
]
