"""ASGI apps on the engine, through a real running server (``tests/apps/asgi_site``).

Starlette at ``/svc``, FastAPI at ``/api`` and a hand-written ASGI app at ``/raw``
(and ``/tiny``, with a 1000-byte body limit) are served beside a WSGI app at ``/``
by one worker.  Where the bytes on the wire matter (a dropped connection, a client
that stops reading or sending), the tests use a raw socket.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from skitai.testing import LiveClient, test_client

SITE = Path(__file__).resolve().parents[1] / "apps" / "asgi_site"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def mark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asgi") / "shutdown.txt"


@pytest.fixture(scope="module")
def site(mark: Path) -> Iterator[LiveClient]:
    server = test_client(SITE / "serve.py", devel=False, env={"ASGI_SHUTDOWN_MARK": str(mark)})
    try:
        yield server
    finally:
        server.stop()


def events(site: LiveClient) -> dict:
    return site.get("/raw/events").json()


def raw_request(site: LiveClient, head: bytes, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", site.port), timeout=10)
    sock.sendall(head + body)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# -- Starlette and FastAPI -----------------------------------------------------------------


def test_starlette_scope_follows_the_mount(site: LiveClient) -> None:
    facts = site.get("/svc/scope?a=1&b=%20").json()
    assert facts["path"] == "/svc/scope"  # the whole path; the app strips root_path
    assert facts["root_path"] == "/svc"
    assert facts["raw_path"] == "/svc/scope"
    assert facts["query_string"] == "a=1&b=%20"
    assert facts["url"] == f"http://127.0.0.1:{site.port}/svc/scope?a=1&b=%20"
    assert facts["scheme"] == "http" and facts["http_version"] == "1.1"
    assert facts["client"][0] == "127.0.0.1" and facts["server"] == ["127.0.0.1", site.port]
    assert facts["headers_lowercase_bytes"] is True
    assert facts["state"] == "starlette lifespan"  # the lifespan state extension
    assert {"context", "states", "replay", "hub", "corequests"} <= set(facts["skitai"])
    assert site.get("/svc/").text == "hello from starlette"
    assert site.get("/other").text == "wsgi at /other"  # the WSGI app beside it


def test_percent_encoded_utf8_path(site: LiveClient) -> None:
    facts = site.get("/svc/scope").json()
    assert facts["route_path"] == "/svc/scope"
    response = site.get("/svc/caf%C3%A9")
    assert response.status_code == 404  # decoded as UTF-8, routed (and not found) by Starlette


def test_request_body_streams_to_starlette(site: LiveClient) -> None:
    body = bytes(range(256)) * (12 * 4096)  # 12 MiB: past the engine's 1 MiB buffer
    response = site.post("/svc/upload", data=body)
    assert response.json()["size"] == len(body)
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["chunks"] > 1  # it came in pieces, as the app read it

    def chunked() -> Iterator[bytes]:
        yield from (b"abc", b"", b"defg")

    response = site.put("/svc/upload", data=chunked())
    assert response.json()["size"] == 7


def test_streaming_response(site: LiveClient) -> None:
    response = site.get("/svc/download?chunks=5&size=100000", stream=True)
    assert response.headers["transfer-encoding"] == "chunked"
    data = b"".join(response.iter_content(65536))
    assert data == b"".join(bytes([65 + i]) * 100000 for i in range(5))


def test_fastapi_binding_validation_and_lifespan(site: LiveClient) -> None:
    response = site.put("/api/items/7?q=blue", json={"name": "pen", "price": 2.5})
    assert response.json() == {"item_id": 7, "name": "pen", "price": 2.5, "q": "blue"}
    response = site.put("/api/items/seven", json={"name": "pen"})
    assert response.status_code == 422
    assert {e["loc"][-1] for e in response.json()["detail"]} == {"item_id", "price"}
    assert site.get("/api/state").json() == {"greeting": "hello from the fastapi lifespan"}


def test_starlette_websocket(site: LiveClient) -> None:
    url = f"ws://127.0.0.1:{site.port}/svc/ws"
    with connect(url, subprotocols=["other", "chat"]) as ws:
        assert ws.subprotocol == "chat"
        assert ws.response.headers["x-accepted"] == "yes"
        ws.send("hi")
        assert ws.recv() == "echo hi"
        ws.send(b"abc")
        assert ws.recv() == b"cba"
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        assert closed.value.rcvd.reason == "bye"


def test_fastapi_websocket_and_message_limit(site: LiveClient) -> None:
    with connect(f"ws://127.0.0.1:{site.port}/api/ws") as ws:
        ws.send(json.dumps({"numbers": [1, 2, 3]}))
        assert json.loads(ws.recv()) == {"sum": 6}
    with connect(f"ws://127.0.0.1:{site.port}/svc/ws", max_size=None) as ws:
        ws.send("x" * (MIB + 1))  # over the engine's 1 MiB message limit
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


# -- the protocol broken by the app --------------------------------------------------------


@pytest.mark.parametrize(
    "probe",
    ["double-start", "body-before-start", "raise-before", "no-response", "bad-header",
     "bad-status"],
)  # fmt: skip
def test_a_broken_app_gets_a_500_and_a_log_line(site: LiveClient, probe: str) -> None:
    response = site.get(f"/raw/{probe}")
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert "evil" not in response.headers.get("set-cookie", "")
    assert site.get("/raw/state").status_code == 200  # the worker serves on
    assert site.server is not None
    assert "ASGI application raw_app at /raw" in site.server.output_tail()  # the log line


def test_a_body_after_the_end_is_refused_and_the_response_stands(site: LiveClient) -> None:
    with requests.Session() as session:  # one keep-alive connection
        response = session.get(site.url_for("/raw/body-after-end"))
        assert response.status_code == 200 and response.text == "complete"
        assert (
            "after the response was complete"
            in session.get(site.url_for("/raw/events")).json()["body_after_end"]
        )


@pytest.mark.parametrize("probe", ["raise-after", "unfinished", "short-body"])
def test_a_response_broken_midway_drops_the_connection(site: LiveClient, probe: str) -> None:
    sock = raw_request(site, f"GET /raw/{probe} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    with sock:
        data = read_until_closed(sock)  # closed by the server: never hangs
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert not data.endswith(b"0\r\n\r\n")  # no chunked terminator: the client sees it cut
    if probe == "short-body":
        assert b"Content-Length: 10" in data and data.endswith(b"\r\n\r\n12345")


def test_a_body_longer_than_declared_is_cut(site: LiveClient) -> None:
    response = site.get("/raw/long-body")
    assert response.headers["content-length"] == "5" and response.content == b"12345"


def test_state_is_a_copy_per_request(site: LiveClient) -> None:
    assert site.get("/raw/state").text == "1"
    assert site.get("/tiny/state").text == "1"  # the same app mounted twice: one lifespan


# -- disconnects, back-pressure and limits --------------------------------------------------


def wait_for(site: LiveClient, key: str, value: object, timeout: float = 10.0) -> dict:
    """Poll the probe's events until ``key`` has ``value`` (the server records it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = events(site)
        if found.get(key) == value or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_http_disconnect_reaches_a_waiting_app(site: LiveClient) -> None:
    sock = raw_request(site, b"GET /raw/wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_for(site, "wait_disconnect", "waiting")["wait_disconnect"] == "waiting"
    sock.close()
    assert wait_for(site, "wait_disconnect", "http.disconnect")["wait_disconnect"] == (
        "http.disconnect"
    )


def test_a_slow_reader_holds_the_stream_back(site: LiveClient) -> None:
    sock = raw_request(site, b"GET /raw/stream-forever HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sent = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until the server stops getting ahead of us
        time.sleep(0.3)
        now = events(site).get("streamed", 0)
        if now == sent and now:
            break
        sent = now
    assert 0 < sent < 32 * MIB  # the app waited in send() for a client that does not read
    sock.close()
    assert wait_for(site, "stream_error", "ClientDisconnected")["stream_error"] == (
        "ClientDisconnected"
    )


def test_a_slow_app_holds_the_upload_back(site: LiveClient) -> None:
    size = 48 * MIB
    head = f"POST /raw/slow-consumer HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
    sock = raw_request(site, head.encode())
    sock.settimeout(2.0)
    pushed = 0
    with pytest.raises(TimeoutError):  # the server stops reading while the app does not
        while pushed < size:
            pushed += sock.send(b"u" * min(MIB, size - pushed))
    assert pushed < size
    assert site.get("/raw/release").status_code == 200
    sock.settimeout(20)
    sock.sendall(b"u" * (size - pushed))
    with sock:
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(str(size).encode())


def test_body_limits_hold_for_asgi(site: LiveClient) -> None:
    response = site.post("/tiny/read-body", data=b"x" * 1001)
    assert response.status_code == 413  # declared too large: refused before the app

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    response = site.post("/tiny/read-body", data=chunks())  # chunked: counted as it comes
    assert response.status_code == 413
    assert site.post("/tiny/read-body", data=b"z" * 999).text == "999"


def test_a_stalled_body_times_out_with_408(site: LiveClient) -> None:
    head = b"POST /raw/read-body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
    sock = raw_request(site, head, b"a" * 1500000)  # past the buffer: the app reads, then waits
    with sock:
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_websocket_refusals_and_errors(site: LiveClient) -> None:
    base = f"ws://127.0.0.1:{site.port}/raw"
    for path, status in (("/ws-deny", 403), ("/ws-raise", 500), ("/ws-return", 500)):
        with pytest.raises(InvalidStatus) as refused:
            connect(base + path)
        assert refused.value.response.status_code == status
    with pytest.raises(InvalidStatus) as refused:
        connect(base + "/ws-http")
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["www-authenticate"] == "Bearer"
    assert refused.value.response.body == b"log in first"
    with connect(base + "/ws-raise-open") as ws:
        ws.send("x")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    with connect(base + "/ws-echo") as ws:
        ws.send("one")
        assert ws.recv() == "got one"
    assert wait_for(site, "ws_disconnect", 1000)["ws_disconnect"] == 1000


# -- lifespan -------------------------------------------------------------------------------


def test_lifespan_shutdown_runs_when_the_worker_stops(tmp_path: Path) -> None:
    mark = tmp_path / "shutdown.txt"
    server = test_client(SITE / "serve.py", devel=False, env={"ASGI_SHUTDOWN_MARK": str(mark)})
    try:
        pid = server.get("/svc/scope").json()["state_pid"]  # the worker's, from its lifespan
        assert not mark.exists()
    finally:
        server.stop()
    assert mark.read_text() == f"starlette {pid}\n"  # once, by the worker, after its drain


def test_a_failed_startup_stops_the_server(free_port: int) -> None:
    result = subprocess.run(
        [sys.executable, str(SITE / "fail_start.py"), "--port", str(free_port), "-w", "2"],
        capture_output=True, text=True, timeout=60, cwd=SITE,
    )  # fmt: skip
    assert result.returncode != 0
    assert "the database is not there" in result.stderr
    assert result.stderr.count("failed to start") <= 2  # not restarted over and over


def test_a_draining_worker_finishes_asgi_requests_and_closes_websockets(mark: Path) -> None:
    server = test_client(SITE / "serve.py", devel=False, env={"ASGI_SHUTDOWN_MARK": str(mark)})
    try:
        with connect(f"ws://127.0.0.1:{server.port}/raw/ws-echo") as ws:
            sock = raw_request(server, b"GET /raw/hold?1.5 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert wait_for(server, "hold", "started")["hold"] == "started"
            assert server.process is not None
            os.kill(server.process.pid, signal.SIGTERM)  # the master: a graceful stop
            with sock:
                answer = read_until_closed(sock)
            assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"held")
            assert b"Connection: close" in answer
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert server.process.wait(30) == 0
    finally:
        server.stop()


def test_smuggling_is_refused_before_an_asgi_app(site: LiveClient) -> None:
    head = (
        b"POST /raw/read-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /raw/state HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with raw_request(site, head) as sock:
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 ") and data.count(b"HTTP/1.1") == 1
