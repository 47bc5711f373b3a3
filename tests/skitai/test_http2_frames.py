"""HTTP/2 at the frame level: ``Upgrade: h2c``, limits and attacks, each with its answer;
``103 Early Hints`` over HTTP/2 and HTTP/1.1.

A client-side ``h2.connection.H2Connection`` over a plain socket sends what a
well-behaved client would not (floods, resets, huge header lists) and the test
reads the server's answer: the GOAWAY or RST_STREAM frame and its error code.
"""

from __future__ import annotations

import base64
import signal
import socket
import time
from collections.abc import Callable, Iterator

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import pytest
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    SettingsFrame,
)

from skitai.testing import LiveClient

SERVE = """
import threading, time, skitai

def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/slow":  # a handler that takes its time
        time.sleep(0.5)
    if path == "/flood":  # more than any window a client opens
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        def blocks():
            try:
                for _ in range(1000):
                    yield b"z" * 65536
            except GeneratorExit:
                pass
            finally:
                open(environ["QUERY_STRING"], "w").write("released")
        return blocks()
    body = ("%s %s %s" % (environ["SERVER_PROTOCOL"], environ["REQUEST_METHOD"], path)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

skitai.mount("/", wsgi)
skitai.run(workers=1, threads=4, OPTIONS)
"""

PROTOCOL_ERROR = 0x1
CANCEL = 0x8
REFUSED_STREAM = 0x7
ENHANCE_YOUR_CALM = 0xB


