"""PEP 3333 completeness of skitai's WSGI container, through a real running server.

One server script (``serve.py`` below) mounts a probe app at ``/v1`` and at
``/``; every test talks to it over TCP, with ``requests`` or, where the bytes
on the wire matter (repeated headers, a dropped connection), a raw socket.
Ordering between requests is proven with ``threading.Event`` objects inside
the server, never with timers.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from skitai.testing import LiveClient, test_client

MIB = 1024 * 1024

SERVER = r'''
import hashlib
import io
import json
import os
import sys
import threading
from urllib.parse import parse_qs

import skitai

HERE = os.path.dirname(os.path.abspath(__file__))
_LOCK = threading.Lock()
_EVENTS = {}
#: events are bounded waits, so a broken server fails a test instead of hanging it
WAIT = 10.0


def event(kind, key):
    with _LOCK:
        return _EVENTS.setdefault((kind, key), threading.Event())


def query(environ):
    return {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}


def reply(start_response, body, status="200 OK", headers=()):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain"), *headers])
    return [body]


def environ_route(environ, start_response):
    plain = {
        key: (list(value) if isinstance(value, tuple) else value)
        for key, value in environ.items()
        if isinstance(value, (str, bool, int, tuple))
    }
    stream, errors = environ["wsgi.input"], environ["wsgi.errors"]
    methods = ("read", "readline", "readlines", "__iter__")
    plain["input_api"] = all(hasattr(stream, m) for m in methods)
    plain["errors_api"] = all(hasattr(errors, m) for m in ("write", "writelines", "flush"))
    plain["file_wrapper_callable"] = callable(environ["wsgi.file_wrapper"])
    plain["empty_read"] = stream.read().decode("latin-1")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(plain).encode("ascii")]


def read_body(stream, mode, length=None):
    if mode == "read":
        return stream.read()
    if mode == "read-length":  # one read(CONTENT_LENGTH), as many apps do
        return stream.read(int(length))
    if mode == "readn":
        parts = []
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
    if mode == "readline":
        parts = []
        while True:
            line = stream.readline()
            if not line:
                return b"".join(parts)
            assert line.endswith(b"\n") or b"\n" not in line
            parts.append(line)
    if mode == "iter":
        return b"".join(stream)
    if mode == "readlines":
        return b"".join(stream.readlines())
    raise ValueError(mode)


def input_route(environ, start_response):
    body = read_body(environ["wsgi.input"], query(environ)["mode"], environ.get("CONTENT_LENGTH"))
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Body-Sha256", hashlib.sha256(body).hexdigest()),
        ("X-Content-Length", environ.get("CONTENT_LENGTH", "-")),
    ]
    start_response("200 OK", headers)
    return [body]


def write_route(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written-1,")
    write(b"")
    write(b"written-2,")
    return iter([b"", b"returned"])


class Tracked:
    """An iterable whose close() is recorded (PEP 3333: the server must call it)."""

    def __init__(self, key, count, size):
        self.key, self.count, self.size = key, count, size

    def __iter__(self):
        for number in range(self.count):
            yield (b"%d," % number).ljust(self.size, b".")

    def close(self):
        event("closed", self.key).set()


def tracked_route(environ, start_response):
    q = query(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Tracked(q["key"], int(q["count"]), int(q.get("size", "8")))


def closed_route(environ, start_response):
    closed = event("closed", query(environ)["key"]).wait(WAIT)
    return reply(start_response, "closed" if closed else "not closed")


def fail_after_first_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first-chunk"
    raise RuntimeError("boom after the first chunk")


def exc_info_route(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    if query(environ).get("after_body"):
        write(b"partial")
    try:
        raise ValueError("app-level failure")
    except ValueError:
        # Before any body this replaces the status; after it, start_response re-raises.
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"replaced by exc_info"]


def file_route(environ, start_response):
    q = query(environ)
    handle = open(os.path.join(HERE, q["name"]), "rb")
    if "seek" in q:
        handle.seek(int(q["seek"]))
    headers = [("Content-Type", "application/octet-stream")]
    if "length" in q:
        headers.append(("Content-Length", q["length"]))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](handle, 32768)


def bytesio_route(environ, start_response):
    data = b"".join(b"%06d\n" % n for n in range(20000))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](io.BytesIO(data), 4096)


def thread_route(environ, start_response):
    return reply(start_response, threading.current_thread().name)


def slow_route(environ, start_response):
    key = query(environ)["key"]
    event("started", key).set()
    released = event("release", key).wait(WAIT)
    return reply(start_response, "released" if released else "timed out")


def release_route(environ, start_response):
    key = query(environ)["key"]
    started = event("started", key).wait(WAIT)
    event("release", key).set()
    return reply(start_response, "released" if started else "slow request never started")


def bad_response_route(environ, start_response):
    kind = query(environ)["kind"]
    if kind == "crlf-header":
        start_response("200 OK", [("X-Injected", "a\r\nSet-Cookie: evil=1")])
        return [b"x"]
    if kind == "non-latin1-header":
        start_response("200 OK", [("X-Name", "\u20ac")])
        return [b"x"]
    if kind == "bad-content-length":
        start_response("200 OK", [("Content-Length", "twelve")])
        return [b"x"]
    if kind == "bytes-header":
        start_response("200 OK", [(b"X-Bytes", b"1")])
        return [b"x"]
    if kind == "bad-status":
        start_response("OK", [])
        return [b"x"]
    if kind == "str-chunk":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(["not bytes"])
    if kind == "str-list":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["not bytes"]
    if kind == "str-write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write("not bytes")
        return []
    if kind == "no-start-response":
        return [b"x"]
    if kind == "raise":
        raise RuntimeError("plain application error")
    raise ValueError(kind)


class InMemoryBody:
    """A body held in a list behind ``__iter__``, as Django's HttpResponse is."""

    def __init__(self, key, chunks):
        self.key, self.chunks = key, chunks

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        event("closed", self.key).set()


