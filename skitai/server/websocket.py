"""WebSocket connections (RFC 6455) on an HTTP/1.1 connection, framed by ``wsproto``.

The engine side only; what a message means is the application's business:

1. :class:`~skitai.server.http11.HttpProtocol` marks a ``GET`` that asks for
   ``Upgrade: websocket`` (:func:`is_upgrade_request`); the WSGI environ of
   that request carries ``environ["skitai.websocket"]``, a
   :class:`WebSocketUpgrade`.
2. The application accepts it with a :class:`WebSocketHandler` and answers
   ``101 Switching Protocols`` (any other answer is an ordinary HTTP
   response, and the connection closes after it).
3. The engine writes the handshake (``Sec-WebSocket-Accept``) and the
   connection speaks WebSocket from then on: messages reassembled from their
   frames (``max_message_size``, else close 1009), pings answered, the close
   handshake done, an idle connection closed after ``idle_timeout`` (1000),
   1001 when the worker shuts down, 1002 for a protocol error.

The handler's methods run on the event loop and must not block: the
application hands work to the handler pool with :meth:`WebSocket.submit`,
which runs one job at a time per connection, in order.  :meth:`WebSocket.send`
and :meth:`WebSocket.close` may be called from any thread.  Each worker
process keeps its open connections by ``client_id`` in :data:`clients`, so an
application can push to a client from another request; through the worker's
hub (:mod:`skitai.hub`) it reaches clients of the other workers and hosts too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import count
from time import monotonic
from typing import TYPE_CHECKING, Any, Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, generate_accept_token

from ..hub.base import Hub, node_id

if TYPE_CHECKING:
    from .exchange import Exchange
    from .http11 import HttpProtocol

logger = logging.getLogger("skitai.websocket")

#: Largest message (all its frames together) accepted by default: 1 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
#: Seconds without a message before an open connection is closed, by default.
DEFAULT_IDLE_TIMEOUT = 60.0
#: Seconds the peer has to answer our close frame before the socket is closed.
CLOSE_TIMEOUT = 5.0
#: Jobs waiting for the handler pool before the connection stops reading.
MAX_PENDING_JOBS = 64
#: Seconds a handler thread waits for a slow client to take what it sends.
SEND_TIMEOUT = 60.0

#: The spec's WebSocket modes (``skitai.WS_CHANNEL | skitai.WS_THREADSAFE``), bit flags that
#: the application framework interprets (``@app.websocket``): designs ...
WS_CHANNEL = 0x01
WS_GROUPCHAT = 0x02
WS_COROUTINE = 0x04
#: ... and message handling options.
WS_THREAD = 0x10
WS_THREADSAFE = 0x20
WS_NOTHREAD = 0x40
WS_SESSION = 0x80
#: The spec's "fast" option: handled on the event loop, as ``WS_NOTHREAD``.
WS_FAST = WS_NOTHREAD

#: RFC 6455 close codes used by the engine.
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011


#: Response headers the engine writes itself in a handshake (or that belong to a body).
_HANDSHAKE_OWN = frozenset(
    ("upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol",
     "content-length", "content-type", "transfer-encoding", "content-encoding")
)  # fmt: skip


def is_upgrade_request(method: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """True for a ``GET`` asking to switch to WebSocket version 13 (RFC 6455 §4.2.1)."""
    if method != "GET":
        return False
    upgrade = connection = key = version = False
    for name, value in headers:
        if name == b"upgrade":
            upgrade = upgrade or b"websocket" in value.lower()
        elif name == b"connection":
            connection = connection or any(
                token.strip() == b"upgrade" for token in value.lower().split(b",")
            )
        elif name == b"sec-websocket-key":
            key = len(value.strip()) == 24  # 16 random bytes, base64
        elif name == b"sec-websocket-version":
            version = value.strip() == b"13"
    return upgrade and connection and key and version


class WebSocketHandler(Protocol):
    """What the application gives :meth:`WebSocketUpgrade.accept` (called on the loop)."""

    def on_open(self, socket: WebSocket) -> None:
        """The handshake is written: the connection is open."""
        ...

    def on_message(self, socket: WebSocket, message: str | bytes) -> None:
        """A whole message arrived: ``str`` for a text message, ``bytes`` for binary."""
        ...

    def on_close(self, socket: WebSocket, code: int) -> None:
        """The connection closed with ``code`` (1006: the socket dropped without a close)."""
        ...


class ClientRegistry:
    """The open WebSocket connections of this worker process, by ``client_id``.

    Client ids are ``"<node>-<n>"``: the node id of the worker
    (:func:`skitai.hub.node_id`) and a counter, so they are unique across
    workers and hosts.  Once :meth:`bind` gave it the worker's hub,
    :meth:`send` reaches a client held by any worker of the application.
    """

    def __init__(self) -> None:
        self._sockets: dict[str, WebSocket] = {}
        self._ids = count(1)
        #: the worker's hub (set by :meth:`bind`); None: this process only
        self.hub: Hub | None = None

    def next_id(self) -> str:
        """A new client id, unique across the processes of the application."""
        return f"{node_id()}-{next(self._ids)}"

    def bind(self, hub: Hub) -> None:
        """Take pushes for our clients from other processes, and route ours through ``hub``."""
        self.hub = hub
        hub.provide(_PUSH_SERVICE, self._push_from_hub)

    def add(self, socket: WebSocket) -> None:
        """Register an open connection."""
        self._sockets[socket.client_id] = socket

    def discard(self, socket: WebSocket) -> None:
        """Forget a closed connection."""
        self._sockets.pop(socket.client_id, None)

    def get(self, client_id: str) -> WebSocket | None:
        """The open connection ``client_id`` of this worker, or None."""
        return self._sockets.get(client_id)

    def send(self, client_id: str, message: str | bytes) -> bool:
        """Send ``message`` to client ``client_id``, wherever it is connected.

        True when the client's connection was open and took the message (in
        this worker, or in another one that answered through the hub); False
        when it is closed or unknown, its worker is gone, or the hub is down
        or did not answer within its timeout (:data:`skitai.hub.DEFAULT_TIMEOUT`).
        Called on the event loop, a push to another worker cannot wait for
        the answer: True then means "handed to the hub" (await :meth:`asend`).
        """
        if not isinstance(message, (str, bytes, bytearray)):
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        socket, node, hub = self._locate(client_id)
        if socket is not None:
            return socket.send(message)
        if node is None or hub is None:
            return False
        data = _pack_push(client_id, message)
        if hub.loop is not None and asyncio._get_running_loop() is hub.loop:
            return hub.notify(node, _PUSH_SERVICE, data)
        return hub.request(node, _PUSH_SERVICE, data) == b"1"

    async def asend(self, client_id: str, message: str | bytes) -> bool:
        """:meth:`send` for the event loop: waits for the other worker's answer."""
        socket, node, hub = self._locate(client_id)
        if socket is not None:
            return socket.send(message)
        if node is None or hub is None:
            return False
        return await hub.arequest(node, _PUSH_SERVICE, _pack_push(client_id, message)) == b"1"

    def _locate(self, client_id: str) -> tuple[WebSocket | None, str | None, Hub | None]:
        """``(socket, None, None)`` for our client, ``(None, node, hub)`` for another
        worker's, ``(None, None, None)`` when it cannot be reached."""
        socket = self._sockets.get(client_id)
        if socket is not None:
            return socket, None, None
        node = _node_of(client_id)
        if node is None or node == node_id() or self.hub is None:
            return None, None, None
        return None, node, self.hub

    def _push_from_hub(self, data: bytes) -> bytes:
        """Another worker's :meth:`send` to one of our clients (on the loop)."""
        client_id, message = _unpack_push(data)
        socket = self._sockets.get(client_id)
        return b"1" if socket is not None and socket.send(message) else b"0"

    def __len__(self) -> int:
        return len(self._sockets)