class RawClient:
    """A raw HTTP/2 client: h2's client state machine over a blocking socket."""

    def __init__(self, port: int, *, preface: bool = True, window: int | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config)
        if window is not None:
            self.h2.local_settings = h2.settings.Settings(
                client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
            )
        self.events: list[h2.events.Event] = []
        self.closed = False
        if preface:
            self.h2.initiate_connection()
            self.flush()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True

    def request(self, path: str, end: bool = True) -> int:
        stream_id = self.h2.get_next_available_stream_id()
        headers = [(":method", "GET"), (":path", path), (":scheme", "http"),
                   (":authority", "127.0.0.1")]  # fmt: skip
        self.h2.send_headers(stream_id, headers, end_stream=end)
        self.flush()
        return stream_id

    def read(
        self, until: Callable[[h2.events.Event], bool], timeout: float = 10
    ) -> h2.events.Event:
        """Read events until one matches ``until``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if until(event):
                    return event
            remaining = deadline - time.monotonic()
            assert remaining > 0 and not self.closed, f"not seen; events: {self.events}"
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                continue
            self.events += self.h2.receive_data(data)
            self.flush()

    def goaway(self) -> h2.events.ConnectionTerminated:
        event = self.read(lambda e: isinstance(e, h2.events.ConnectionTerminated))
        assert isinstance(event, h2.events.ConnectionTerminated)
        return event

    def body(self, stream_id: int) -> bytes:
        self.read(lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id)
        return b"".join(
            e.data for e in self.events
            if isinstance(e, h2.events.DataReceived) and e.stream_id == stream_id
        )  # fmt: skip

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server(serve: Callable[..., LiveClient]) -> LiveClient:
    return serve(SERVE.replace("OPTIONS", "body_timeout=2"))


def test_upgrade_h2c_from_http11(server: LiveClient) -> None:
    client = RawClient(server.port, preface=False)
    settings = base64.urlsafe_b64encode(SettingsFrame(0).serialize_body()).rstrip(b"=")
    client.sock.sendall(
        b"GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"upgrade: h2c" in head.lower()
    client.h2.initiate_upgrade_connection()
    client.flush()
    assert client.body(1) == b"HTTP/2.0 GET /first"  # the upgrade request, answered on stream 1
    second = client.request("/second")
    assert client.body(second) == b"HTTP/2.0 GET /second"
    client.close()


def test_a_bad_http2_settings_gets_400(server: LiveClient) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAAA\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b"invalid HTTP2-Settings\n")


def test_more_streams_than_allowed_is_a_protocol_error(server: LiveClient) -> None:
    client = RawClient(server.port)
    client.read(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
    assert client.h2.remote_settings.max_concurrent_streams == 100
    client.h2.remote_settings = h2.settings.Settings(client=False)  # pretend not to know
    client.h2.remote_settings.max_concurrent_streams = 1000
    for _ in range(101):
        client.request("/slow")
    assert client.goaway().error_code == PROTOCOL_ERROR
    client.close()


def test_an_oversized_header_list_is_refused(server: LiveClient) -> None:
    client = RawClient(server.port)
    headers = [(":method", "GET"), (":path", "/"), (":scheme", "http"),
               (":authority", "x")] + [(f"x-big-{n}", "v" * 4000) for n in range(40)]  # fmt: skip
    client.h2.send_headers(1, headers, end_stream=True)
    client.flush()
    assert client.goaway().error_code in (PROTOCOL_ERROR, ENHANCE_YOUR_CALM)
    client.close()


def test_an_hpack_bomb_is_refused(server: LiveClient) -> None:
    client = RawClient(server.port)
    headers = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x")]
    headers += [("x-bomb", "b" * 4000)] * 100  # one table entry, then 99 one-byte references
    client.h2.send_headers(1, headers, end_stream=True)
    sent = client.h2.data_to_send()
    assert len(sent) < 5000  # ~400 KB once decoded
    client.send_raw(sent)
    assert client.goaway().error_code in (PROTOCOL_ERROR, ENHANCE_YOUR_CALM)
    client.close()


def test_continuation_flood_is_cut(server: LiveClient) -> None:
    client = RawClient(server.port)
    client.send_raw(HeadersFrame(1, data=b"", flags=["END_STREAM"]).serialize())
    for _ in range(200):  # a header block that never ends (CVE-2024-27316)
        client.send_raw(ContinuationFrame(1, data=b"\x40\x01a\x01b").serialize())
        if client.closed:
            break
    assert client.goaway().error_code in (PROTOCOL_ERROR, ENHANCE_YOUR_CALM)
    client.close()


def test_rapid_reset_is_told_to_calm_down(server: LiveClient) -> None:
    client = RawClient(server.port)
    for _ in range(400):  # open and cancel at once (CVE-2023-44487)
        stream_id = client.request("/slow")
        client.h2.reset_stream(stream_id, CANCEL)
        client.flush()
    assert client.goaway().error_code == ENHANCE_YOUR_CALM
    client.close()


@pytest.mark.parametrize(
    "frame",
    [
        PingFrame(0, opaque_data=b"12345678"),
        SettingsFrame(0),
        DataFrame(1, data=b""),
    ],
    ids=["PING", "SETTINGS", "empty DATA"],
)
def test_control_frame_floods_are_told_to_calm_down(server: LiveClient, frame: object) -> None:
    client = RawClient(server.port)
    if isinstance(frame, DataFrame):
        client.request("/slow", end=False)  # a stream that stays open for the empty frames
    payload = frame.serialize() * 1500  # type: ignore[attr-defined]
    client.send_raw(payload)
    assert client.goaway().error_code == ENHANCE_YOUR_CALM
    client.close()


def test_a_stalled_window_releases_the_handler_thread(server: LiveClient, tmp_path) -> None:
    marker = tmp_path / "released"
    client = RawClient(server.port, window=0)  # never opens a window to the server
    stream_id = client.request(f"/flood?{marker}")
    event = client.read(
        lambda e: isinstance(e, h2.events.StreamReset) and e.stream_id == stream_id, timeout=15
    )
    assert event.error_code == CANCEL  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while not marker.exists():  # the WSGI iterable was closed: the thread is free
        assert time.monotonic() < deadline, "the handler thread is still pinned"
        time.sleep(0.05)
    # the connection serves on, once the client opens its window
    client.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
    client.flush()
    assert client.body(client.request("/after")) == b"HTTP/2.0 GET /after"
    client.close()


def test_idle_connection_gets_goaway(serve: Callable[..., LiveClient]) -> None:
    server = serve(SERVE.replace("OPTIONS", "keepalive_timeout=1"))
    client = RawClient(server.port)
    assert client.body(client.request("/")) == b"HTTP/2.0 GET /"
    assert client.goaway().error_code == 0
    client.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["stop", "rolling"])
def test_a_draining_worker_sends_graceful_goaway_and_finishes_streams(
    server: LiveClient, signum: int
) -> None:
    client = RawClient(server.port)
    slow = client.request("/slow")
    client.h2.ping(b"in order")  # frames are handled in order: its ACK means the request is in
    client.flush()
    client.read(lambda e: isinstance(e, h2.events.PingAckReceived))
    assert server.process is not None
    # SIGTERM: the master stops its workers gracefully; SIGHUP: a rolling restart
    # replaces the worker, which drains the same way
    server.process.send_signal(signum)
    # h2's own client state machine stops at any GOAWAY: read the frames by hand
    decoder = hpack.Decoder()
    goaway, status, body = None, None, b""
    for frame in _frames(client.sock):
        if isinstance(frame, GoAwayFrame):
            goaway = goaway or frame
        elif isinstance(frame, HeadersFrame):
            fields = dict(decoder.decode(frame.data, raw=True))
            if frame.stream_id == slow:
                status = fields[b":status"]
        elif isinstance(frame, DataFrame) and frame.stream_id == slow:
            body += frame.data
    assert goaway is not None and goaway.error_code == 0 and goaway.last_stream_id == slow
    assert status == b"200" and body == b"HTTP/2.0 GET /slow"
    client.close()


def _frames(sock: socket.socket) -> Iterator[Frame]:
    """The frames the server sends until it closes the connection."""
    buffer = b""
    while True:
        while len(buffer) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(buffer[:9]))
            if len(buffer) < 9 + length:
                break
            frame.parse_body(memoryview(buffer[9 : 9 + length]))
            buffer = buffer[9 + length :]
            yield frame
        chunk = sock.recv(65536)
        if not chunk:
            return
        buffer += chunk


# -- 103 Early Hints (was.response.hint_promise) -------------------------------------

HINTS_SERVE = """
import skitai, atila

