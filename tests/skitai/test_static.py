"""Unit tests for skitai.static: the sans-I/O static file responder."""

from __future__ import annotations

import os
from email.utils import formatdate
from pathlib import Path

import pytest

from skitai.static import StaticFiles, StaticResponse

CONTENT = b"0123456789abcdefghij"  # 20 bytes
MTIME = 1_700_000_000  # 2023-11-14 22:13:20 GMT


def header(response: StaticResponse, name: str) -> str | None:
    """The value of header ``name`` (case-insensitive), None when absent."""
    values = [v for k, v in response.headers if k.lower() == name.lower()]
    assert len(values) <= 1, f"{name} sent twice"
    return values[0] if values else None


def sent(response: StaticResponse) -> bytes:
    """The bytes the server would send as the body."""
    if response.path is None:
        return response.body
    with open(response.path, "rb") as f:
        f.seek(response.offset)
        return f.read(response.length)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "docs").mkdir()
    (site / "empty_dir").mkdir()
    (site / "a.txt").write_bytes(CONTENT)
    (site / "css" / "a.css").write_text("body {}")
    (site / "docs" / "index.html").write_text("<h1>docs</h1>")
    (site / "index.html").write_text("<h1>home</h1>")
    (site / "data.json").write_text("{}")
    (site / "blob.unknownext").write_bytes(b"\x00\x01")
    (site / "empty.txt").write_bytes(b"")
    os.utime(site / "a.txt", (MTIME, MTIME))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return site


@pytest.fixture
def files(root: Path) -> StaticFiles:
    return StaticFiles(str(root))


