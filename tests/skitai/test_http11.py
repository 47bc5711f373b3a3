"""The HTTP/1.1 server seen from a raw socket (issue 4, point 4).

Every test talks to a real running server (a ``serve.py`` started on an
ephemeral port) with hand-written request bytes, and reads the responses with
the small parser below, so framing, keep-alive, pipelining, limits, request
smuggling defences and timeouts are checked byte for byte.  Waiting is done
by reading the socket with a timeout, never by sleeping.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import pytest

from skitai.testing import LiveClient, test_client

#: Seconds a socket read may block before the test fails (never hang).
READ_TIMEOUT = 5.0
#: The small timeouts every server under test runs with (seconds).
TIMEOUT = 1

APP = """
    import skitai

    HTML = b"<html><body>" + b"<p>hello, compressible world</p>" * 64 + b"</body></html>"
    PNG = bytes(range(256)) * 16
    STREAM = [b"one,", b"two,", b"three"]

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/hello":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"hello\\n"]
        if path == "/echo":
            body = environ["wsgi.input"].read()
            start_response("200 OK", [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(len(body))),
            ])
            return [body]
        if path == "/html":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [HTML]
        if path == "/tiny-html":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<p>hi</p>"]
        if path == "/png":
            start_response("200 OK", [("Content-Type", "image/png")])
            return [PNG]
        if path == "/stream":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return (chunk for chunk in STREAM)  # a generator: streamed
        if path == "/stream-html":
            start_response("200 OK", [("Content-Type", "text/html")])
            return (HTML[i:i + 500] for i in range(0, len(HTML), 500))
        if path == "/raise":
            raise RuntimeError("secret-detail-in-exception")
        if path == "/raise-late":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return _fail_late()
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\\n"]

    def _fail_late():
        yield b"partial"
        raise RuntimeError("secret-detail-after-head")

    skitai.mount("/", app)
    with skitai.preference() as pref:
        pref.max_client_body_size = 100
        skitai.mount("/small", app, "small", pref)
    skitai.mount("/big", app, "big")
    skitai.run(**OPTIONS)
"""

#: The shared server's options: small limits and timeouts, one handler thread.
MAIN_OPTIONS = {
    "threads": 1,
    "header_timeout": TIMEOUT,
    "keepalive_timeout": TIMEOUT,
    "body_timeout": TIMEOUT,
    "max_uri_size": 1024,
    "max_header_size": 4096,
    "max_client_body_size": 100_000,
    # Bodies from 64 bytes on stream to the application (thread side).
    "body_buffer_size": 64,
}

HTML = b"<html><body>" + b"<p>hello, compressible world</p>" * 64 + b"</body></html>"
PNG = bytes(range(256)) * 16


def app_source(**options: object) -> str:
    """The server script: the test app run with ``skitai.run(**options)``."""
    return textwrap.dedent(APP).replace("**OPTIONS", f"**{options!r}")


def _module_server(tmp_path_factory: pytest.TempPathFactory, **options: object) -> LiveClient:
    """Start the test app with ``options`` for a module-scoped fixture.

    Module-scoped, so it starts the script itself the way the ``serve``
    fixture (function-scoped) does.
    """
    script = tmp_path_factory.mktemp("http11") / "serve.py"
    script.write_text(app_source(**options))
    client = test_client(str(script), devel=False)
    assert client.port is not None
    return client


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of the server most tests share (started once: the module stays fast)."""
    client = _module_server(tmp_path_factory, **MAIN_OPTIONS)
    yield client.port or 0
    client.stop()


@pytest.fixture(scope="module")
def default_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a server with the default limits and timeouts (30 s for a stalled body)."""
    client = _module_server(tmp_path_factory, threads=1)
    yield client.port or 0
    client.stop()


# -- a minimal HTTP/1.1 client ----------------------------------------------------------


@dataclass
class Response:
    """One parsed response."""

    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: the undecoded body bytes as they came (chunk framing included)
    raw_body: bytes = b""

    def header(self, name: str) -> str | None:
        """The single value of header ``name`` (None when absent; fails if repeated)."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None