app = atila.Atila(__name__)

@app.route("/page")
def page(was):
    was.response.hint_promise("/static/app.css")
    was.response.hint_promise("/static/app.js")
    return "<html>page</html>"

@app.route("/async")
async def page_async(was):
    was.response.hint_promise("/static/a.css")
    return "async page"

skitai.mount("/", app)
skitai.run(workers=1, threads=2)
"""


def _read_all(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_no_early_hints_over_http11(serve: Callable[..., LiveClient]) -> None:
    # HTTP/1.1 clients such as http.client take a 103 for the final response
    server = serve(HINTS_SERVE)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = _read_all(sock, b"</html>")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"<html>page</html>")


def test_early_hints_over_http2(serve: Callable[..., LiveClient]) -> None:
    server = serve(HINTS_SERVE)
    client = RawClient(server.port)
    for path, links in (
        ("/page", [b"</static/app.css>; rel=preload", b"</static/app.js>; rel=preload"]),
        ("/async", [b"</static/a.css>; rel=preload"]),
    ):
        stream_id = client.request(path)
        client.body(stream_id)
        heads = [
            dict(e.headers)
            for e in client.events
            if isinstance(e, (h2.events.InformationalResponseReceived, h2.events.ResponseReceived))
            and e.stream_id == stream_id
        ]
        assert [h[b":status"] for h in heads] == [b"103"] * len(links) + [b"200"]
        assert [h[b"link"] for h in heads[:-1]] == links
    client.close()


# -- response trailers (ASGI http.response.trailers) -----------------------------------
TRAILERS_SERVE = """
import skitai

async def app(scope, receive, send):
    supported = "http.response.trailers" in scope["extensions"]
    await send({"type": "http.response.start", "status": 200, "trailers": supported,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"part one, ", "more_body": True})
    await send({"type": "http.response.body", "body": b"part two"})
    if supported:
        await send({"type": "http.response.trailers",
                    "headers": [(b"grpc-status", b"0"), (b"x-checksum", b"abc")]})

skitai.mount("/", app)
skitai.run(workers=1, threads=2)
"""


def test_asgi_response_trailers_over_http2(serve: Callable[..., LiveClient]) -> None:
    server = serve(TRAILERS_SERVE)
    client = RawClient(server.port)
    stream_id = client.request("/")
    assert client.body(stream_id) == b"part one, part two"
    trailers = [e for e in client.events if isinstance(e, h2.events.TrailersReceived)]
    assert len(trailers) == 1
    assert dict(trailers[0].headers) == {b"grpc-status": b"0", b"x-checksum": b"abc"}
    client.close()
    # HTTP/1.1 does not offer the extension: the same app answers without trailers
    assert server.get("/").text == "part one, part two"


def test_a_body_too_large_gets_413_and_the_stream_is_reset(server: LiveClient) -> None:
    client = RawClient(server.port)
    stream_id = client.h2.get_next_available_stream_id()
    client.h2.send_headers(
        stream_id,
        [(":method", "POST"), (":path", "/up"), (":scheme", "http"), (":authority", "x"),
         ("content-length", str(10**12))],
    )  # fmt: skip
    client.h2.send_data(stream_id, b"a" * 1000)  # the rest is never sent: no need
    client.flush()
    response = client.read(lambda e: isinstance(e, h2.events.ResponseReceived))
    assert dict(response.headers)[b":status"] == b"413"  # type: ignore[attr-defined]
    assert client.body(stream_id).startswith(b"request body larger than")
    # answered before the body ended: the client is told to stop sending (RFC 9113 §8.1)
    reset = client.read(lambda e: isinstance(e, h2.events.StreamReset))
    assert reset.stream_id == stream_id and reset.error_code == 0  # type: ignore[attr-defined]
    assert client.body(client.request("/next")) == b"HTTP/2.0 GET /next"  # serves on
    client.close()