def get(files: StaticFiles, path: str, **headers: str) -> StaticResponse:
    return files.prepare("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})


# -- 200 ------------------------------------------------------------------------


def test_get_file_with_headers(files: StaticFiles, root: Path) -> None:
    r = get(files, "/a.txt")
    assert (r.status, r.reason) == (200, "OK")
    assert r.path == os.path.realpath(root / "a.txt")
    assert (r.offset, r.length, r.body) == (0, 20, b"")
    assert sent(r) == CONTENT
    assert header(r, "Content-Type") == "text/plain; charset=utf-8"
    assert header(r, "Content-Length") == "20"
    assert header(r, "Accept-Ranges") == "bytes"
    assert header(r, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT"
    etag = header(r, "ETag")
    assert etag is not None and etag.startswith('"') and etag.endswith('"')
    assert get(files, "/a.txt").headers == r.headers  # stable validator


def test_etag_changes_when_file_changes(files: StaticFiles, root: Path) -> None:
    before = header(get(files, "/a.txt"), "ETag")
    (root / "a.txt").write_bytes(CONTENT + b"!")
    assert header(get(files, "/a.txt"), "ETag") != before


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/css/a.css", "text/css; charset=utf-8"),
        ("/data.json", "application/json; charset=utf-8"),
        ("/blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_type(files: StaticFiles, path: str, content_type: str) -> None:
    assert header(get(files, path), "Content-Type") == content_type


def test_head_same_headers_as_get(files: StaticFiles) -> None:
    g = get(files, "/a.txt")
    h = files.prepare("HEAD", "/a.txt", {})
    assert h.status == 200
    assert h.headers == g.headers
    assert (h.path, h.offset, h.length) == (g.path, g.offset, g.length)


def test_empty_file(files: StaticFiles) -> None:
    r = get(files, "/empty.txt")
    assert r.status == 200 and r.length == 0 and header(r, "Content-Length") == "0"


# -- 405 / 404 ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_405(files: StaticFiles, method: str) -> None:
    r = files.prepare(method, "/a.txt", {})
    assert (r.status, r.reason) == (405, "Method Not Allowed")
    assert header(r, "Allow") == "GET, HEAD"
    assert r.path is None


def test_missing_file_404(files: StaticFiles) -> None:
    r = get(files, "/nope.txt")
    assert (r.status, r.reason) == (404, "Not Found")
    assert r.body == b"Not Found" and r.path is None
    assert header(r, "Content-Type") == "text/plain; charset=utf-8"
    assert header(r, "Content-Length") == "9"


def test_file_with_trailing_slash_404(files: StaticFiles) -> None:
    assert get(files, "/a.txt/").status == 404


# -- directories ----------------------------------------------------------------


def test_index_html(files: StaticFiles, root: Path) -> None:
    r = get(files, "/docs/")
    assert r.status == 200
    assert r.path == os.path.realpath(root / "docs" / "index.html")
    assert sent(r) == b"<h1>docs</h1>"
    assert header(r, "Content-Type") == "text/html; charset=utf-8"
    assert get(files, "/").path == os.path.realpath(root / "index.html")


def test_directory_without_slash_redirects(files: StaticFiles) -> None:
    r = get(files, "/docs")
    assert (r.status, r.reason) == (301, "Moved Permanently")
    assert header(r, "Location") == "/docs/"
    assert r.path is None and r.body == b""


def test_mount_point_itself_redirects(files: StaticFiles) -> None:
    r = get(files, "")
    assert r.status == 301 and header(r, "Location") == "/"


def test_directory_without_index_404(files: StaticFiles) -> None:
    assert get(files, "/empty_dir/").status == 404
    assert get(files, "/empty_dir").status == 404


def test_custom_index_files(root: Path) -> None:
    (root / "empty_dir" / "default.htm").write_text("x")
    files = StaticFiles(str(root), index_files=("index.html", "default.htm"))
    assert get(files, "/empty_dir/").path == os.path.realpath(root / "empty_dir" / "default.htm")


# -- traversal ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../outside/secret.txt",
        "/css/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E/outside/secret.txt",
        "/..%2foutside/secret.txt",
        "/css/..%2f..%2foutside/secret.txt",
        "/..\\outside\\secret.txt",
        "/css\\a.css",
        "/a.txt\x00.png",
        "/a.txt%00.png",
        "/%5c..%5coutside/secret.txt",
    ],
)
def test_traversal_refused_with_404(files: StaticFiles, path: str) -> None:
    r = get(files, path)
    assert r.status == 404 and r.path is None
    assert not files.has_route(path)


def test_absolute_looking_paths_stay_in_root(files: StaticFiles, tmp_path: Path) -> None:
    secret = str(tmp_path / "outside" / "secret.txt")
    assert get(files, "/" + secret).status == 404
    assert get(files, "//" + secret.lstrip("/")).status == 404


def test_symlink_out_of_root_refused(files: StaticFiles, root: Path, tmp_path: Path) -> None:
    (root / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (root / "leakdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert get(files, "/leak.txt").status == 404
    assert get(files, "/leakdir/secret.txt").status == 404
    assert not files.has_route("/leak.txt")


def test_sibling_with_root_prefix_refused(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site-private").mkdir()
    (tmp_path / "site-private" / "key").write_text("k")
    (tmp_path / "site" / "key").symlink_to(tmp_path / "site-private" / "key")
    assert get(StaticFiles(str(tmp_path / "site")), "/key").status == 404


def test_symlink_inside_root_allowed(files: StaticFiles, root: Path) -> None:
    (root / "alias.txt").symlink_to(root / "a.txt")
    (root / "styles").symlink_to(root / "css", target_is_directory=True)
    r = get(files, "/alias.txt")
    assert r.status == 200 and sent(r) == CONTENT
    assert r.path == os.path.realpath(root / "a.txt")
    assert get(files, "/styles/a.css").status == 200


def test_symlinks_inside_root_refused_when_disabled(root: Path) -> None:
    (root / "alias.txt").symlink_to(root / "a.txt")
    files = StaticFiles(str(root), follow_symlinks_inside_root=False)
    assert get(files, "/alias.txt").status == 404
    assert get(files, "/a.txt").status == 200


def test_root_given_through_symlink(root: Path, tmp_path: Path) -> None:
    (tmp_path / "link-to-site").symlink_to(root, target_is_directory=True)
    files = StaticFiles(str(tmp_path / "link-to-site"), follow_symlinks_inside_root=False)
    assert get(files, "/a.txt").status == 200


# -- conditional requests -------------------------------------------------------


def test_if_none_match_304(files: StaticFiles) -> None:
    etag = header(get(files, "/a.txt"), "ETag")
    assert etag is not None
    for value in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        r = get(files, "/a.txt", if_none_match=value)
        assert (r.status, r.reason) == (304, "Not Modified"), value
        assert header(r, "ETag") == etag
        assert header(r, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT"
        assert header(r, "Content-Length") is None
        assert r.path is None and r.body == b"" and r.length == 0


def test_if_none_match_mismatch_200(files: StaticFiles) -> None:
    assert get(files, "/a.txt", if_none_match='"other"').status == 200


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (formatdate(MTIME, usegmt=True), 304),
        (formatdate(MTIME + 60, usegmt=True), 304),
        (formatdate(MTIME - 1, usegmt=True), 200),
        ("not a date", 200),
        ("", 200),
    ],
)
def test_if_modified_since(files: StaticFiles, since: str, status: int) -> None:
    assert get(files, "/a.txt", if_modified_since=since).status == status


def test_if_none_match_takes_precedence_over_date(files: StaticFiles) -> None:
    r = get(
        files,
        "/a.txt",
        if_none_match='"other"',
        if_modified_since=formatdate(MTIME + 60, usegmt=True),
    )
    assert r.status == 200


def test_if_match_and_if_unmodified_since_412(files: StaticFiles) -> None:
    etag = header(get(files, "/a.txt"), "ETag")
    assert get(files, "/a.txt", if_match='"other"').status == 412
    assert get(files, "/a.txt", if_match=f"W/{etag}").status == 412  # strong comparison
    assert get(files, "/a.txt", if_match=str(etag)).status == 200
    early = formatdate(MTIME - 1, usegmt=True)
    assert get(files, "/a.txt", if_unmodified_since=early).status == 412
    late = formatdate(MTIME, usegmt=True)
    assert get(files, "/a.txt", if_unmodified_since=late).status == 200


# -- ranges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "offset", "length", "content_range"),
    [
        ("bytes=0-4", 0, 5, "bytes 0-4/20"),
        ("bytes=5-9", 5, 5, "bytes 5-9/20"),
        ("bytes=15-100", 15, 5, "bytes 15-19/20"),
        ("bytes=10-", 10, 10, "bytes 10-19/20"),
        ("bytes=-3", 17, 3, "bytes 17-19/20"),
        ("bytes=-50", 0, 20, "bytes 0-19/20"),
        ("bytes=19-19", 19, 1, "bytes 19-19/20"),
        ("BYTES= 2-3 ", 2, 2, "bytes 2-3/20"),
        ("bytes=0-99999999999999999999999", 0, 20, "bytes 0-19/20"),
    ],
)
def test_single_range_206(
    files: StaticFiles, spec: str, offset: int, length: int, content_range: str
) -> None:
    r = get(files, "/a.txt", range=spec)
    assert (r.status, r.reason) == (206, "Partial Content")
    assert (r.offset, r.length) == (offset, length)
    assert header(r, "Content-Range") == content_range
    assert header(r, "Content-Length") == str(length)
    assert header(r, "Content-Type") == "text/plain; charset=utf-8"
    assert header(r, "ETag") is not None
    assert sent(r) == CONTENT[offset : offset + length]


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("/a.txt", "bytes=20-"),
        ("/a.txt", "bytes=25-30"),
        ("/a.txt", "bytes=-0"),
        ("/empty.txt", "bytes=0-"),
    ],
)
def test_unsatisfiable_range_416(files: StaticFiles, path: str, spec: str) -> None:
    size = os.path.getsize(files.root + path)
    r = get(files, path, range=spec)
    assert (r.status, r.reason) == (416, "Range Not Satisfiable")
    assert header(r, "Content-Range") == f"bytes */{size}"
    assert r.path is None