def in_memory_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return InMemoryBody(query(environ)["key"], [b"in ", b"", b"memory"])


def length_route(environ, start_response):
    q = query(environ)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", q["declared"])])
    return iter([b"x" * int(q["actual"])])


ROUTES = {
    "/environ": environ_route,
    "/input": input_route,
    "/write": write_route,
    "/tracked": tracked_route,
    "/closed": closed_route,
    "/fail-after-first": fail_after_first_route,
    "/exc-info": exc_info_route,
    "/file": file_route,
    "/bytesio": bytesio_route,
    "/thread": thread_route,
    "/slow": slow_route,
    "/release": release_route,
    "/bad-response": bad_response_route,
    "/length": length_route,
    "/in-memory": in_memory_route,
}


def probe(environ, start_response):
    route = ROUTES.get(environ["PATH_INFO"], environ_route)
    return route(environ, start_response)


skitai.mount("/v1", probe)
skitai.mount("/", probe)
skitai.run(threads=2)
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's directory: its script and the files served by ``/file``."""
    root = tmp_path_factory.mktemp("container")
    (root / "serve.py").write_text(SERVER)
    (root / "small.bin").write_bytes(bytes(range(256)) * 40)
    (root / "large.bin").write_bytes(os.urandom(5 * MIB))
    return root


def serve_site(site: Path) -> Iterator[LiveClient]:
    """Fixture body: run ``site/serve.py`` until the fixture is torn down.

    Shared with the other live-server modules of this directory.
    """
    client = test_client(site / "serve.py", devel=False)
    yield client
    client.stop()


def fresh_session(server: LiveClient) -> Iterator[LiveClient]:
    """Fixture body: a new session (own connections and cookies) on a running server."""
    session = LiveClient(server.base_url, server.server)
    yield session
    session.close()


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LiveClient]:
    """One running server (1 worker x 2 threads) shared by the tests of this module."""
    yield from serve_site(site)


