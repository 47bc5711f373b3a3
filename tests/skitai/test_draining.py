"""The drain policy of :mod:`skitai.server.draining`, driven through ``HttpProtocol``.

Bytes in, bytes out: the protocol is fed request bytes and writes to a
:class:`RecordingTransport` (no socket, no running loop); the dispatcher
answers on the spot, or holds an exchange to finish it later.  Timeouts are
checked with a chosen clock (``check_timeouts(now)``).  The same policy under
real load and real signals is in ``test_restart_under_load.py``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from time import monotonic
from typing import Any

import pytest

from skitai.config import Config
from skitai.server.draining import (
    SHUTDOWN_FIRST_REQUEST_GRACE,
    SHUTDOWN_IDLE_GRACE,
    has_unread_input,
)
from skitai.server.exchange import Exchange
from skitai.server.http11 import HttpProtocol
from skitai.server.state import ServerState

REQUEST = b"GET /%s HTTP/1.1\r\nHost: test\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """Collects what the protocol writes; closing reports the connection lost."""

    def __init__(self, protocol: HttpProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.protocol.connection_lost(None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def take(self) -> bytes:
        """What was written since the last call."""
        data, self.written = self.written, b""
        return data


class Dispatcher:
    """Answers ``/`` at once; holds ``/held`` after sending its head, for the test to end."""

    def __init__(self) -> None:
        self.held: list[Exchange] = []

    def dispatch(self, exchange: Exchange) -> None:
        if exchange.target == b"/held":
            exchange.start("200 OK", [("Content-Type", "text/plain")], length=4)
            self.held.append(exchange)
        elif exchange.target == b"/pending":
            self.held.append(exchange)  # no head yet: the application is still working
        else:
            exchange.respond("200 OK", [("Content-Type", "text/plain")], b"ok")

    def body_limit(self, target: bytes) -> int:
        return 1 << 20


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


class Connection:
    """An ``HttpProtocol`` on a :class:`RecordingTransport`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.dispatcher = Dispatcher()
        self.state = ServerState(Config(), loop, self.dispatcher)
        self.protocol = HttpProtocol(self.state)
        self.transport = RecordingTransport(self.protocol)
        self.protocol.connection_made(self.transport)

    def send(self, path: str = "") -> bytes:
        """Feed ``GET /path``; return what the server wrote back."""
        self.protocol.data_received(REQUEST % path.encode())
        return self.transport.take()


@pytest.fixture
def conn(loop: asyncio.AbstractEventLoop) -> Connection:
    return Connection(loop)


def closes(response: bytes) -> bool:
    """Whether ``response`` carries ``Connection: close``."""
    return b"\r\nconnection: close\r\n" in response.lower()


def test_idle_keep_alive_connection_answers_its_next_request_then_closes(
    conn: Connection,
) -> None:
    first = conn.send()
    assert first.startswith(b"HTTP/1.1 200") and not closes(first)
    conn.protocol.shutdown()  # the client may be sending its next request right now
    assert not conn.transport.closed
    second = conn.send()
    assert second.startswith(b"HTTP/1.1 200") and second.endswith(b"ok")
    assert closes(second)
    assert conn.transport.closed


def test_response_started_before_the_drain_keeps_its_keep_alive_promise(
    conn: Connection,
) -> None:
    head = conn.send("held")
    assert head.startswith(b"HTTP/1.1 200") and not closes(head)
    conn.protocol.shutdown()
    (exchange,) = conn.dispatcher.held
    exchange.write(b"done")
    exchange.end()
    assert conn.transport.take() == b"done"
    assert not conn.transport.closed  # the client was promised keep-alive
    last = conn.send()
    assert closes(last) and last.endswith(b"ok")
    assert conn.transport.closed


def test_request_in_progress_is_answered_with_connection_close(conn: Connection) -> None:
    assert conn.send("pending") == b""
    conn.protocol.shutdown()
    (exchange,) = conn.dispatcher.held
    exchange.respond("200 OK", [("Content-Type", "text/plain")], b"late")
    response = conn.transport.take()
    assert response.endswith(b"late") and closes(response)
    assert conn.transport.closed


