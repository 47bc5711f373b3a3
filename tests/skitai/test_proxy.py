"""Behind a reverse proxy: ``Forwarded``/``X-Forwarded-*`` believed from trusted peers only,
and the engine's own health path (``--health``).

The reading of the headers is checked on :class:`TrustedProxies` directly; a real
server (``tests/apps/proxy_site``) shows the environ, Atila's request and the health
answers, including the 503 of a draining worker.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from skitai.cli import parse_args
from skitai.config import Config
from skitai.server.proxy import TrustedProxies
from skitai.testing import LiveClient, test_client

SITE = Path(__file__).resolve().parents[1] / "apps" / "proxy_site" / "serve.py"


def headers(**fields: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in fields.items()]


# -- the reading of the headers ---------------------------------------------------------


def test_only_trusted_peers_are_believed() -> None:
    proxies = TrustedProxies()  # 127.0.0.1, ::1
    forged = headers(x_forwarded_for="203.0.113.9", x_forwarded_proto="https")
    assert proxies.resolve("127.0.0.1", forged) == ("203.0.113.9", "https")
    assert proxies.resolve("::1", forged) == ("203.0.113.9", "https")
    assert proxies.resolve("198.51.100.7", forged) == (None, None)
    assert TrustedProxies("10.0.0.0/8").resolve("10.1.2.3", forged) == ("203.0.113.9", "https")
    assert TrustedProxies("*").resolve("198.51.100.7", forged) == ("203.0.113.9", "https")


def test_the_client_is_the_last_hop_that_is_not_a_trusted_proxy() -> None:
    proxies = TrustedProxies("127.0.0.1,10.0.0.0/8")
    # a forged first entry cannot hide the address the proxy saw (appended after it)
    chain = headers(x_forwarded_for="1.1.1.1, 203.0.113.9, 10.0.0.5")
    assert proxies.resolve("127.0.0.1", chain)[0] == "203.0.113.9"
    assert TrustedProxies("*").resolve("127.0.0.1", chain)[0] == "1.1.1.1"
    garbage = headers(x_forwarded_for="unknown, not-an-ip")
    assert proxies.resolve("127.0.0.1", garbage) == (None, None)
    assert proxies.resolve("127.0.0.1", headers(x_forwarded_proto="gopher")) == (None, None)


def test_rfc7239_forwarded_wins() -> None:
    proxies = TrustedProxies()
    fields = [
        (b"forwarded", b'for="[2001:db8::7]:4711";proto=https, for=127.0.0.1'),
        (b"x-forwarded-for", b"198.51.100.1"),
        (b"x-forwarded-proto", b"http"),
    ]
    assert proxies.resolve("127.0.0.1", fields) == ("2001:db8::7", "https")
    obfuscated = [(b"forwarded", b"for=_hidden;proto=http")]
    assert proxies.resolve("127.0.0.1", obfuscated) == (None, "http")


def test_options_are_checked_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    config = parse_args(["--forwarded-allow-ips", "*", "--health", "/healthz"], Config())[1]
    assert config.forwarded_allow_ips == "*" and config.health == "/healthz"
    for bad in (["--forwarded-allow-ips", "10.0.0.300"], ["--health", "healthz"]):
        with pytest.raises(SystemExit) as exited:
            parse_args(bad, Config())
        assert exited.value.code == 2
    assert "not an IP address or network" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not an IP address"):
        Config(forwarded_allow_ips="proxy.example")


# -- through a server -----------------------------------------------------------------


@pytest.fixture
def proxied() -> Iterator[LiveClient]:
    server = test_client(SITE, devel=False, args=["--health", "/healthz"])
    yield server
    server.stop()


def test_environ_and_atila_follow_a_trusted_proxy(proxied: LiveClient) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for path in ("/echo", "/atila/"):
        seen = requests.get(proxied.base_url + path, headers=forged, timeout=10).json()
        assert (seen["addr"], seen["scheme"]) == ("203.0.113.9", "https")
        plain = requests.get(proxied.base_url + path, timeout=10).json()
        assert (plain["addr"], plain["scheme"]) == ("127.0.0.1", "http")


def test_an_untrusted_peer_keeps_its_own_address() -> None:
    server = test_client(SITE, devel=False, args=["--forwarded-allow-ips", "10.9.9.9"])
    try:
        forged = {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9;proto=https"}
        seen = requests.get(server.base_url + "/echo", headers=forged, timeout=10).json()
        assert (seen["addr"], seen["scheme"]) == ("127.0.0.1", "http")
    finally:
        server.stop()


def health(sock: socket.socket) -> tuple[int, bytes]:
    """``GET /healthz`` on a keep-alive connection; (status, body)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: lb\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith((b"ok\n", b"draining\n")):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return int(data.split()[1]), data.rpartition(b"\r\n\r\n")[2]


def test_health_answers_503_once_the_worker_drains(proxied: LiveClient) -> None:
    pid = requests.get(proxied.base_url + "/echo", timeout=10).json()["pid"]
    port = int(proxied.base_url.rpartition(":")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert health(sock) == (200, b"ok\n")  # the engine answers, no app is asked
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        status, body = health(sock)
        while status == 200 and time.monotonic() < deadline:  # the signal is on its way
            status, body = health(sock)
        assert (status, body) == (503, b"draining\n")
    # the master replaced the worker: the new one is healthy
    deadline = time.monotonic() + 20
    while True:
        try:
            answer = requests.get(proxied.base_url + "/healthz", timeout=5)
            if answer.status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "no healthy worker after the replacement"
        time.sleep(0.05)
    assert answer.text == "ok\n"