class Connection:
    """A raw client socket with a buffer that keeps pipelined responses apart."""

    def __init__(self, port: int, timeout: float = READ_TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed; unparsed: {self.buffer[:200]!r}")
        self.buffer += data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        data, _, self.buffer = self.buffer.partition(marker)
        return data

    def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def response(self, method: str = "GET") -> Response:
        """Read one whole response (``method`` tells whether a body follows)."""
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *lines = head.split("\r\n")
        version, status, reason = status_line.split(" ", 2)
        response = Response(int(status), reason, version)
        for line in lines:
            name, _, value = line.partition(":")
            response.headers.append((name, value.strip()))
        if method == "HEAD" or response.status < 200 or response.status in (204, 304):
            return response
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            self._read_chunked(response)
        elif response.header("Content-Length") is not None:
            response.body = response.raw_body = self._read_exact(
                int(response.header("Content-Length") or 0)
            )
        else:  # close-delimited
            while True:
                try:
                    self._fill()
                except ConnectionError:
                    break
            response.body = response.raw_body = self.buffer
            self.buffer = b""
        return response

    def _read_chunked(self, response: Response) -> None:
        parts = []
        raw = []
        while True:
            size_line = self._read_until(b"\r\n")
            raw.append(size_line + b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                trailer = self._read_until(b"\r\n")
                assert trailer == b"", f"unexpected trailer {trailer!r}"
                raw.append(b"\r\n")
                break
            chunk = self._read_exact(size + 2)
            assert chunk.endswith(b"\r\n"), f"chunk not CRLF-terminated: {chunk[-10:]!r}"
            parts.append(chunk[:-2])
            raw.append(chunk)
        response.body = b"".join(parts)
        response.raw_body = b"".join(raw)

    def request(self, method: str, path: str, *, body: bytes = b"", **headers: str) -> Response:
        """Send one request (``Content-Length`` when there is a body) and read its response."""
        if body:
            headers.setdefault("Content_Length", str(len(body)))
        self.send(request(method, path, **headers) + body)
        return self.response(method)

    def assert_closed(self, timeout: float = READ_TIMEOUT) -> None:
        """The server closes the connection (recv gives b"") and sends nothing more."""
        assert self.buffer == b"", f"unexpected bytes after the response: {self.buffer[:200]!r}"
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"connection still open after {timeout}s") from None
        assert data == b"", f"more data instead of a close: {data[:200]!r}"


def request(method: str, path: str, version: str = "1.1", **headers: str) -> bytes:
    """Bytes of a request head; ``Host: test`` unless given, ``_`` in names becomes ``-``."""
    headers.setdefault("Host", "test")
    lines = [f"{method} {path} HTTP/{version}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(*chunks: bytes) -> bytes:
    """A chunked request body made of ``chunks`` plus the last chunk."""
    return b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


# -- keep-alive, HTTP/1.0, Connection: close ------------------------------------------


def test_keep_alive_serves_two_requests_on_one_connection(port: int) -> None:
    with Connection(port) as conn:
        first = conn.request("GET", "/hello")
        second = conn.request("GET", "/hello")
    for response in (first, second):
        assert response.status == 200
        assert response.version == "HTTP/1.1"
        assert response.header("Content-Length") == "6"
        assert response.header("Connection") is None
        assert response.body == b"hello\n"


def test_http10_closes_by_default(port: int) -> None:
    with Connection(port) as conn:
        conn.send(b"GET /hello HTTP/1.0\r\n\r\n")
        response = conn.response()
        assert response.status == 200
        assert response.header("Connection") == "close"
        assert response.body == b"hello\n"
        conn.assert_closed()


def test_http10_keep_alive_when_asked(port: int) -> None:
    with Connection(port) as conn:
        for _ in range(2):
            conn.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = conn.response()
            assert response.status == 200
            assert response.header("Connection") == "keep-alive"
            assert response.header("Content-Length") == "6"
            assert response.body == b"hello\n"


def test_http10_streamed_response_is_close_delimited(port: int) -> None:
    with Connection(port) as conn:
        conn.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        response = conn.response()
    assert response.status == 200
    assert response.header("Transfer-Encoding") is None
    assert response.header("Connection") == "close"
    assert response.body == b"one,two,three"


def test_connection_close_is_honoured(port: int) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/hello", Connection="close")
        assert response.status == 200
        assert response.header("Connection") == "close"
        assert response.body == b"hello\n"
        conn.assert_closed()


def test_date_and_server_headers(port: int) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/hello")
    assert response.header("Server") == "skitai"
    date = response.header("Date")
    assert date is not None and date.endswith(" GMT")
    assert abs(parsedate_to_datetime(date).timestamp() - time.time()) < 5


# -- pipelining ---------------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    body = b"x" * 100  # above body_buffer_size: streamed to the app
    with Connection(port) as conn:
        conn.send(
            request("GET", "/hello")
            + request("POST", "/echo", Content_Length=str(len(body)))
            + body
            + request("GET", "/stream")
        )
        first, second, third = conn.response(), conn.response(), conn.response()
        after = conn.request("GET", "/hello")
    assert (first.status, first.body) == (200, b"hello\n")
    assert (second.status, second.body) == (200, body)
    assert (third.status, third.body) == (200, b"one,two,three")
    assert (after.status, after.body) == (200, b"hello\n")


def test_pipelined_small_bodies_are_answered_in_order(port: int) -> None:
    with Connection(port) as conn:
        conn.send(b"".join(
            request("POST", "/echo", Content_Length="5") + b"body%d" % i for i in range(5)
        ))  # fmt: skip
        bodies = [conn.response().body for _ in range(5)]
    assert bodies == [b"body0", b"body1", b"body2", b"body3", b"body4"]


def test_pipelined_after_an_answer_from_the_event_loop(port: int) -> None:
    """``OPTIONS *`` is answered while its head is parsed; the connection stays open."""
    with Connection(port) as conn:
        conn.send(b"OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n" + request("GET", "/hello"))
        options, hello = conn.response(), conn.response()
    assert (options.status, options.header("Connection")) == (200, None)
    assert options.header("Allow") is not None
    assert (hello.status, hello.body) == (200, b"hello\n")


def test_pipelined_burst_after_a_split_head_is_not_too_large(port: int) -> None:
    """Only the head being received counts against the head limit, not what follows it."""
    with Connection(port) as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Split: ")
        conn.sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            conn.sock.recv(1)  # the server has the first part and waits for more
        conn.sock.settimeout(READ_TIMEOUT)
        burst = b"1\r\n\r\n" + request("GET", "/hello", X_Pad="p" * 600) * 10
        assert len(burst) > 4096 + 1024  # more than one head may hold
        conn.send(burst)
        responses = [conn.response() for _ in range(11)]
    assert [r.status for r in responses] == [200] * 11


# -- bodies: chunked, 100-continue, HEAD ------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [(b"hello ", b"world"), (b"a" * 40, b"b" * 50, b"c" * 60)],
    ids=["buffered", "streamed"],
)
def test_chunked_request_body_is_decoded(port: int, chunks: tuple[bytes, ...]) -> None:
    with Connection(port) as conn:
        conn.send(request("POST", "/echo", Transfer_Encoding="chunked") + chunked(*chunks))
        response = conn.response()
        assert response.status == 200
        assert response.body == b"".join(chunks)
        assert conn.request("GET", "/hello").status == 200


def test_chunked_request_body_with_extensions_and_trailers(port: int) -> None:
    body = b"5;name=value\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n"
    with Connection(port) as conn:
        conn.send(request("POST", "/echo", Transfer_Encoding="chunked") + body)
        response = conn.response()
    assert (response.status, response.body) == (200, b"hello")


def test_streamed_response_is_chunked(port: int) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/stream")
        assert response.status == 200
        assert response.header("Transfer-Encoding") == "chunked"
        assert response.header("Content-Length") is None
        assert response.body == b"one,two,three"
        assert response.raw_body == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"
        assert conn.request("GET", "/hello").body == b"hello\n"


@pytest.mark.parametrize("size", [10, 80], ids=["buffered", "streamed"])
def test_expect_100_continue(port: int, size: int) -> None:
    body = b"y" * size
    with Connection(port) as conn:
        conn.send(request("POST", "/echo", Content_Length=str(len(body)), Expect="100-continue"))
        interim = conn.response()
        assert (interim.version, interim.status, interim.reason) == ("HTTP/1.1", 100, "Continue")
        conn.send(body)
        response = conn.response()
    assert response.status == 200
    assert response.body == body


def test_head_has_headers_and_no_body(port: int) -> None:
    with Connection(port) as conn:
        head = conn.request("HEAD", "/hello")
        assert head.status == 200
        assert head.header("Content-Length") == "6"
        assert head.header("Content-Type") == "text/plain"
        assert conn.buffer == b""
        # the next response starts right away: no body bytes were sent for HEAD
        after = conn.request("GET", "/hello")
    assert (after.status, after.body) == (200, b"hello\n")


def test_head_of_a_streamed_response(port: int) -> None:
    with Connection(port) as conn:
        head = conn.request("HEAD", "/stream")
        assert head.status == 200
        assert conn.request("GET", "/hello").body == b"hello\n"


# -- gzip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["gzip, deflate", "*", "br, gzip;q=0.5"])
def test_gzip_when_accepted(port: int, accept: str) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/html", Accept_Encoding=accept)
    assert response.status == 200
    assert response.header("Content-Encoding") == "gzip"
    assert response.header("Vary") == "Accept-Encoding"
    assert response.header("Content-Length") == str(len(response.body))
    assert len(response.body) < len(HTML)
    assert gzip.decompress(response.body) == HTML


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/html", None),
        ("/html", "gzip;q=0"),
        ("/html", "*, gzip;q=0"),
        ("/html", "identity"),
        ("/tiny-html", "gzip"),
        ("/png", "gzip"),
    ],
    ids=["not-accepted", "q0", "star-but-gzip-q0", "identity", "small", "png"],
)
def test_no_gzip(port: int, path: str, accept: str | None) -> None:
    headers = {} if accept is None else {"Accept_Encoding": accept}
    with Connection(port) as conn:
        response = conn.request("GET", path, **headers)
    assert response.status == 200
    assert response.header("Content-Encoding") is None
    expected = {"/html": HTML, "/tiny-html": b"<p>hi</p>", "/png": PNG}[path]
    assert response.body == expected
    assert response.header("Content-Length") == str(len(expected))


