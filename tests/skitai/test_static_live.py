"""Static files through a real running server: headers, validators, ranges, traversal.

The server script mounts ``./static`` at ``/static``; the script itself lives
one directory above the static root, so it is the file every traversal attempt
aims at.  Attempts are sent as raw request targets over a socket, exactly as
written (``requests`` would normalise ``..`` away before sending).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from test_wsgi_container import fresh_session, raw_exchange, serve_site  # shared helpers

from skitai.testing import LiveClient

MIB = 1024 * 1024
HELLO = b"hello, static world\n"  # 20 bytes
CSS = b"body { color: #333; }\n"
MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT

SERVER = """
import skitai

skitai.mount("/static", skitai.joinpath("static"))
skitai.run(threads=2)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """serve.py next to static/, with files, an index in a subdirectory and escaping symlinks."""
    root = tmp_path_factory.mktemp("static_live")
    (root / "serve.py").write_text(SERVER)
    static = root / "static"
    (static / "sub").mkdir(parents=True)
    (static / "noindex").mkdir()
    (static / "hello.txt").write_bytes(HELLO)
    (static / "style.css").write_bytes(CSS)
    (static / "data.json").write_bytes(b'{"a": 1}')
    (static / "logo.png").write_bytes(b"\x89PNG\r\n")
    (static / "index.html").write_text("<h1>root index</h1>")
    (static / "sub" / "index.html").write_text("<h1>sub index</h1>")
    (static / "caf\u00e9 menu.txt").write_text("espresso")
    (static / "big.bin").write_bytes(os.urandom(2 * MIB))
    (static / "leak.txt").symlink_to(root / "serve.py")
    (static / "leakdir").symlink_to(root, target_is_directory=True)
    (static / "alias.txt").symlink_to(static / "hello.txt")
    os.utime(static / "hello.txt", (MTIME, MTIME))
    return root


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LiveClient]:
    yield from serve_site(site)


@pytest.fixture
def http(server: LiveClient) -> Iterator[LiveClient]:
    yield from fresh_session(server)


def raw_get(port: int, target: str, method: str = "GET") -> tuple[str, bytes]:
    """Status line and body of ``method target`` sent verbatim."""
    raw = raw_exchange(
        port, f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


# -- plain GET ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/static/hello.txt", "text/plain; charset=utf-8", HELLO),
        ("/static/style.css", "text/css; charset=utf-8", CSS),
        ("/static/data.json", "application/json; charset=utf-8", b'{"a": 1}'),
        ("/static/logo.png", "image/png", b"\x89PNG\r\n"),
        ("/static/caf%C3%A9%20menu.txt", "text/plain; charset=utf-8", b"espresso"),
    ],
)
def test_get_file(http: LiveClient, path: str, content_type: str, body: bytes) -> None:
    response = http.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Content-Encoding" not in response.headers  # files go out as they are
    assert response.content == body


def test_validators(http: LiveClient) -> None:
    response = http.get("/static/hello.txt")
    assert response.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert http.get("/static/hello.txt").headers["ETag"] == etag  # stable
    assert http.get("/static/style.css").headers["ETag"] != etag


def test_if_none_match_304(http: LiveClient) -> None:
    etag = http.get("/static/hello.txt").headers["ETag"]
    response = http.get("/static/hello.txt", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    assert "Content-Length" not in response.headers
    other = http.get("/static/hello.txt", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == HELLO


def test_if_modified_since(http: LiveClient) -> None:
    last_modified = "Tue, 14 Nov 2023 22:13:20 GMT"
    same = http.get("/static/hello.txt", headers={"If-Modified-Since": last_modified})
    assert same.status_code == 304 and same.content == b""
    later = formatdate(MTIME + 3600, usegmt=True)
    assert http.get("/static/hello.txt", headers={"If-Modified-Since": later}).status_code == 304
    earlier = formatdate(MTIME - 1, usegmt=True)
    response = http.get("/static/hello.txt", headers={"If-Modified-Since": earlier})
    assert response.status_code == 200 and response.content == HELLO


# -- ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "content_range", "body"),
    [
        ("bytes=0-4", "bytes 0-4/20", HELLO[0:5]),
        ("bytes=7-", "bytes 7-19/20", HELLO[7:]),
        ("bytes=-6", "bytes 14-19/20", HELLO[-6:]),
        ("bytes=15-1000", "bytes 15-19/20", HELLO[15:]),
    ],
)
def test_range_206(http: LiveClient, spec: str, content_range: str, body: bytes) -> None:
    response = http.get("/static/hello.txt", headers={"Range": spec})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))
    assert response.content == body


