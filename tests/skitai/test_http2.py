"""HTTP/2 through a live server with httpx: h2c with prior knowledge and ALPN ``h2`` over TLS.

Every kind of mount answers over HTTP/2 unchanged: a plain WSGI callable, an
ASGI app, static files (Range, 304) and an Atila app (``was.request.version``);
bodies stream both ways under flow control; many streams share one connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from skitai.testing import LiveClient

SERVE = """
import hashlib, skitai, atila

app = atila.Atila(__name__)

@app.route("/version")
def version(was):
    return was.API(version=was.request.version, scheme=was.request.scheme)

def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/digest":  # reads the request body as it streams in
        digest, size, read = hashlib.sha256(), 0, environ["wsgi.input"].read
        while chunk := read(65536):
            digest.update(chunk)
            size += len(chunk)
        body = f"{size} {digest.hexdigest()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    if path == "/big":  # a streamed response, larger than any window
        size = int(environ["QUERY_STRING"] or "0")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        block = bytes(range(256)) * 256
        return (block[: min(len(block), size - offset)] for offset in range(0, size, len(block)))
    if path == "/hop":  # fields HTTP/2 forbids (RFC 9113 §8.2.2): dropped, not an error
        start_response("200 OK", [("Proxy-Connection", "keep-alive"), ("Connection", "close"),
                                  ("Keep-Alive", "timeout=5"), ("X-Kept", "yes")])
        return [b"hop"]
    body = ("%s %s %s" % (environ["SERVER_PROTOCOL"], environ["REQUEST_METHOD"],
            environ.get("HTTP_HOST"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Kind", "wsgi")])
    return [body]

async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for part in (b"asgi ", scope["http_version"].encode(), b" ", str(size).encode()):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})

skitai.mount("/static", skitai.joinpath("static"))
skitai.mount("/wsgi", wsgi)
skitai.mount("/asgi", asgi)
skitai.mount("/", app)
skitai.run(workers=1, threads=4)
"""

STATIC = "0123456789" * 100


def _files() -> dict[str, str]:
    return {"static/ten.txt": STATIC}


@pytest.fixture
def h2c(serve: Callable[..., LiveClient]) -> Iterator[httpx.Client]:
    """An httpx client speaking HTTP/2 with prior knowledge to a live server."""
    server = serve(SERVE, files=_files())
    with httpx.Client(base_url=server.base_url, http1=False, http2=True, timeout=20) as client:
        yield client


def test_every_mount_over_h2c(h2c: httpx.Client) -> None:
    answer = h2c.get("/version")
    assert answer.http_version == "HTTP/2"
    assert answer.status_code == 200
    assert answer.json() == {"version": "2.0", "scheme": "http"}
    wsgi = h2c.get("/wsgi/")
    assert wsgi.status_code == 200 and wsgi.headers["x-kind"] == "wsgi"
    host = h2c.base_url.netloc.decode()
    assert wsgi.text == f"HTTP/2.0 GET {host}"  # :authority becomes Host
    asgi = h2c.post("/asgi/", content=b"x" * 1000)
    assert asgi.status_code == 200 and asgi.text == "asgi 2 1000"  # ASGI says "2"
    assert h2c.get("/nowhere").status_code == 404
    hop = h2c.get("/wsgi/hop")
    assert hop.status_code == 200 and hop.text == "hop" and hop.headers["x-kept"] == "yes"
    assert not {"proxy-connection", "connection", "keep-alive"} & set(hop.headers)
    head = h2c.head("/wsgi/")
    assert head.status_code == 200 and head.content == b""


def test_static_files_range_and_304(h2c: httpx.Client) -> None:
    whole = h2c.get("/static/ten.txt")
    assert whole.status_code == 200 and whole.text == STATIC
    assert whole.headers["content-length"] == str(len(STATIC))
    part = h2c.get("/static/ten.txt", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.text == "0123456789"
    assert part.headers["content-range"] == f"bytes 10-19/{len(STATIC)}"
    etag = whole.headers["etag"]
    again = h2c.get("/static/ten.txt", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_ten_megabytes_each_way_with_flow_control(h2c: httpx.Client) -> None:
    size = 10 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    upload = h2c.post("/wsgi/digest", content=payload)
    assert upload.status_code == 200
    assert upload.text == f"{size} {hashlib.sha256(payload).hexdigest()}"
    download = h2c.get(f"/wsgi/big?{size}")
    assert download.status_code == 200 and len(download.content) == size
    assert download.content[:512] == bytes(range(256)) * 2


def test_a_hundred_concurrent_streams_on_one_connection(h2c: httpx.Client) -> None:
    base = str(h2c.base_url)

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=base, http1=False, http2=True, limits=limits, timeout=30
        ) as client:
            return await asyncio.gather(
                *(client.post("/asgi/", content=b"y" * n) for n in range(100))
            )

    answers = asyncio.run(run())
    assert [a.text for a in answers] == [f"asgi 2 {n}" for n in range(100)]
    assert {a.http_version for a in answers} == {"HTTP/2"}


def test_alpn_h2_over_tls(serve: Callable[..., LiveClient], certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = serve(SERVE, "--certfile", str(cert), "--keyfile", str(key), files=_files())
    base = f"https://127.0.0.1:{server.port}"
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=base, http2=True, verify=trust, timeout=20) as client:
        answer = client.get("/version")
        assert answer.http_version == "HTTP/2"
        assert answer.json() == {"version": "2.0", "scheme": "https"}
        assert client.get("/static/ten.txt").text == STATIC
    # a client that offers only HTTP/1.1 still gets it
    with httpx.Client(base_url=base, verify=trust, timeout=20) as client:
        answer = client.get("/version")
        assert answer.http_version == "HTTP/1.1"
        assert answer.json() == {"version": "1.1", "scheme": "https"}


def find_h2load() -> str:
    """The h2load executable (Debian package nghttp2-client); skips without it, fails under CI."""
    h2load = shutil.which("h2load")
    if h2load is None:
        message = "h2load is not installed (Debian package 'nghttp2-client')"
        if os.environ.get("CI") == "true" or os.environ.get("ATILA_STACK_REQUIRE_H2LOAD") == "1":
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    return h2load


@pytest.mark.parametrize("path", ["/version", "/static/ten.txt", "/wsgi/", "/asgi/"])
def test_h2load_100_streams_on_one_connection(serve: Callable[..., LiveClient], path: str) -> None:
    server = serve(SERVE, files=_files())
    result = subprocess.run(
        [find_h2load(), "-n", "2000", "-c", "1", "-m", "100", server.base_url + path],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded" in result.stdout
    assert "status codes: 2000 2xx" in result.stdout
    assert "Application protocol: h2c" in result.stdout
