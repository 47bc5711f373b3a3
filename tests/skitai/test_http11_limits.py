"""Engine limits against hostile input, at the protocol tier (issue 15).

``HttpProtocol`` is driven over a fake transport: request bytes in, response
bytes out, in whatever pieces a test chooses.  Covered: the chunk extensions
of a body (400), header and trailer fields (431), and a body that ends early
because the client half-closed or closed (400 at once, never the body timeout).
The same inputs through a live server are in ``test_http11.py``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from skitai.config import Config
from skitai.server.errors import BadRequest
from skitai.server.exchange import Exchange
from skitai.server.http11 import HttpProtocol
from skitai.server.state import ServerState

#: Small enough to be fed a byte at a time, quickly.
EXTENSIONS_LIMIT = 1024


class FakeTransport(asyncio.Transport):
    """Collects what the protocol writes; records close and flow control."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:  # noqa: D102
        assert not self.closed, "write after close"
        self.written += data

    def close(self) -> None:  # noqa: D102
        self.closed = True

    def abort(self) -> None:  # noqa: D102
        self.closed = True

    def is_closing(self) -> bool:  # noqa: D102
        return self.closed

    def pause_reading(self) -> None:  # noqa: D102
        self.reading = False

    def resume_reading(self) -> None:  # noqa: D102
        self.reading = True

    def can_write_eof(self) -> bool:  # noqa: D102
        return True

    def get_write_buffer_size(self) -> int:  # noqa: D102
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:  # noqa: D102
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def responses(self) -> list[tuple[int, bytes]]:
        """(status, body) of each response written (all carry Content-Length)."""
        found = []
        data = bytes(self.written)
        while data:
            head, _, rest = data.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"\r\nContent-Length: (\d+)", head)
            size = int(length.group(1)) if length else 0
            found.append((status, rest[:size]))
            data = rest[size:]
        return found


class Dispatcher:
    """Answers on the loop: echoes a complete body; hands a streamed one to a reader thread.

    A request for ``/hold`` is kept unanswered until the test calls ``answer``.
    """

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.readers: list[threading.Thread] = []
        #: what each reader thread got: the body, or the exception its read raised
        self.read_results: list[bytes | BaseException] = []

    def body_limit(self, target: bytes) -> int:  # noqa: D102
        return 1_000_000

    def dispatch(self, exchange: Exchange) -> None:  # noqa: D102
        self.exchanges.append(exchange)
        if exchange.path == b"/hold":
            return
        body = exchange.body
        if body is None or body.complete:
            self.answer(exchange)
            return
        reader = threading.Thread(target=self._read, args=(body,), daemon=True)
        self.readers.append(reader)
        reader.start()

    def _read(self, body: Any) -> None:
        try:
            self.read_results.append(body.read())
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.read_results.append(exc)

    @staticmethod
    def answer(exchange: Exchange) -> None:
        """Respond 200 with the request body (or ``no body``)."""
        body = exchange.body.take_all() if exchange.body is not None else b"no body"
        exchange.respond("200 OK", [("Content-Type", "text/plain")], body)