def test_gzip_of_a_streamed_response(port: int) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/stream-html", Accept_Encoding="gzip")
        assert response.status == 200
        assert response.header("Content-Encoding") == "gzip"
        assert response.header("Vary") == "Accept-Encoding"
        assert response.header("Transfer-Encoding") == "chunked"
        assert gzip.decompress(response.body) == HTML
        assert conn.request("GET", "/hello").body == b"hello\n"


def test_head_with_gzip_reports_the_compressed_length(port: int) -> None:
    with Connection(port) as conn:
        head = conn.request("HEAD", "/html", Accept_Encoding="gzip")
        get = conn.request("GET", "/html", Accept_Encoding="gzip")
    assert head.header("Content-Encoding") == "gzip"
    assert head.header("Content-Length") == get.header("Content-Length")


# -- limits -------------------------------------------------------------------------------


def test_uri_too_long(port: int) -> None:
    with Connection(port) as conn:
        conn.send(request("GET", "/hello?" + "q" * 2000))
        assert conn.response().status == 414
        conn.assert_closed()


def test_uri_at_the_limit_is_accepted(port: int) -> None:
    path = "/hello?" + "q" * (1024 - len("/hello?"))
    with Connection(port) as conn:
        assert conn.request("GET", path).status == 200


def test_headers_too_large(port: int) -> None:
    headers = {f"X_Header_{i}": "v" * 100 for i in range(50)}
    with Connection(port) as conn:
        conn.send(request("GET", "/hello", **headers))
        assert conn.response().status == 431
        conn.assert_closed()