def test_range_in_a_large_file(http: LiveClient, site: Path) -> None:
    data = (site / "static" / "big.bin").read_bytes()
    start, end = MIB - 10, MIB + 70_000
    response = http.get("/static/big.bin", headers={"Range": f"bytes={start}-{end}"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{2 * MIB}"
    assert response.content == data[start : end + 1]


@pytest.mark.parametrize("spec", ["bytes=20-", "bytes=100-200", "bytes=-0"])
def test_range_416(http: LiveClient, spec: str) -> None:
    response = http.get("/static/hello.txt", headers={"Range": spec})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */20"


def test_range_with_stale_if_range_sends_everything(http: LiveClient) -> None:
    response = http.get("/static/hello.txt", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert response.status_code == 200 and response.content == HELLO


# -- directories ---------------------------------------------------------------------


def test_index_html_at_the_mount_point_and_below(http: LiveClient) -> None:
    root = http.get("/static/")
    assert root.status_code == 200
    assert root.headers["Content-Type"] == "text/html; charset=utf-8"
    assert root.text == "<h1>root index</h1>"
    sub = http.get("/static/sub/")
    assert sub.status_code == 200 and sub.text == "<h1>sub index</h1>"


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/static/sub", "/static/sub/"),
        ("/static/sub?x=1&y=2", "/static/sub/?x=1&y=2"),
        ("/static", "/static/"),
    ],
)
def test_directory_without_slash_redirects(http: LiveClient, target: str, location: str) -> None:
    response = http.get(target, allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"] == location
    assert response.content == b""
    followed = http.get(target)
    assert followed.status_code == 200 and followed.url.endswith(location)


def test_directory_without_index_is_404(http: LiveClient) -> None:
    assert http.get("/static/noindex/").status_code == 404
    assert http.get("/static/noindex").status_code == 404


def test_missing_file_and_other_methods(http: LiveClient) -> None:
    missing = http.get("/static/nope.txt")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "text/plain; charset=utf-8"
    post = http.post("/static/hello.txt", data=b"x")
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET, HEAD"
    assert http.get("/elsewhere.txt").status_code == 404  # outside every mount


# -- HEAD -------------------------------------------------------------------------------


def test_head_has_the_headers_and_no_body(http: LiveClient) -> None:
    get = http.get("/static/hello.txt")
    head = http.head("/static/hello.txt")
    assert head.status_code == 200
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]
    # On the wire: nothing follows the HEAD's head, the next response starts right away.
    raw = raw_exchange(
        http.port,
        b"HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /static/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert f"Content-Length: {2 * MIB}".encode() in first
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(HELLO)


def test_keep_alive_survives_answers_without_a_file_body(http: LiveClient) -> None:
    # 404, 301 and 304 are answered on the event loop as soon as the head is
    # parsed; the connection must stay open for the next request.
    etag = http.get("/static/hello.txt").headers["ETag"]
    raw = raw_exchange(
        http.port,
        b"GET /static/nope.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /static/sub HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /static/hello.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: "
        + etag.encode()
        + b"\r\n\r\nGET /static/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    statuses = re.findall(rb"HTTP/1\.1 \d{3} [^\r]*", raw)
    assert statuses == [
        b"HTTP/1.1 404 Not Found",
        b"HTTP/1.1 301 Moved Permanently",
        b"HTTP/1.1 304 Not Modified",
        b"HTTP/1.1 200 OK",
    ]
    assert raw.endswith(HELLO)


# -- large files ----------------------------------------------------------------------


def test_large_file_byte_exact(http: LiveClient, site: Path) -> None:
    data = (site / "static" / "big.bin").read_bytes()
    response = http.get("/static/big.bin")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(2 * MIB)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()


def test_large_file_twice_on_one_connection(http: LiveClient, site: Path) -> None:
    data = (site / "static" / "big.bin").read_bytes()
    for _ in range(2):  # keep-alive: the sendfile path leaves the connection usable
        assert http.get("/static/big.bin").content == data


# -- traversal ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/static/../serve.py",
        "/static/%2e%2e/serve.py",
        "/static/%2E%2E/serve.py",
        "/static/..%2fserve.py",
        "/static/%2e%2e%2fserve.py",
        "/static/sub/../../serve.py",
        "/static/sub/%2e%2e/%2e%2e/serve.py",
        "/static/%252e%252e/serve.py",
        "/static/..%5cserve.py",
        "/static/hello.txt%00.png",
        "/static/leak.txt",
        "/static/leakdir/serve.py",
        "/static//" + "tmp/serve.py",
    ],
)
def test_traversal_refused(http: LiveClient, target: str) -> None:
    status, body = raw_get(http.port, target)
    assert status == "HTTP/1.1 404 Not Found"
    assert b"skitai.mount" not in body


def test_symlink_inside_the_root_is_served(http: LiveClient) -> None:
    response = http.get("/static/alias.txt")
    assert response.status_code == 200 and response.content == HELLO