@pytest.mark.parametrize(
    "spec",
    [
        "bytes=5-2",  # first > last: invalid
        "bytes=abc",
        "bytes=-",
        "bytes=",
        "bytes 0-4",
        "items=0-4",
        "bytes=0-1,5-6",  # several ranges: multipart/byteranges not supported
        "bytes=1-2-3",
        "bytes=٠-٤",  # non-ASCII digits
    ],
)
def test_malformed_or_multiple_ranges_ignored(files: StaticFiles, spec: str) -> None:
    r = get(files, "/a.txt", range=spec)
    assert r.status == 200 and (r.offset, r.length) == (0, 20)
    assert header(r, "Content-Range") is None


def test_head_ignores_range(files: StaticFiles) -> None:
    r = files.prepare("HEAD", "/a.txt", {"range": "bytes=0-4"})
    assert r.status == 200 and r.length == 20


def test_if_range_match_honours_range(files: StaticFiles) -> None:
    etag = str(header(get(files, "/a.txt"), "ETag"))
    assert get(files, "/a.txt", range="bytes=0-4", if_range=etag).status == 206
    date = formatdate(MTIME, usegmt=True)
    assert get(files, "/a.txt", range="bytes=0-4", if_range=date).status == 206


@pytest.mark.parametrize(
    "if_range",
    ['"stale"', "W/{etag}", formatdate(MTIME - 10, usegmt=True), "garbage"],
)
def test_if_range_mismatch_sends_full(files: StaticFiles, if_range: str) -> None:
    etag = str(header(get(files, "/a.txt"), "ETag"))
    r = get(files, "/a.txt", range="bytes=0-4", if_range=if_range.format(etag=etag))
    assert r.status == 200 and (r.offset, r.length) == (0, 20)


def test_304_wins_over_range(files: StaticFiles) -> None:
    etag = str(header(get(files, "/a.txt"), "ETag"))
    assert get(files, "/a.txt", range="bytes=0-4", if_none_match=etag).status == 304


# -- has_route ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/a.txt", "/css/a.css", "/docs/", "/docs", "/", ""])
def test_has_route_true(files: StaticFiles, path: str) -> None:
    assert files.has_route(path)


@pytest.mark.parametrize("path", ["/nope", "/css/", "/empty_dir/", "/a.txt/", "/../site/a.txt"])
def test_has_route_false(files: StaticFiles, path: str) -> None:
    assert not files.has_route(path)


def test_fifo_not_served(files: StaticFiles, root: Path) -> None:
    os.mkfifo(root / "pipe")
    assert get(files, "/pipe").status == 404