def test_endless_header_line_is_refused_not_buffered(port: int) -> None:
    with Connection(port) as conn:
        conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Endless: " + b"a" * 20_000)
        # 431 (too large), not 408 later: the server noticed without a line end
        assert conn.response().status == 431
        conn.assert_closed()


def test_endless_header_sent_in_pieces(port: int) -> None:
    with Connection(port) as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Endless: ")
        # the last piece takes the head over 4096 + 1024 bytes: nothing is left
        # unsent when the server refuses it
        for _ in range(6):
            conn.send(b"a" * 1000)
        assert conn.response().status == 431
        conn.assert_closed()


def test_content_length_over_limit_is_refused_before_the_body(port: int) -> None:
    with Connection(port) as conn:
        # only the head: the server answers without waiting for the body
        conn.send(request("POST", "/small/echo", Content_Length="1000"))
        assert conn.response().status == 413
        conn.assert_closed()


def test_content_length_over_limit_with_expect_gets_no_continue(port: int) -> None:
    with Connection(port) as conn:
        conn.send(request("POST", "/echo", Content_Length="200000", Expect="100-continue"))
        assert conn.response().status == 413
        conn.assert_closed()


def test_chunked_body_over_limit(port: int) -> None:
    with Connection(port) as conn:
        conn.send(
            request("POST", "/small/echo", Transfer_Encoding="chunked")
            + chunked(b"a" * 50, b"b" * 50, b"c" * 50)
        )
        assert conn.response().status == 413
        conn.assert_closed()


