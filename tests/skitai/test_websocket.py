"""WebSocket on the engine (``environ["skitai.websocket"]``), driven by a real client.

The server scripts mount a plain WSGI app that accepts the upgrade with a
handler; the client is the ``websockets`` library, a raw socket where a
client library would refuse to misbehave.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Callable

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from skitai.testing import LiveClient

Serve = Callable[..., LiveClient]

#: An echo app: text is answered upper-cased by a handler thread, binary echoed on the loop;
#: "push <id> <text>" sends to another client; "close" closes with 4000.
ECHO_APP = """
import skitai

class Echo:
    def on_open(self, socket):
        socket.send(f"hello {socket.client_id}")

    def on_message(self, socket, message):
        if isinstance(message, bytes):
            socket.send(message)
        elif message == "close":
            socket.close(4000, "asked to")
        elif message.startswith("push "):
            _, client, text = message.split(" ", 2)
            socket.send(str(registry.send(client, text)))
        elif message == "boom":
            raise RuntimeError("handler failure")
        else:
            socket.submit(lambda: socket.send(message.upper()))

    def on_close(self, socket, code):
        closed.append(code)

closed = []
registry = None

def app(environ, start_response):
    global registry
    upgrade = environ.get("skitai.websocket")
    if environ["PATH_INFO"] == "/closed":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [" ".join(map(str, closed)).encode()]
    if upgrade is None:
        start_response("426 Upgrade Required", [("Upgrade", "websocket")])
        return [b"websocket only"]
    if environ["PATH_INFO"] == "/fake101":  # 101 without accepting: not a switch
        start_response("101 Switching Protocols", [])
        return []
    if environ["PATH_INFO"] == "/refuse":
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"no"]
    registry = upgrade.clients
    offered = upgrade.subprotocols
    upgrade.accept(Echo(), subprotocol="chat" if "chat" in offered else None,
                   idle_timeout=float(environ.get("QUERY_STRING") or 60), max_message_size=1000)
    start_response("101 Switching Protocols", [])
    return []

skitai.mount("/", app)
skitai.run(workers=1, threads=2)
"""


@pytest.fixture
def echo(serve: Serve) -> LiveClient:
    return serve(ECHO_APP)


def ws_url(client: LiveClient, path: str = "/ws") -> str:
    return client.base_url.replace("http://", "ws://") + path


def test_messages_both_ways(echo: LiveClient) -> None:
    with connect(ws_url(echo)) as ws:
        assert ws.recv(timeout=5).startswith("hello ")
        ws.send("abc")
        assert ws.recv(timeout=5) == "ABC"  # answered by a handler thread
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"  # answered on the loop
        for n in range(20):  # a handler's jobs run in order
            ws.send(f"m{n}")
        assert [ws.recv(timeout=5) for _ in range(20)] == [f"M{n}" for n in range(20)]
        ws.ping().wait(5)  # pings are answered
    assert requests.get(echo.base_url + "/closed", timeout=5).text.split() == ["1000"]


def test_fragmented_message_and_subprotocol(echo: LiveClient) -> None:
    with connect(ws_url(echo), subprotocols=["chat"]) as ws:
        assert ws.subprotocol == "chat"
        ws.recv(timeout=5)
        ws.send(["frag", "ment", "ed"])  # one message in three frames
        assert ws.recv(timeout=5) == "FRAGMENTED"


def test_server_close_code_and_push_between_clients(echo: LiveClient) -> None:
    with connect(ws_url(echo)) as first, connect(ws_url(echo)) as second:
        first_id = first.recv(timeout=5).split()[1]
        second.recv(timeout=5)
        second.send(f"push {first_id} from second")
        assert second.recv(timeout=5) == "True"
        assert first.recv(timeout=5) == "from second"
        second.send("push 999999 nobody")
        assert second.recv(timeout=5) == "False"
        first.send("close")
        with pytest.raises(ConnectionClosed) as closed:
            first.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000


def test_limits_and_errors_close_the_socket(echo: LiveClient) -> None:
    with connect(ws_url(echo)) as ws:
        ws.recv(timeout=5)
        ws.send("x" * 1001)  # over max_message_size
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with connect(ws_url(echo)) as ws:
        ws.recv(timeout=5)
        ws.send("boom")  # the handler raised: 1011, the server goes on
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    with connect(ws_url(echo, "/ws?1")) as ws:  # idle timeout of one second
        ws.recv(timeout=5)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert requests.get(echo.base_url + "/x", timeout=5).status_code == 426


def _handshake(port: int, path: str = "/ws", buffers: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if buffers:  # fixed kernel buffers: no autotuning to hide what the server does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffers)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffers)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    return sock


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_refused_upgrade_is_an_http_answer_and_a_bad_frame_is_1002(echo: LiveClient) -> None:
    sock = _handshake(echo.port or 0, "/refuse")
    head = _read_head(sock)
    assert head.startswith(b"HTTP/1.1 403 ")
    sock.close()
    sock = _handshake(echo.port or 0, "/fake101")
    assert _read_head(sock).startswith(b"HTTP/1.1 500 ")
    sock.close()
    sock = _handshake(echo.port or 0)
    head = _read_head(sock)
    assert head.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Accept: " in head
    sock.sendall(b"\x81\x05hello")  # a text frame without the mask a client must set
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    close_frame = data[data.index(b"\x88") :]
    assert struct.unpack("!H", close_frame[2:4])[0] == 1002


def _masked_text(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def test_frames_sent_along_with_the_handshake_are_read(echo: LiveClient) -> None:
    sock = socket.create_connection(("127.0.0.1", echo.port or 0), timeout=5)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: "
        + key
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        + _masked_text("early")
    )
    data = b""
    while b"EARLY" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 101 ")


def test_a_wrong_version_is_no_upgrade(echo: LiveClient) -> None:
    sock = socket.create_connection(("127.0.0.1", echo.port or 0), timeout=5)
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\n"
        b"Sec-WebSocket-Version: 8\r\n\r\n"
    )
    assert _read_head(sock).startswith(b"HTTP/1.1 426 ")
    sock.close()


def test_a_client_that_does_not_read_is_not_buffered_without_end(echo: LiveClient) -> None:
    """Binary messages are echoed on the loop; once the replies to a client that does not
    read fill the socket, the server stops reading it instead of queueing replies."""
    sock = _handshake(echo.port or 0, buffers=256 * 1024)
    assert _read_head(sock).startswith(b"HTTP/1.1 101 ")
    payload = os.urandom(900)
    mask = os.urandom(4)
    frame = bytes([0x82, 0x80 | 126]) + struct.pack("!H", len(payload)) + mask
    frame += bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.settimeout(3)
    sent = 0
    with pytest.raises(TimeoutError):
        while sent < 64 * 1024 * 1024:  # all of it would go if the server kept reading
            sent += sock.send(frame)
    assert sent < 32 * 1024 * 1024  # socket buffers on both sides hold ~10 MB at most
    sock.close()
    assert requests.get(echo.base_url + "/closed", timeout=5).status_code == 200