#: The hub service that takes a push for a client of this worker.
_PUSH_SERVICE = "websocket.push"


def _node_of(client_id: object) -> str | None:
    """The node part of a client id, or None when it is not one."""
    if not isinstance(client_id, str):
        return None
    node, dash, number = client_id.partition("-")
    return node if dash and number.isdigit() else None


def _pack_push(client_id: str, message: str | bytes) -> bytes:
    kind, body = (b"t", message.encode()) if isinstance(message, str) else (b"b", bytes(message))
    return client_id.encode() + b"\0" + kind + body


def _unpack_push(data: bytes) -> tuple[str, str | bytes]:
    client_id, _, rest = data.partition(b"\0")
    body = rest[1:]
    return client_id.decode(), body.decode() if rest[:1] == b"t" else body


#: This worker's open connections.
clients = ClientRegistry()


class WebSocketUpgrade:
    """``environ["skitai.websocket"]``: accept a request's WebSocket upgrade."""

    def __init__(self, exchange: Exchange, submit: Callable[..., None]) -> None:
        self._exchange = exchange
        self._submit = submit
        #: the open connections of this worker (``clients``)
        self.clients = clients

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered (``Sec-WebSocket-Protocol``), in order."""
        offered: list[str] = []
        for name, value in self._exchange.headers:
            if name == b"sec-websocket-protocol":
                offered += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
        return offered

    def accept(
        self,
        handler: WebSocketHandler,
        *,
        subprotocol: str | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> WebSocket:
        """Take the connection over once the application answers ``101 Switching Protocols``.

        ``subprotocol`` must be one the client offered; ``idle_timeout``
        (seconds, None for none) closes a connection that sends nothing.
        """
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(f"the client did not offer subprotocol {subprotocol!r}")
        exchange = self._exchange
        socket = WebSocket(
            exchange.protocol, handler, self._submit, subprotocol, idle_timeout, max_message_size
        )
        exchange.websocket = socket
        return socket


class WebSocket:
    """One open WebSocket connection (the engine side of it)."""

    def __init__(
        self,
        protocol: HttpProtocol,
        handler: WebSocketHandler,
        submit: Callable[..., None],
        subprotocol: str | None,
        idle_timeout: float | None,
        max_message_size: int,
    ) -> None:
        self.client_id = clients.next_id()
        self.subprotocol = subprotocol
        self.idle_timeout = idle_timeout
        self.max_message_size = max_message_size
        #: the close code once closed (None while open)
        self.close_code: int | None = None
        self._protocol = protocol
        self._loop = protocol.loop
        self._handler = handler
        self._submit = submit
        self._connection = Connection(ConnectionType.SERVER)
        self._parts: list[str | bytes] = []
        self._size = 0
        self._last_activity = monotonic()
        self._close_sent_at: float | None = None
        self._jobs: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._jobs_lock = threading.Lock()
        self._job_running = False
        self._reading_paused = False
        #: sent or closed before the handshake went out (while the app was answering 101)
        self._opened = False
        self._early: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    @property
    def closed(self) -> bool:
        """True once the connection is closing or closed."""
        return self.close_code is not None or self._connection.state is not ConnectionState.OPEN

    # -- any thread ------------------------------------------------------------------
    def send(self, message: str | bytes) -> bool:
        """Send a text (``str``) or binary (``bytes``) message; False once closed.

        From a handler thread the call waits (up to ``SEND_TIMEOUT``) while
        the client is slow to read, as an HTTP response body does.
        """
        if not isinstance(message, (str, bytes, bytearray)):
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        if self.closed:
            return False
        if self._on_loop():
            self._send_now(message)
        else:
            writable = self._protocol.writable
            if not writable.is_set():
                writable.wait(SEND_TIMEOUT)
            self._loop.call_soon_threadsafe(self._send_now, message)
        return True

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the close handshake (the peer's answer, or a timeout, ends it)."""
        if self._on_loop():
            self._close_now(code, reason)
        else:
            self._loop.call_soon_threadsafe(self._close_now, code, reason)

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Run ``job(*args)`` on the handler pool, after this connection's earlier jobs."""
        with self._jobs_lock:
            self._jobs.append((job, args))
            if self._job_running:
                crowded = len(self._jobs) > MAX_PENDING_JOBS
            else:
                self._job_running, crowded = True, False
                self._submit(self._run_jobs)
        if crowded and self._on_loop():
            self._pause_reading()

    def _run_jobs(self) -> None:
        """Handler thread: run the queued jobs in order until none is left."""
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    self._job_running = False
                    break
                job, args = self._jobs.popleft()
            try:
                job(*args)
            except Exception:  # noqa: BLE001 - one job's failure must not stop the others
                logger.exception("error in a WebSocket job of client %d", self.client_id)
        if self._reading_paused:
            self._loop.call_soon_threadsafe(self._resume_reading)

    def _on_loop(self) -> bool:
        return asyncio._get_running_loop() is self._loop

    # -- event loop --------------------------------------------------------------------
    def handshake(self, exchange: Exchange, headers: Sequence[tuple[str, str]] = ()) -> bytes:
        """The ``101 Switching Protocols`` response head for ``exchange``.

        The application's own ``headers`` (a session's ``Set-Cookie`` ...) go
        along, but for those of the handshake and of a body.
        """
        key = next(v for n, v in exchange.headers if n == b"sec-websocket-key").strip()
        lines = [
            b"HTTP/1.1 101 Switching Protocols",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + generate_accept_token(key),
        ]
        if self.subprotocol is not None:
            lines.append(b"Sec-WebSocket-Protocol: " + self.subprotocol.encode("latin-1"))
        for name, value in headers:
            if name.lower() not in _HANDSHAKE_OWN:
                lines.append(f"{name}: {value}".encode("latin-1"))
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def open(self, trailing: bytes) -> None:
        """The handshake is written: register, tell the handler, read what came along."""
        clients.add(self)
        self._last_activity = monotonic()
        self._opened = True
        early, self._early = self._early, []
        for action, args in early:
            action(*args)
        try:
            self._handler.on_open(self)
        except Exception:  # noqa: BLE001 - the application's error closes only this socket
            logger.exception("error opening WebSocket client %d", self.client_id)
            self._close_now(INTERNAL_ERROR, "")
            return
        if trailing:
            self.feed(trailing)

    def feed(self, data: bytes) -> None:
        """Bytes from the client."""
        self._last_activity = monotonic()
        connection = self._connection
        try:
            connection.receive_data(data)
        except LocalProtocolError:
            return  # closed already: what follows our close is ignored
        for event in connection.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                if self.close_code is not None:
                    continue  # we are closing: what the peer still sends is not delivered
                self._size += len(event.data)
                if self._size > self.max_message_size:
                    self._parts.clear()
                    self._close_now(MESSAGE_TOO_BIG, "message too big")
                    return
                self._parts.append(event.data)
                if event.message_finished:
                    self._deliver()
            elif isinstance(event, Ping):
                self._write(connection.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._closed_by_peer(event)
                return

    def _deliver(self) -> None:
        parts, self._parts, self._size = self._parts, [], 0
        first = parts[0]
        message: str | bytes
        if isinstance(first, str):
            message = first if len(parts) == 1 else "".join(parts)  # type: ignore[arg-type]
        else:
            message = bytes(first) if len(parts) == 1 else b"".join(parts)  # type: ignore[arg-type]
        try:
            self._handler.on_message(self, message)
        except Exception:  # noqa: BLE001 - the application's error closes only this socket
            logger.exception("error in WebSocket handler of client %d", self.client_id)
            self._close_now(INTERNAL_ERROR, "")

    def _closed_by_peer(self, event: CloseConnection) -> None:
        connection = self._connection
        if connection.state is ConnectionState.REMOTE_CLOSING:
            self._write(connection.send(event.response()))
        elif connection.state is ConnectionState.OPEN:  # a frame wsproto could not parse
            self._write(connection.send(CloseConnection(code=event.code, reason=event.reason)))
        self._finish(event.code)

    def _send_now(self, message: str | bytes) -> None:
        if not self._opened:
            self._early.append((self._send_now, (message,)))
            return
        if self._connection.state is not ConnectionState.OPEN:
            return
        event = (
            TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
        )
        self._write(self._connection.send(event))

    def _close_now(self, code: int, reason: str) -> None:
        if not self._opened:
            self._early.append((self._close_now, (code, reason)))
            return
        if self._connection.state is ConnectionState.OPEN:
            self._write(self._connection.send(CloseConnection(code=code, reason=reason)))
            self._close_sent_at = monotonic()
            if self.close_code is None:
                self.close_code = code

    def _write(self, data: bytes) -> None:
        transport = self._protocol.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)
            if not self._protocol.writable.is_set():
                # The client reads slower than we answer: read no more until it catches up.
                self._pause_reading()

    def _finish(self, code: int) -> None:
        """Closed: close the socket, forget the client, tell the handler (once)."""
        transport = self._protocol.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        if self._handler is None:
            return
        handler, self._handler = self._handler, None  # type: ignore[assignment]
        if self.close_code is None:
            self.close_code = code
        clients.discard(self)
        try:
            handler.on_close(self, code)
        except Exception:  # noqa: BLE001 - nothing is left to answer
            logger.exception("error closing WebSocket client %d", self.client_id)

    def check_timeouts(self, now: float) -> None:
        """Close an idle connection; drop one whose peer ignores our close (each second)."""
        if self._close_sent_at is not None:
            if now - self._close_sent_at > CLOSE_TIMEOUT:
                self._finish(self.close_code or NORMAL_CLOSURE)
        elif self.idle_timeout is not None and now - self._last_activity > self.idle_timeout:
            self._close_now(NORMAL_CLOSURE, "idle timeout")

    def shutdown(self) -> None:
        """The worker is stopping: close with 1001 (going away)."""
        self._close_now(GOING_AWAY, "server shutting down")

    def connection_lost(self) -> None:
        """The socket closed (by either side)."""
        self._finish(self.close_code or 1006)

    def _pause_reading(self) -> None:
        transport = self._protocol.transport
        if not self._reading_paused and transport is not None:
            self._reading_paused = True
            transport.pause_reading()

    def writable_again(self) -> None:
        """The transport drained its output (``resume_writing``): read again if we can."""
        self._resume_reading()

    def pause_reading(self) -> None:
        """Read no more from the client (its consumer is behind: the ASGI container)."""
        self._pause_reading()

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`, unless the client is itself slow to read."""
        self._resume_reading()

    def _resume_reading(self) -> None:
        transport = self._protocol.transport
        with self._jobs_lock:
            crowded = len(self._jobs) > MAX_PENDING_JOBS // 2
        if not self._protocol.writable.is_set():
            return
        if self._reading_paused and transport is not None and not crowded:
            self._reading_paused = False
            transport.resume_reading()