def test_chunked_body_over_limit_before_dispatch(port: int) -> None:
    # 101 bytes in one chunk: over /small's limit while still being buffered
    with Connection(port) as conn:
        conn.send(request("POST", "/small/echo", Transfer_Encoding="chunked") + chunked(b"z" * 101))
        assert conn.response().status == 413
        conn.assert_closed()


def test_body_limit_is_per_mount(port: int) -> None:
    body = b"b" * 1000
    with Connection(port) as conn:
        big = conn.request("POST", "/big/echo", body=body)
        assert (big.status, big.body) == (200, body)
        small = conn.request("POST", "/small/echo", body=b"s" * 100)
        assert (small.status, small.body) == (200, b"s" * 100)
    with Connection(port) as conn:
        assert conn.request("POST", "/small/echo", body=body).status == 413
        conn.assert_closed()


# -- malformed requests and request smuggling -------------------------------------------

MALFORMED = {
    "garbage-request-line": b"HELLO\r\n\r\n",
    "tls-handshake": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
    "bad-header-name": b"GET /hello HTTP/1.1\r\nHost: test\r\nBad\x01Name: v\r\n\r\n",
    "bad-header-value": b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Bad: a\x00b\r\n\r\n",
    "space-before-colon": b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Bad : v\r\n\r\n",
    "bad-version": b"GET /hello HTTP/9.9\r\nHost: test\r\n\r\n",
    "missing-host": b"GET /hello HTTP/1.1\r\n\r\n",
    "duplicate-host": b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bad-content-length": b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1x\r\n\r\n",
    "negative-content-length": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    "bad-chunk-size": b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
    b"\r\nzz\r\nhello\r\n0\r\n\r\n",
}

SMUGGLING = {
    "cl-and-te": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    "te-and-cl": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    "differing-content-length": b"Content-Length: 5\r\nContent-Length: 6\r\n",
    "content-length-list": b"Content-Length: 5, 6\r\n",
    "te-chunked-identity": b"Transfer-Encoding: chunked, identity\r\n",
    "te-identity-chunked-twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "te-xchunked": b"Transfer-Encoding: xchunked\r\n",
    "te-space-before-colon": b"Transfer-Encoding : chunked\r\n",
    "te-folded": b"Transfer-Encoding:\r\n chunked\r\n",
    "te-leading-space-line": b"X-Padding: x\r\n Transfer-Encoding: chunked\r\n",
    "te-vertical-tab": b"Transfer-Encoding:\x0bchunked\r\n",
    "te-trailing-garbage": b"Transfer-Encoding: chunked\x0c\r\n",
    "te-gzip": b"Transfer-Encoding: gzip\r\n",
}


def assert_refused(port: int, data: bytes, status: int = 400) -> None:
    """``data`` plus a pipelined ``GET`` gets one ``status`` response and a close."""
    with Connection(port) as conn:
        conn.send(data + request("GET", "/hello"))
        response = conn.response()
        assert response.status == status, response.body
        assert response.header("Connection") == "close"
        conn.assert_closed()  # and the pipelined GET is never answered


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_is_400_and_closed(port: int, data: bytes) -> None:
    assert_refused(port, data)


