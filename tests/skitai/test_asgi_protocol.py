"""ASGI at the protocol tier: telling WSGI from ASGI, and ``HttpProtocol`` driving the ASGI
container over a fake transport (request bytes in, response bytes out) on a real loop.

The same behaviour through a live server (Starlette, FastAPI, every protocol violation)
is in ``test_asgi_live.py``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from typing import Any

import pytest
from test_http11_limits import FakeTransport  # shared protocol-tier helper

from skitai.config import Config
from skitai.interfaces import asgi3, detect_interface
from skitai.mount_targets import MountError
from skitai.mounts import MountTable
from skitai.server.asgi import ASGIContainer
from skitai.server.exchange import Exchange
from skitai.server.http11 import HttpProtocol
from skitai.server.state import ServerState

# -- telling WSGI from ASGI -------------------------------------------------------------------


async def asgi_function(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body"})


def wsgi_function(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


class ASGIObject:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await asgi_function(scope, receive, send)


class ASGI2App:
    """An ASGI 2 app: made from the scope, then called with (receive, send)."""

    def __init__(self, scope: Any) -> None:
        self.scope = scope

    async def __call__(self, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi2 " + self.scope["path"].encode()})


class WSGIClass:
    """PEP 3333 allows a class: calling it with (environ, start_response) is the response."""

    def __init__(self, environ: Any, start_response: Any) -> None:
        start_response("200 OK", [])

    def __iter__(self) -> Iterator[bytes]:
        yield b""


class HandWrittenMiddleware:
    """A plain ``def __call__`` returning the wrapped app's coroutine: the rule cannot see it."""

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return asgi_function(scope, receive, send)


def test_the_detection_rule() -> None:
    from starlette.applications import Starlette

    assert detect_interface(asgi_function) == "asgi"
    assert detect_interface(ASGIObject()) == "asgi"
    assert detect_interface(Starlette()) == "asgi"
    assert detect_interface(functools.partial(asgi_function)) == "asgi"
    assert detect_interface(ASGI2App) == "asgi"
    assert detect_interface(wsgi_function) == "wsgi"
    assert detect_interface(WSGIClass) == "wsgi"
    assert detect_interface(HandWrittenMiddleware()) == "wsgi"
    assert detect_interface(HandWrittenMiddleware(), "asgi") == "asgi"  # the override
    assert detect_interface(asgi_function, "wsgi") == "wsgi"


def test_what_the_rule_refuses() -> None:
    async def two(environ: Any, start_response: Any) -> None: ...

    with pytest.raises(MountError, match="interface='asgi'"):
        detect_interface(two)
    with pytest.raises(MountError, match="interface must be one of"):
        detect_interface(asgi_function, "rsgi")


def test_mount_records_the_interface() -> None:
    table = MountTable()
    asgi = table.add("/svc", asgi_function)
    wsgi = table.add("/", wsgi_function)
    forced = table.add("/mw", HandWrittenMiddleware(), interface="asgi")
    assert (asgi.interface, wsgi.interface, forced.interface) == ("asgi", "wsgi", "asgi")  # type: ignore[union-attr]
    assert asgi3(asgi_function) is asgi_function


# -- the container over a fake transport --------------------------------------------------------


class Dispatcher:
    """Sends every request to one ASGI app mounted at ``/``."""

    def __init__(self, app: Any, devel: bool = False, limit: int = 1_000_000) -> None:
        self.app = asgi3(app)
        self.container = ASGIContainer({}, None, devel)
        self.limit = limit

    def body_limit(self, target: bytes) -> int:  # noqa: D102
        return self.limit

    def dispatch(self, exchange: Exchange) -> None:  # noqa: D102
        self.container.call(exchange, self.app, "", exchange.path.decode("latin-1"))


class Connection:
    """A protocol on a fake transport, on a running loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app: Any, **options: Any) -> None:
        devel = options.pop("devel", False)
        limit = options.pop("limit", 1_000_000)
        self.loop = loop
        self.dispatcher = Dispatcher(app, devel, limit)
        config = Config(access_log=False, **options)
        self.protocol = HttpProtocol(ServerState(config, loop, self.dispatcher))
        self.transport = FakeTransport()
        self.protocol.connection_made(self.transport)

    def feed(self, data: bytes) -> None:
        self.protocol.data_received(data)
        self.settle()

    def settle(self) -> None:
        """Let the app's task run until it waits for something."""
        self.loop.run_until_complete(asyncio.sleep(0.01))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_an_asgi2_class_is_served(loop: asyncio.AbstractEventLoop) -> None:
    conn = Connection(loop, ASGI2App)
    conn.feed(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
    assert conn.transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
    assert conn.transport.written.endswith(b"\r\n\r\nasgi2 /two")


def test_pipelined_requests_and_head(loop: asyncio.AbstractEventLoop) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = scope["path"].encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    conn = Connection(loop, app)
    conn.feed(
        b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nHEAD /bb HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /c HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    conn.settle()
    written = bytes(conn.transport.written)
    assert written.count(b"HTTP/1.1 200 OK") == 3
    first, second, third = written.split(b"HTTP/1.1 200 OK")[1:]
    assert first.endswith(b"\r\n\r\n/a")
    assert b"Content-Length: 3\r\n" in second and second.endswith(b"\r\n\r\n")  # HEAD: no body
    assert third.endswith(b"\r\n\r\n/c")


def test_the_body_streams_with_back_pressure(loop: asyncio.AbstractEventLoop) -> None:
    received: list[int] = []
    go_on = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(len(message["body"]))
            if not message["more_body"]:
                break
            await go_on.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(sum(received)).encode()})

    conn = Connection(loop, app, body_buffer_size=1000)
    conn.feed(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + b"x" * 1000)
    assert received == [1000]  # dispatched once the buffer filled: the app read it
    conn.feed(b"x" * 1000)  # the app does not read: the buffer fills, the socket is not read
    assert not conn.transport.reading
    go_on.set()
    conn.settle()
    assert conn.transport.reading  # the app read: reading resumes
    conn.feed(b"x" * 3000)
    assert sum(received) == 5000
    assert conn.transport.written.endswith(b"\r\n\r\n5000")