def test_idle_connection_closes_once_quiet_for_the_grace_period(conn: Connection) -> None:
    conn.send()
    conn.protocol.shutdown()
    answered_at = conn.protocol._idle_since
    conn.protocol.check_timeouts(answered_at + SHUTDOWN_IDLE_GRACE / 2)
    assert not conn.transport.closed
    conn.protocol.check_timeouts(answered_at + SHUTDOWN_IDLE_GRACE)
    assert conn.transport.closed
    assert conn.transport.take() == b""  # closed, not answered: nothing was asked


def test_connection_quiet_before_the_drain_closes_at_once(conn: Connection) -> None:
    conn.send()
    conn.protocol._idle_since = monotonic() - SHUTDOWN_IDLE_GRACE  # answered a while ago
    conn.protocol.shutdown()
    assert conn.transport.closed


def test_never_used_connection_gets_longer_to_send_its_first_request(
    conn: Connection,
) -> None:
    conn.protocol.shutdown()
    accepted_at = conn.protocol._idle_since
    conn.protocol.check_timeouts(accepted_at + SHUTDOWN_IDLE_GRACE)
    assert not conn.transport.closed
    response = conn.send()
    assert closes(response) and conn.transport.closed


def test_never_used_connection_closes_after_its_grace(conn: Connection) -> None:
    conn.protocol.shutdown()
    conn.protocol.check_timeouts(conn.protocol._idle_since + SHUTDOWN_FIRST_REQUEST_GRACE)
    assert conn.transport.closed


def test_pipelined_requests_are_all_answered_the_last_with_close(conn: Connection) -> None:
    assert conn.send("pending") == b""
    conn.protocol.data_received(REQUEST % b"" * 2)  # two more behind it
    conn.protocol.shutdown()
    conn.dispatcher.held[0].respond("200 OK", [("Content-Type", "text/plain")], b"first")
    responses = conn.transport.take().split(b"HTTP/1.1 ")[1:]
    assert [r.endswith(b"first") or r.endswith(b"ok") for r in responses] == [True] * 3
    assert [closes(r) for r in responses] == [False, False, True]
    assert conn.transport.closed


def test_request_pipelined_behind_the_close_is_not_answered(conn: Connection) -> None:
    assert conn.send("pending") == b""
    conn.protocol.shutdown()  # the one request received gets the close
    conn.protocol.data_received(REQUEST % b"")  # sent before the client saw it
    conn.dispatcher.held[0].respond("200 OK", [("Content-Type", "text/plain")], b"first")
    written = conn.transport.take()
    # a pipelining client retries what is left unanswered (RFC 9112 §9.3.2)
    assert written.count(b"HTTP/1.1 200") == 1 and closes(written)
    assert conn.transport.closed


class SocketTransport(RecordingTransport):
    """A transport whose ``socket`` extra is a real connected socket."""

    def __init__(self, protocol: HttpProtocol, sock: socket.socket) -> None:
        super().__init__(protocol)
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else super().get_extra_info(name, default)


def test_unread_request_in_the_socket_keeps_the_connection_open(
    loop: asyncio.AbstractEventLoop,
) -> None:
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        conn = Connection(loop)
        conn.transport = SocketTransport(conn.protocol, server_side)
        conn.protocol.transport = conn.transport
        assert not has_unread_input(conn.transport)
        client_side.sendall(REQUEST % b"")  # arrived, not read by the loop yet
        assert has_unread_input(conn.transport)
        conn.protocol._idle_since = monotonic() - SHUTDOWN_FIRST_REQUEST_GRACE
        conn.protocol.shutdown()
        assert not conn.transport.closed  # it will be read and answered
        assert server_side.recv(4096) == REQUEST % b""  # the peek consumed nothing
        assert not has_unread_input(conn.transport)
        conn.protocol.shutdown()
        assert conn.transport.closed