@pytest.fixture
def http(server: LiveClient) -> Iterator[LiveClient]:
    """A fresh session on the shared server (no connection reuse between tests)."""
    yield from fresh_session(server)


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send ``request`` on a new connection and return everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (lower-case names) and body of one raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def wait_for_output(client: LiveClient, needle: str, deadline: float = 10.0) -> str:
    """The server's output once it holds ``needle`` (polled: it is another process)."""
    assert client.server is not None
    end = time.monotonic() + deadline
    while True:
        output = client.server.output_tail(20000)
        if needle in output or time.monotonic() > end:
            return output
        time.sleep(0.05)


def assert_healthy(http: LiveClient) -> None:
    """The server still answers normally on a new connection."""
    response = requests.get(http.url_for("/thread"), timeout=10)
    assert response.status_code == 200
    assert response.text.startswith("skitai-handler")


# -- environ ------------------------------------------------------------------------


def test_environ_under_a_mount_point(http: LiveClient) -> None:
    response = http.get("/v1/environ", params={"q": "1", "r": "a b"}, headers={"X-Trace": "t1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    environ = response.json()
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == "/v1"
    assert environ["PATH_INFO"] == "/environ"
    assert environ["QUERY_STRING"] == "q=1&r=a+b"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(http.port)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{http.port}"
    assert environ["HTTP_X_TRACE"] == "t1"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False  # one worker process
    assert environ["wsgi.run_once"] is False
    assert environ["input_api"] and environ["errors_api"] and environ["file_wrapper_callable"]
    assert environ["empty_read"] == ""  # a GET has an empty wsgi.input
    assert "CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ


def test_script_name_and_path_info_split(http: LiveClient) -> None:
    at_point = http.get("/v1").json()
    assert (at_point["SCRIPT_NAME"], at_point["PATH_INFO"]) == ("/v1", "")
    below = http.get("/v1/").json()
    assert (below["SCRIPT_NAME"], below["PATH_INFO"]) == ("/v1", "/")
    root = http.get("/v10/x").json()  # /v10 is not under /v1: the "/" mount answers
    assert (root["SCRIPT_NAME"], root["PATH_INFO"]) == ("", "/v10/x")


def test_path_info_is_percent_decoded_latin1(http: LiveClient) -> None:
    raw = raw_exchange(
        http.port,
        b"GET /v1/caf%C3%A9/a%20b%2Fc?x=%C3%A9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    status, _, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    environ = json.loads(body)
    # PEP 3333: the bytes of the decoded path, each one a latin-1 character.
    assert environ["PATH_INFO"] == "/caf\xc3\xa9/a b/c"
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café/a b/c"
    assert environ["SCRIPT_NAME"] == "/v1"
    assert environ["QUERY_STRING"] == "x=%C3%A9"  # the query string stays encoded
    assert environ["REQUEST_URI"] == "/v1/caf%C3%A9/a%20b%2Fc?x=%C3%A9"


def test_repeated_headers_are_joined(http: LiveClient) -> None:
    raw = raw_exchange(
        http.port,
        b"GET /v1/environ HTTP/1.1\r\nHost: t\r\nX-Multi: a\r\nX-Other: o\r\nx-multi: b\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n",
    )
    environ = json.loads(split_response(raw)[2])
    assert environ["HTTP_X_MULTI"] == "a, b"
    assert environ["HTTP_X_OTHER"] == "o"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_CONNECTION"] == "close"


def test_headers_with_underscores_are_dropped(http: LiveClient) -> None:
    # "X_Forwarded_For" would otherwise become HTTP_X_FORWARDED_FOR and pass for a
    # header a proxy vouches for (the behaviour of nginx, Apache and gunicorn).
    raw = raw_exchange(
        http.port,
        b"GET /v1/environ HTTP/1.1\r\nHost: t\r\nX_Forwarded_For: 6.6.6.6\r\n"
        b"X-Real: 1\r\nConnection: close\r\n\r\n",
    )
    environ = json.loads(split_response(raw)[2])
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert environ["HTTP_X_REAL"] == "1"


def test_content_type_and_length(http: LiveClient) -> None:
    response = http.post(
        "/v1/environ",
        data=b"a=1&b=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    environ = response.json()
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "7"
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["empty_read"] == "a=1&b=2"


# -- wsgi.input ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["read", "readn", "readline", "iter", "readlines"])
def test_small_body_read_every_way(http: LiveClient, mode: str) -> None:
    body = b"line one\nline two\r\n\nlast line without newline"
    response = http.post(f"/v1/input?mode={mode}", data=body)
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["X-Content-Length"] == str(len(body))


@pytest.mark.parametrize("mode", ["readn", "readline", "iter", "read-length"])
def test_large_upload_streams_through_wsgi_input(http: LiveClient, mode: str) -> None:
    # 3 MiB is three times the server's body buffer: the app reads while it arrives.
    body = os.urandom(3 * MIB)
    response = http.post(f"/v1/input?mode={mode}", data=body)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["X-Body-Sha256"] == hashlib.sha256(body).hexdigest()
    assert response.content == body


def test_chunked_request_body_streams(http: LiveClient) -> None:
    parts = [os.urandom(256 * 1024) for _ in range(8)]  # 2 MiB, chunked: no Content-Length
    response = http.post("/v1/input?mode=readn", data=iter(parts))
    body = b"".join(parts)
    assert response.status_code == 200
    assert response.headers["X-Content-Length"] == "-"
    assert response.headers["X-Body-Sha256"] == hashlib.sha256(body).hexdigest()


# -- the response: write(), iterables, close() ------------------------------------------


def test_write_callable_then_iterable(http: LiveClient) -> None:
    response = http.get("/v1/write")
    assert response.status_code == 200
    assert response.text == "written-1,written-2,returned"
    assert response.headers["Content-Type"] == "text/plain"


def test_iterable_close_is_called(http: LiveClient) -> None:
    response = http.get("/v1/tracked", params={"key": "complete", "count": "5"})
    assert response.status_code == 200
    assert response.text == "0,......1,......2,......3,......4,......"
    assert http.get("/v1/closed", params={"key": "complete"}).text == "closed"


def test_a_body_held_in_memory_goes_out_whole(http: LiveClient) -> None:
    response = http.get("/v1/in-memory", params={"key": "in-memory"})
    assert response.text == "in memory"
    assert response.headers["Content-Length"] == "9"
    assert "Transfer-Encoding" not in response.headers
    assert http.get("/v1/closed", params={"key": "in-memory"}).text == "closed"
    # a generator's body is still streamed as it comes
    streamed = http.get("/v1/tracked", params={"key": "streamed", "count": "2"})
    assert streamed.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in streamed.headers


def test_iterable_close_is_called_when_the_client_goes_away(http: LiveClient) -> None:
    # 64 KiB chunks, far more than the socket buffers hold: the app is still
    # iterating when the client hangs up.
    request = b"GET /v1/tracked?key=gone&count=100000&size=65536 HTTP/1.1\r\nHost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    assert http.get("/v1/closed", params={"key": "gone"}).text == "closed"
    assert_healthy(http)


def test_iterable_raising_after_first_chunk_drops_the_connection(http: LiveClient) -> None:
    raw = raw_exchange(http.port, b"GET /v1/fail-after-first HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == "chunked"
    assert b"first-chunk" in body
    assert not body.endswith(b"0\r\n\r\n")  # never terminated: the client sees a broken body
    assert_healthy(http)
    assert "boom after the first chunk" in wait_for_output(http, "boom after the first chunk")


def test_exc_info_before_the_body_replaces_the_status(http: LiveClient) -> None:
    response = http.get("/v1/exc-info")
    assert response.status_code == 503
    assert response.text == "replaced by exc_info"


def test_exc_info_after_the_body_drops_the_connection(http: LiveClient) -> None:
    raw = raw_exchange(http.port, b"GET /v1/exc-info?after_body=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    status, _, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"  # already on the wire when the error happened
    assert b"partial" in body and b"replaced" not in body
    assert not body.endswith(b"0\r\n\r\n")
    assert_healthy(http)


# -- wsgi.file_wrapper ---------------------------------------------------------------------


def test_file_wrapper_small_file(http: LiveClient, site: Path) -> None:
    expected = (site / "small.bin").read_bytes()
    response = http.get("/v1/file", params={"name": "small.bin"})
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(expected))
    assert "Transfer-Encoding" not in response.headers
    assert response.content == expected


def test_file_wrapper_large_file(http: LiveClient, site: Path) -> None:
    expected = (site / "large.bin").read_bytes()
    response = http.get("/v1/file", params={"name": "large.bin"})
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(5 * MIB)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(expected).digest()


def test_file_wrapper_honours_position_and_declared_length(http: LiveClient, site: Path) -> None:
    expected = (site / "large.bin").read_bytes()[1000 : 1000 + 70000]
    response = http.get("/v1/file", params={"name": "large.bin", "seek": "1000", "length": "70000"})
    assert response.headers["Content-Length"] == "70000"
    assert response.content == expected
    # The connection is still in a clean state: the next request on it works.
    assert http.get("/v1/file", params={"name": "small.bin"}).status_code == 200


def test_file_wrapper_declared_length_beyond_the_file_drops_the_connection(
    http: LiveClient, site: Path
) -> None:
    size = (site / "small.bin").stat().st_size
    raw = raw_exchange(
        http.port,
        f"GET /v1/file?name=small.bin&length={size + 100} HTTP/1.1\r\nHost: t\r\n\r\n".encode(),
    )
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-length"] == str(size + 100)
    assert body == (site / "small.bin").read_bytes()  # all there is; then the server closes
    assert_healthy(http)


def test_file_wrapper_on_bytesio_falls_back_to_iteration(http: LiveClient) -> None:
    response = http.get("/v1/bytesio", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b"".join(b"%06d\n" % n for n in range(20000))


# -- declared Content-Length vs. the body ----------------------------------------------------


def test_body_longer_than_content_length_is_cut(http: LiveClient) -> None:
    # Keep-alive: extra bytes would be read as the start of the next response.
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as sock:
        sock.sendall(
            b"GET /v1/length?declared=5&actual=20 HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /v1/thread HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 5" in first
    assert rest.startswith(b"xxxxxHTTP/1.1 200 OK\r\n")  # the next response follows at once
    assert rest.endswith(b"skitai-handler-0") or rest.endswith(b"skitai-handler-1")


def test_body_shorter_than_content_length_drops_the_connection(http: LiveClient) -> None:
    raw = raw_exchange(
        http.port, b"GET /v1/length?declared=50&actual=20 HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 200 OK" and headers["content-length"] == "50"
    assert body == b"x" * 20  # then EOF instead of a hang
    assert_healthy(http)


# -- broken applications -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "crlf-header",
        "non-latin1-header",
        "bad-content-length",
        "bytes-header",
        "bad-status",
        "str-chunk",
        "str-list",
        "str-write",
        "no-start-response",
        "raise",
    ],
)
def test_broken_app_gets_a_500_not_a_hang(http: LiveClient, kind: str) -> None:
    response = http.get("/v1/bad-response", params={"kind": kind})
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert "evil" not in response.headers.get("Set-Cookie", "")
    assert_healthy(http)


# -- threads -----------------------------------------------------------------------------------


def test_apps_run_on_handler_threads(http: LiveClient) -> None:
    names = {http.get("/v1/thread").text for _ in range(4)}
    assert names and all(name.startswith("skitai-handler") for name in names)


def test_a_slow_app_does_not_block_the_others(http: LiveClient) -> None:
    # /slow waits (bounded) for an event that only /release sets: it can only
    # answer "released" if /release was served while /slow was in progress.
    results: dict[str, str] = {}

    def slow() -> None:
        results["slow"] = requests.get(http.url_for("/v1/slow?key=k1"), timeout=20).text

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        results["release"] = requests.get(http.url_for("/v1/release?key=k1"), timeout=20).text
    finally:
        thread.join(20)
    assert results == {"release": "released", "slow": "released"}


def test_multiprocess_flag_with_workers(tmp_path: Path) -> None:
    (tmp_path / "serve.py").write_text(SERVER)
    with test_client(tmp_path / "serve.py", devel=False, args=["--workers", "2"]) as client:
        environ = client.get("/v1/environ").json()
    assert environ["wsgi.multiprocess"] is True
    assert environ["wsgi.multithread"] is True