def test_a_body_too_large_found_while_the_app_reads(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except OSError:
            seen.append("send refused")

    conn = Connection(loop, app, body_buffer_size=1000, limit=3000)
    conn.feed(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(4):
        conn.feed(b"3e8\r\n" + b"y" * 1000 + b"\r\n")
    assert conn.transport.written.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b"Connection: close" in conn.transport.written and conn.transport.closed
    assert seen[-2:] == ["http.disconnect", "send refused"]


def test_development_mode_shows_the_traceback(loop: asyncio.AbstractEventLoop) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise LookupError("the reason")

    conn = Connection(loop, app, devel=True)
    conn.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    written = bytes(conn.transport.written)
    assert written.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"LookupError: the reason" in written


def test_receive_waits_for_the_end_of_the_response_or_the_client(
    loop: asyncio.AbstractEventLoop,
) -> None:
    heard: list[str] = []

    async def listen(receive: Any) -> None:
        heard.append((await receive())["type"])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the (empty) body
        listeners = [asyncio.ensure_future(listen(receive)) for _ in range(2)]
        await asyncio.sleep(0.001)
        assert heard == []  # nothing to say while the response is under way
        if scope["path"] == "/eof":
            await asyncio.gather(*listeners)  # the client closes its side
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        await asyncio.gather(*listeners)

    conn = Connection(loop, app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert heard == ["http.disconnect", "http.disconnect"]  # both, once the response is out
    heard.clear()
    conn.feed(b"GET /eof HTTP/1.1\r\nHost: t\r\n\r\n")
    assert heard == []
    conn.protocol.eof_received()
    conn.settle()
    assert heard == ["http.disconnect", "http.disconnect"]
    assert conn.transport.written.endswith(b"done")  # answered all the same


def test_an_app_that_exits_does_not_stop_the_worker(loop: asyncio.AbstractEventLoop) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise SystemExit(3)

    conn = Connection(loop, app)
    conn.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    conn.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # the loop still runs: served again
    assert bytes(conn.transport.written).count(b"HTTP/1.1 500 Internal Server Error") == 2


def test_response_headers_checked_once_still_hold_every_rule(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The container remembers header pairs it checked (asgi_common._FIELDS): a pair seen
    before goes out as before, a changed one is checked again, and the hop-by-hop,
    Content-Length and Server rules apply to remembered pairs too."""
    answers = {
        "/plain": (200, [(b"content-type", b"text/plain"), (b"x-a", b"1")]),
        "/bad": (200, [(b"content-type", b"text/plain"), (b"x-a", b"1\r\nx-b: 2")]),
        "/list": (200, [[b"x-a", b"1"], (b"server", b"mine")]),
        "/hop": (200, [(b"connection", b"keep-alive"), (b"upgrade", b"h2c"), (b"x-a", b"1")]),
        "/426": (426, [(b"upgrade", b"h2c"), (b"connection", b"upgrade")]),
        "/two-lengths": (200, [(b"content-length", b"2"), (b"content-length", b"3")]),
        "/close": (200, [(b"connection", b"close"), (b"content-length", b"2")]),
    }

    async def app(scope: Any, receive: Any, send: Any) -> None:
        status, headers = answers[scope["path"]]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    conn = Connection(loop, app)

    def get(path: str) -> bytes:
        conn.transport.written.clear()
        conn.feed(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return bytes(conn.transport.written)

    for _ in range(2):  # the second time from what was remembered
        plain = get("/plain")
        assert plain.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\ncontent-type: text/plain\r\nx-a: 1\r\n" in plain
        assert b"Content-Length: 2\r\n" in plain and b"Server: " in plain
        assert plain.endswith(b"\r\n\r\nok")
        assert get("/bad").startswith(b"HTTP/1.1 500 ")  # no response splitting
        listed = get("/list")
        assert b"x-a: 1\r\nserver: mine\r\n" in listed and b"Server: " not in listed
        hop = get("/hop")
        assert b"upgrade" not in hop.lower() and b"x-a: 1\r\n" in hop
        assert b"keep-alive" not in hop.lower()
        assert b"upgrade: h2c\r\n" in get("/426")
        assert get("/two-lengths").startswith(b"HTTP/1.1 500 ")
    closed = get("/close")
    assert closed.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in closed
    assert conn.transport.closed