class Connection:
    """A protocol on a fake transport, fed by the test."""

    def __init__(self, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        self.dispatcher = Dispatcher()
        config = Config(max_chunk_extensions_size=EXTENSIONS_LIMIT, access_log=False, **options)
        self.protocol = HttpProtocol(ServerState(config, loop, self.dispatcher))
        self.transport = FakeTransport()
        self.protocol.connection_made(self.transport)

    def feed(self, data: bytes, piece: int = 0) -> None:
        """Feed ``data`` whole, or in pieces of ``piece`` bytes, while the protocol reads."""
        step = piece or len(data) or 1
        for start in range(0, len(data), step):
            if not self.transport.reading:
                return  # as a real transport: nothing more arrives once paused
            self.protocol.data_received(data[start : start + step])

    def statuses(self) -> list[int]:
        """Status of each response written so far."""
        return [status for status, _ in self.transport.responses()]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop that is never run: the protocol only schedules on it."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def post(path: str = "/echo", **headers: str) -> bytes:
    """A POST head with ``headers`` (``_`` in names becomes ``-``)."""
    lines = [f"POST {path} HTTP/1.1", "Host: test"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


CHUNKED = post(Transfer_Encoding="chunked")
GET = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    """One chunk: size, extension, data."""
    return b"%x%b\r\n%b\r\n" % (len(data), extension, data)


# -- chunk extensions ------------------------------------------------------------------------

#: Three chunks whose extensions (";" included) add up to exactly the limit; the
#: data holds line ends and blank lines, and a trailer follows.
WITHIN = (
    chunk(b"first\r\n\r\nline", b";a=" + b"x" * 497)
    + chunk(b"\n\n\r\n", b";b=" + b"y" * 497)
    + chunk(b"end", b';c="' + b"z" * (EXTENSIONS_LIMIT - 1005) + b'"')
    + b"0\r\nX-Checksum: 1\r\n\r\n"
)


@pytest.mark.parametrize("piece", [0, 1, 2, 3, 7, 64], ids=lambda n: f"pieces-of-{n or 'all'}")
def test_chunk_extensions_at_the_limit_are_accepted_however_split(
    loop: asyncio.AbstractEventLoop, piece: int
) -> None:
    conn = Connection(loop)
    conn.feed(CHUNKED + WITHIN + GET, piece)
    assert conn.transport.responses() == [
        (200, b"first\r\n\r\nline\n\n\r\nend"),
        (200, b"no body"),
    ]
    assert not conn.transport.closed


@pytest.mark.parametrize("piece", [0, 1, 5, 1000], ids=lambda n: f"pieces-of-{n or 'all'}")
@pytest.mark.parametrize(
    "body",
    [
        chunk(b"hello", b";ext=" + b"x" * 100_000) + b"0\r\n\r\n",
        chunk(b"hello", b";a=" + b"x" * 600) + chunk(b"world", b";b=" + b"y" * 600),
        chunk(b"hello") + b"0;last=" + b"z" * EXTENSIONS_LIMIT + b"\r\n\r\n",
        WITHIN.replace(b';c="', b';c="z', 1),
    ],
    ids=["100kB-on-one-chunk", "two-chunks-together", "on-the-last-chunk", "one-over"],
)
def test_chunk_extensions_over_the_limit_get_400(
    loop: asyncio.AbstractEventLoop, body: bytes, piece: int
) -> None:
    conn = Connection(loop)
    conn.feed(CHUNKED + body + GET, piece)
    assert conn.transport.responses() == [
        (400, f"chunk extensions larger than {EXTENSIONS_LIMIT} bytes\n".encode())
    ]
    assert conn.transport.closed
    assert conn.dispatcher.exchanges == []  # buffered on the loop: the app never saw it


@pytest.mark.parametrize("piece", [0, 1])
def test_chunk_size_padded_with_zeros_gets_400(loop: asyncio.AbstractEventLoop, piece: int) -> None:
    """Leading zeros would make a chunk-size line of any length: 16 digits at most."""
    conn = Connection(loop)
    conn.feed(CHUNKED + b"0" * 15 + chunk(b"hello") + b"0\r\n\r\n", piece)
    conn.feed(CHUNKED + b"0" * 16 + chunk(b"hello") + b"0\r\n\r\n", piece)
    assert conn.transport.responses() == [
        (200, b"hello"),
        (400, b"chunk size longer than 16 hex digits\n"),
    ]


def test_chunk_extensions_are_counted_per_request(loop: asyncio.AbstractEventLoop) -> None:
    """Each pipelined chunked request has its own budget."""
    body = chunk(b"hello", b";a=" + b"x" * 900) + b"0\r\n\r\n"
    conn = Connection(loop)
    conn.feed((CHUNKED + body) * 3)
    assert conn.statuses() == [200, 200, 200]


def test_chunk_size_line_after_a_content_length_body(loop: asyncio.AbstractEventLoop) -> None:
    """A chunked request pipelined behind a Content-Length one, in one read."""
    conn = Connection(loop)
    conn.feed(
        post(Content_Length="9")
        + b"\r\n\r\nabcde"
        + CHUNKED
        + chunk(b"ok", b";" + b"e" * (EXTENSIONS_LIMIT + 1))
        + b"0\r\n\r\n"
    )
    assert conn.statuses() == [200, 400]


# -- header and trailer fields ----------------------------------------------------------------


def fields(count: int) -> dict[str, str]:
    """``count`` short header fields."""
    return {f"X_F{i}": "v" for i in range(count)}


@pytest.mark.parametrize("piece", [0, 100])
def test_header_fields_over_the_limit_get_431(loop: asyncio.AbstractEventLoop, piece: int) -> None:
    conn = Connection(loop, max_header_fields=100)
    conn.feed(post(Content_Length="2", **fields(98)) + b"ok", piece)  # 100 with Host
    conn.feed(post(Content_Length="2", **fields(99)) + b"ok", piece)
    assert conn.transport.responses() == [
        (200, b"ok"),
        (431, b"more than 100 header fields\n"),
    ]
    assert conn.transport.closed


def test_5000_header_fields_get_431_with_the_default_limits(
    loop: asyncio.AbstractEventLoop,
) -> None:
    head = b"GET /hello HTTP/1.1\r\nHost: test\r\n" + b"".join(
        b"X-F%d: v\r\n" % i for i in range(5000)
    )
    assert 50_000 < len(head) < Config().max_header_size  # only the count can refuse it
    conn = Connection(loop)
    conn.feed(head + b"\r\n")
    assert conn.statuses() == [431]


def test_trailers_are_not_request_headers(loop: asyncio.AbstractEventLoop) -> None:
    conn = Connection(loop)
    conn.feed(CHUNKED + chunk(b"data") + b"0\r\nHost: evil\r\nX-Trailer: 1\r\n\r\n")
    assert conn.transport.responses() == [(200, b"data")]
    (exchange,) = conn.dispatcher.exchanges
    assert exchange.headers == [(b"host", b"test"), (b"transfer-encoding", b"chunked")]


@pytest.mark.parametrize(
    "trailers",
    [
        b"".join(b"X-T%d: 1\r\n" % i for i in range(101)),
        b"X-Big: " + b"b" * 5000 + b"\r\n",
    ],
    ids=["101-fields", "larger-than-the-head-limit"],
)
def test_trailers_over_the_limits_get_431(loop: asyncio.AbstractEventLoop, trailers: bytes) -> None:
    conn = Connection(loop, max_header_fields=100, max_header_size=4096)
    conn.feed(CHUNKED + chunk(b"data") + b"0\r\n" + trailers + b"\r\n")
    assert conn.statuses() == [431]
    assert conn.transport.closed


# -- a body that ends early -------------------------------------------------------------------

INCOMPLETE = b"request body incomplete: the client closed its side\n"


@pytest.mark.parametrize(
    "request_",
    [
        post(Content_Length="100") + b"0123456789",
        CHUNKED + chunk(b"hello") + b"5\r\nwor",
        CHUNKED + chunk(b"hello") + b"5;ext=",
        CHUNKED + chunk(b"hello") + b"0\r\nX-Trailer: ",
    ],
    ids=["content-length", "chunked-in-data", "chunked-in-size-line", "chunked-in-trailers"],
)
def test_eof_mid_body_gets_400_at_once(loop: asyncio.AbstractEventLoop, request_: bytes) -> None:
    conn = Connection(loop)
    conn.feed(request_)
    assert conn.statuses() == []
    keep_open = conn.protocol.eof_received()
    assert not keep_open  # nothing else to answer: the transport may close
    assert conn.transport.responses() == [(400, INCOMPLETE)]
    assert conn.transport.closed
    assert conn.dispatcher.exchanges == []


def test_eof_mid_body_behind_a_pending_response(loop: asyncio.AbstractEventLoop) -> None:
    """The request ahead is answered first, then the 400, then the close."""
    conn = Connection(loop)
    conn.feed(b"GET /hold HTTP/1.1\r\nHost: test\r\n\r\n" + post(Content_Length="100") + b"x")
    assert conn.protocol.eof_received() is True  # keep the write side open
    assert conn.statuses() == [] and not conn.transport.closed
    Dispatcher.answer(conn.dispatcher.exchanges[0])
    assert conn.transport.responses() == [(200, b"no body"), (400, INCOMPLETE)]
    assert conn.transport.closed


def test_eof_mid_body_being_streamed_to_a_handler(loop: asyncio.AbstractEventLoop) -> None:
    """A handler thread reading the body gets the error at once, and can answer."""
    conn = Connection(loop, body_buffer_size=64)
    conn.feed(post(Content_Length="100") + b"s" * 80)
    (reader,) = conn.dispatcher.readers
    assert conn.protocol.eof_received() is True  # the handler's answer is still to come
    reader.join(1)
    assert not reader.is_alive()
    (error,) = conn.dispatcher.read_results
    assert isinstance(error, BadRequest)
    assert f"{error.status}: {error}" == f"400 Bad Request: {INCOMPLETE.decode().strip()}"
    assert not conn.transport.closed


def test_eof_with_a_complete_request_pending(loop: asyncio.AbstractEventLoop) -> None:
    conn = Connection(loop)
    conn.feed(b"GET /hold HTTP/1.1\r\nHost: test\r\n\r\n")
    assert conn.protocol.eof_received() is True
    Dispatcher.answer(conn.dispatcher.exchanges[0])
    assert conn.statuses() == [200]
    assert conn.transport.closed


@pytest.mark.parametrize("sent", [b"", GET, b"GET /hello HTTP/1.1\r\nHost: te"])
def test_eof_when_nothing_is_pending_closes(loop: asyncio.AbstractEventLoop, sent: bytes) -> None:
    conn = Connection(loop)
    conn.feed(sent)
    answered = conn.statuses()
    assert not conn.protocol.eof_received()
    assert conn.statuses() == answered  # no answer to a head cut short
