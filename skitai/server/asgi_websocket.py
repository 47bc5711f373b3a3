"""ASGI ``websocket`` scopes over the engine's WebSocket connections (:mod:`.websocket`).

The app first receives ``websocket.connect``.  ``websocket.accept`` (with a
``subprotocol`` the client offered and extra ``headers``) writes the handshake
and opens a :class:`~skitai.server.websocket.WebSocket`, with the engine's
limits: messages up to :data:`MAX_MESSAGE_SIZE` (a larger one closes with 1009),
an idle connection closed after :data:`IDLE_TIMEOUT`, 1001 when the worker
drains, 1002 for a protocol error.  ``websocket.close`` before the accept
refuses the upgrade with ``403`` (or the app's own HTTP response, through the
``websocket.http.response`` extension); after it, starts the close handshake with
the app's code and reason.  Messages from the client wait in a queue; past
:data:`MAX_QUEUED_MESSAGES` the socket is not read until the app catches up
(back-pressure), and ``send`` waits while the client is slow to read.

Errors: an exception before the accept is a ``500``, after it a close with 1011;
returning without accepting or closing is a ``500``; returning while open
closes with 1000.  ``send`` on a closed connection raises
:class:`~skitai.server.errors.ClientDisconnected` (an ``OSError``, ASGI 2.4).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import deque
from typing import TYPE_CHECKING

from .asgi_common import (
    STATUS_LINES,
    TEXT_PLAIN,
    ASGIProtocolError,
    app_name,
    connection_scope,
    response_headers,
)
from .errors import ClientDisconnected
from .websocket import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    INTERNAL_ERROR,
    NORMAL_CLOSURE,
    WebSocket,
    WebSocketUpgrade,
)

if TYPE_CHECKING:
    from ..types import ASGIApp, Message
    from .asgi import ASGIContainer
    from .exchange import Exchange

logger = logging.getLogger("skitai.asgi")

#: Largest message accepted from a client (all its frames together).
MAX_MESSAGE_SIZE = DEFAULT_MAX_MESSAGE_SIZE
#: Seconds without a message from the client before the connection is closed (1000).
IDLE_TIMEOUT = DEFAULT_IDLE_TIMEOUT
#: Messages received and not yet taken by the app before the socket stops being read.
MAX_QUEUED_MESSAGES = 64
#: Close code reported when the socket dropped without a close handshake.
ABNORMAL_CLOSURE = 1006
#: The extension that lets an app answer the upgrade request with an HTTP response.
HTTP_RESPONSE_EXTENSION = "websocket.http.response"

_CONNECTING, _OPEN, _CLOSING, _CLOSED = range(4)


async def run_websocket(
    container: ASGIContainer, exchange: Exchange, app: ASGIApp, root_path: str, path: str
) -> None:
    """Serve one WebSocket upgrade request with ``app`` (a task on the loop)."""
    upgrade = WebSocketUpgrade(exchange, container.submit)
    scope = connection_scope(
        "websocket", exchange, root_path, path, container.state_of(app), container.extension
    )
    scope["scheme"] = "wss" if exchange.scheme == "https" else "ws"
    scope["subprotocols"] = upgrade.subprotocols
    scope["extensions"][HTTP_RESPONSE_EXTENSION] = {}
    cycle = WebSocketCycle(exchange, upgrade, container.devel)
    try:
        await app(scope, cycle.receive, cycle.send)
    except ClientDisconnected:
        pass
    except asyncio.CancelledError:
        raise
    except BaseException:  # noqa: BLE001 - the outermost boundary: even sys.exit() in an app
        logger.exception("error in ASGI WebSocket application %s", app_name(app, container.names))
        cycle.fail(traceback.format_exc() if container.devel else "")
    else:
        if cycle.state == _CONNECTING:
            logger.error(
                "ASGI application %s returned without accepting or closing the WebSocket",
                app_name(app, container.names),
            )
            cycle.fail("")
        elif cycle.state == _OPEN and cycle.socket is not None:
            cycle.socket.close(NORMAL_CLOSURE)


class WebSocketCycle:
    """``receive``/``send`` of one WebSocket scope; the engine socket's handler."""

    def __init__(self, exchange: Exchange, upgrade: WebSocketUpgrade, devel: bool) -> None:
        self.exchange = exchange
        self.upgrade = upgrade
        self.devel = devel
        self.state = _CONNECTING
        self.socket: WebSocket | None = None
        self.queue: deque[Message] = deque([{"type": "websocket.connect"}])
        self._disconnect: Message | None = None
        self._waiter: asyncio.Future[None] | None = None
        #: a ``websocket.http.response`` being sent: (status line, headers, body so far)
        self._denial: tuple[str, list[tuple[str, str]], list[bytes]] | None = None
        exchange.protocol.wait_lost().add_done_callback(self._lost)

    # -- the engine socket's handler (event loop) -------------------------------------
    def on_open(self, socket: WebSocket) -> None:  # noqa: D102
        pass

    def on_message(self, socket: WebSocket, message: str | bytes) -> None:  # noqa: D102
        key = "text" if isinstance(message, str) else "bytes"
        self._push({"type": "websocket.receive", key: message})
        if len(self.queue) > MAX_QUEUED_MESSAGES:
            socket.pause_reading()

    def on_close(self, socket: WebSocket, code: int) -> None:  # noqa: D102
        self._closed(code)

    def _lost(self, _future: object) -> None:
        self._closed(ABNORMAL_CLOSURE)

    def _closed(self, code: int) -> None:
        if self.state == _CLOSED:
            return
        self.state = _CLOSED
        self._push({"type": "websocket.disconnect", "code": code, "reason": ""})

    def _push(self, message: Message) -> None:
        self.queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- receive ----------------------------------------------------------------------
    async def receive(self) -> Message:
        """The next message: connect, then each message, then one disconnect (repeated)."""
        queue = self.queue
        while not queue:
            if self._disconnect is not None:
                return self._disconnect
            self._waiter = self.exchange.protocol.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = queue.popleft()
        if message["type"] == "websocket.disconnect":
            self._disconnect = message
        elif self.socket is not None and len(queue) == MAX_QUEUED_MESSAGES // 2:
            self.socket.resume_reading()
        return message

    # -- send -------------------------------------------------------------------------
    async def send(self, message: Message) -> None:
        """Take accept/close before the handshake, send/close after it."""
        kind = message["type"]
        state = self.state
        if state == _CONNECTING:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self.refuse()
            elif kind.startswith("websocket.http.response."):
                self._deny(kind, message)
            else:
                raise ASGIProtocolError(f"{kind!r} before websocket.accept or websocket.close")
            return
        if kind == "websocket.send":
            await self._send(message)
        elif kind == "websocket.close":
            if state == _OPEN and self.socket is not None:
                self.state = _CLOSING
                self.socket.close(
                    message.get("code") or NORMAL_CLOSURE, message.get("reason") or ""
                )
            elif state == _CLOSED:
                raise ClientDisconnected("the WebSocket is closed")
        elif kind == "websocket.accept" and state == _CLOSED:
            raise ClientDisconnected("the client left before the accept")
        else:
            raise ASGIProtocolError(f"unexpected ASGI message {kind!r} in a WebSocket scope")

    def _accept(self, message: Message) -> None:
        headers, _ = response_headers(message.get("headers") or ())
        socket = self.upgrade.accept(
            self,
            subprotocol=message.get("subprotocol"),
            idle_timeout=IDLE_TIMEOUT,
            max_message_size=MAX_MESSAGE_SIZE,
        )
        self.socket = socket
        self.state = _OPEN
        self.exchange.respond("101 Switching Protocols", headers)

    async def _send(self, message: Message) -> None:
        if self.state != _OPEN or self.socket is None:
            raise ClientDisconnected("the WebSocket is closed")
        text, data = message.get("text"), message.get("bytes")
        payload = text if text is not None else data
        if not isinstance(payload, (str, bytes, bytearray)):
            raise ASGIProtocolError("websocket.send needs 'text' (str) or 'bytes' (bytes)")
        if not self.socket.send(payload):
            raise ClientDisconnected("the WebSocket is closed")
        protocol = self.exchange.protocol
        if not protocol.writable.is_set():
            await protocol.drain()  # the client reads slowly: wait for it

    def _deny(self, kind: str, message: Message) -> None:
        """The ``websocket.http.response`` extension: an HTTP answer instead of the handshake."""
        if kind == "websocket.http.response.start" and self._denial is None:
            line = STATUS_LINES.get(message.get("status"))  # type: ignore[arg-type]
            if line is None:
                raise ASGIProtocolError(f"invalid status {message.get('status')!r}")
            headers, _ = response_headers(message.get("headers") or ())
            self._denial = (line, headers, [])
        elif kind == "websocket.http.response.body" and self._denial is not None:
            line, headers, body = self._denial
            body.append(bytes(message.get("body", b"")))
            if not message.get("more_body"):
                self.refuse(line, b"".join(body), headers)
        else:
            raise ASGIProtocolError(f"{kind!r} out of order")

    # -- ending -----------------------------------------------------------------------
    def refuse(
        self,
        status: str = "403 Forbidden",
        body: bytes = b"WebSocket refused\n",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Answer the upgrade request with an HTTP response instead of the handshake."""
        self.state = _CLOSED
        self._disconnect = {"type": "websocket.disconnect", "code": ABNORMAL_CLOSURE, "reason": ""}
        self.exchange.respond(status, [TEXT_PLAIN] if headers is None else headers, body)

    def fail(self, details: str) -> None:
        """The app failed: ``500`` before the handshake, close 1011 after it."""
        if self.state == _CONNECTING:
            body = "Internal Server Error\n" + ("\n" + details if details else "")
            self.refuse("500 Internal Server Error", body.encode())
        elif self.state in (_OPEN, _CLOSING) and self.socket is not None:
            self.socket.close(INTERNAL_ERROR)


__all__ = ["IDLE_TIMEOUT", "MAX_MESSAGE_SIZE", "MAX_QUEUED_MESSAGES", "run_websocket"]