@pytest.mark.parametrize("framing", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_smuggling_attempt_is_400_and_closed(port: int, framing: bytes) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: test\r\n" + framing + b"\r\n"
    assert_refused(port, head + b"0\r\n\r\n")


def test_chunked_on_http10_is_400_and_closed(port: int) -> None:
    head = b"POST /echo HTTP/1.0\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert_refused(port, head + b"0\r\n\r\n")


def test_unknown_expect_is_417(port: int) -> None:
    assert_refused(port, request("GET", "/hello", Expect="something-else"), 417)


def test_refused_after_a_good_pipelined_request(port: int) -> None:
    """The request ahead of a bad one is answered, then the 400 comes and the close."""
    with Connection(port) as conn:
        conn.send(request("GET", "/hello") + b"GET /hello HTTP/1.1\r\n\r\n" + request("GET", "/"))
        good = conn.response()
        assert (good.status, good.body) == (200, b"hello\n")
        assert conn.response().status == 400
        conn.assert_closed()


# -- hostile input: the issue 15 cases, each answered within a second ----------------------

#: Socket timeout of the hostile-input tests: the answer must come within it.
PROMPT = 1.0


def assert_prompt_refusal(conn: Connection, status: int, message: bytes) -> None:
    """One ``status`` response explaining ``message``, read within PROMPT, then a close."""
    conn.sock.settimeout(PROMPT)
    response = conn.response()
    assert (response.status, response.header("Connection")) == (status, "close")
    assert message in response.body
    conn.assert_closed(timeout=PROMPT)


def test_100kb_chunk_extension_gets_400(default_port: int) -> None:
    body = b"5;ext=" + b"x" * 100_000 + b"\r\nhello\r\n0\r\n\r\n"
    with Connection(default_port) as conn:
        conn.send(request("POST", "/echo", Transfer_Encoding="chunked") + body)
        assert_prompt_refusal(conn, 400, b"chunk extensions larger than 16384 bytes")


def test_chunk_extensions_within_the_limit_are_accepted(default_port: int) -> None:
    body = b"5;ext=" + b"x" * 16_000 + b"\r\nhello\r\n0\r\n\r\n"
    with Connection(default_port) as conn:
        conn.send(request("POST", "/echo", Transfer_Encoding="chunked") + body)
        assert conn.response().body == b"hello"


def test_5000_header_fields_get_431(default_port: int) -> None:
    fields = {f"X_F{i}": "v" for i in range(5000)}
    head = request("GET", "/hello", **fields)
    assert len(head) > 55_000  # and under the 64 KiB head limit: refused for the count
    with Connection(default_port) as conn:
        conn.send(head)
        assert_prompt_refusal(conn, 431, b"more than 100 header fields")


def test_100_header_fields_are_accepted(default_port: int) -> None:
    with Connection(default_port) as conn:
        response = conn.request("GET", "/hello", **{f"X_F{i}": "v" for i in range(99)})
    assert (response.status, response.body) == (200, b"hello\n")


@pytest.mark.parametrize(
    "sent",
    [
        request("POST", "/echo", Content_Length="100") + b"0123456789",
        request("POST", "/echo", Transfer_Encoding="chunked") + b"5\r\nhello\r\n5\r\nwor",
        request("POST", "/echo", Transfer_Encoding="chunked") + b"5\r\nhello\r\n5;a=",
    ],
    ids=["content-length", "chunked-in-data", "chunked-in-size-line"],
)
def test_body_cut_short_by_a_half_close_gets_400(default_port: int, sent: bytes) -> None:
    """The body timeout is 30 s here: the answer must not wait for it."""
    with Connection(default_port) as conn:
        conn.send(sent)
        conn.sock.shutdown(socket.SHUT_WR)
        assert_prompt_refusal(conn, 400, b"request body incomplete")


def test_body_cut_short_while_the_app_reads_it_gets_400(port: int) -> None:
    """80 bytes are past body_buffer_size: the app is reading them on its thread."""
    with Connection(port) as conn:
        conn.send(request("POST", "/echo", Content_Length="100") + b"s" * 80)
        conn.sock.shutdown(socket.SHUT_WR)
        assert_prompt_refusal(conn, 400, b"request body incomplete")
    with Connection(port) as conn:  # and the one handler thread is free again
        assert conn.request("GET", "/hello").status == 200


# -- timeouts -----------------------------------------------------------------------------


def timed(
    conn: Connection, data: bytes = b"", budget: float = READ_TIMEOUT
) -> tuple[Response, float]:
    """Send ``data``, read one response (waiting up to ``budget`` s); return it and the wait."""
    started = time.monotonic()
    conn.send(data)
    conn.sock.settimeout(budget)
    response = conn.response()
    return response, time.monotonic() - started


def test_slow_request_head_gets_408(port: int) -> None:
    with Connection(port) as conn:
        started = time.monotonic()
        conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n")
        # slowloris: a header line every 0.2 s never completes the head
        for i in range(40):
            try:
                response, _ = timed(conn, budget=0.2)
                break
            except TimeoutError:
                conn.send(b"X-Slow-%d: 1\r\n" % i)
        else:
            pytest.fail("the slow head was never answered")
        assert response.status == 408
        assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 2
        conn.assert_closed()


@pytest.mark.parametrize("used", [False, True], ids=["never-used", "after-a-response"])
def test_idle_connection_is_closed(port: int, used: bool) -> None:
    with Connection(port) as conn:
        if used:
            assert conn.request("GET", "/hello").status == 200
        started = time.monotonic()
        conn.assert_closed(timeout=TIMEOUT + 3)
        assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 2


def test_keep_alive_timeout_restarts_after_each_response(port: int) -> None:
    """A connection used again just before its timeout stays open."""
    with Connection(port) as conn:
        for _ in range(3):
            assert conn.request("GET", "/hello").status == 200
            conn.sock.settimeout(TIMEOUT * 0.6)
            with pytest.raises(TimeoutError):
                conn.sock.recv(1)  # idle for 0.6 s: the server must not close


@pytest.mark.parametrize(
    "sent",
    [b"0123456789", b"x" * 80],
    ids=["buffered-on-the-loop", "streamed-to-the-app"],
)
def test_stalled_body_gets_408_and_frees_the_handler_thread(port: int, sent: bytes) -> None:
    """Content-Length 100, some bytes, then silence; the server has one handler thread.

    10 bytes stay on the event loop (below body_buffer_size): other clients are
    served meanwhile.  80 bytes are handed to the app, which reads until the
    body times out.  Either way one 408 comes, the connection closes and the
    thread is free again.
    """
    with Connection(port) as stalled:
        started = time.monotonic()
        stalled.send(request("POST", "/echo", Content_Length="100") + sent)
        if len(sent) < MAIN_OPTIONS["body_buffer_size"]:
            with Connection(port) as other:
                response, took = timed(other, request("GET", "/hello"))
                assert (response.status, took < 0.5) == (200, True)
        response, _ = timed(stalled, budget=TIMEOUT + 3)
        assert response.status == 408
        assert time.monotonic() - started < TIMEOUT + 2
        stalled.assert_closed()  # exactly one response, then the close
    with Connection(port) as conn:
        response, took = timed(conn, request("GET", "/hello"))
        assert (response.status, took < 0.5) == (200, True)


# -- connection limit ---------------------------------------------------------------------


@contextlib.contextmanager
def served_connection(port: int) -> Iterator[Connection]:
    """A connection that got a 200 for ``/hello`` (retried while the server is full)."""
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        conn = Connection(port)
        status = conn.request("GET", "/hello").status
        if status == 200:
            break
        conn.sock.close()
        assert status == 503 and time.monotonic() < deadline, status
    try:
        yield conn
    finally:
        conn.sock.close()


def test_connection_limit(serve: Callable[..., LiveClient]) -> None:
    client = serve(app_source(threads=1, max_connections=2))
    assert client.port is not None
    # The readiness probe's connection may still count until the server sees it close.
    with served_connection(client.port) as first, served_connection(client.port):
        with Connection(client.port) as third:
            response = third.response()
            assert response.status == 503
            assert response.header("Connection") == "close"
            third.assert_closed()
        with Connection(client.port) as eager:
            # A client that sends its request at once still reads the 503 (no reset).
            eager.send(request("GET", "/hello"))
            assert eager.response().status == 503
        assert first.request("GET", "/hello").status == 200
    # once the two are closed (the server notices soon), new connections are served again
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        with Connection(client.port) as conn:
            conn.send(request("GET", "/hello"))
            status = conn.response().status
        if status == 200:
            break
        assert status == 503 and time.monotonic() < deadline, status


# -- application errors -------------------------------------------------------------------


def test_app_error_is_a_short_500(port: int) -> None:
    with Connection(port) as conn:
        response = conn.request("GET", "/raise")
        assert response.status == 500
        assert response.body == b"Internal Server Error\n"
        assert b"Traceback" not in response.body and b"secret" not in response.body
        assert conn.request("GET", "/hello").status == 200


def test_app_error_after_streaming_started_drops_the_connection(port: int) -> None:
    with Connection(port) as conn:
        conn.send(request("GET", "/raise-late"))
        with pytest.raises(ConnectionError):
            conn.response()
