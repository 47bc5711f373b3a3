"""Multipart uploads: streamed to temporary files, the file object API, safe names."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from secure_server import browser, live, server_dir

from atila.errors import HTTPError
from atila.uploads import UploadedFile, parse_multipart, safe_filename
from skitai.testing import LiveClient


def test_upload_with_fields(live: LiveClient, server_dir: Path) -> None:
    response = live.post(
        "/upload",
        files={"file": ("photo.png", b"\x89PNG data", "image/png")},
        data={"note": "holiday"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "photo.png" and body["size"] == 9 and body["mimetype"] == "image/png"
    assert body["note"] == "holiday"
    assert (server_dir / body["saved"]).read_bytes() == b"\x89PNG data"
    assert list((server_dir / "tmp").iterdir()) == []


def test_duplicate_names_unique_or_overwritten(live: LiveClient, server_dir: Path) -> None:
    saved = [
        live.post("/upload", files={"file": ("dup.txt", content)}).json()["saved"]
        for content in (b"one", b"two")
    ]
    assert saved == ["uploads/dup.txt", "uploads/dup-1.txt"]
    overwritten = live.post("/upload", files={"file": ("dup.txt", b"three")}, data={"dup": "o"})
    assert overwritten.json()["saved"] == "uploads/dup.txt"
    assert (server_dir / "uploads/dup.txt").read_bytes() == b"three"
    assert (server_dir / "uploads/dup-1.txt").read_bytes() == b"two"


def test_read_and_temporary_file_removed(live: LiveClient, server_dir: Path) -> None:
    response = live.post("/upload/read", files={"file": ("note.txt", "héllo".encode())})
    body = response.json()
    assert body["text"] == "héllo" and body["temp"].startswith("tmp/atila-upload-")
    assert not (server_dir / body["temp"]).exists()  # not saved: removed after the request


def test_empty_file_input(live: LiveClient) -> None:
    response = live.post("/upload", files={"file": ("", b"")}, data={"a": "1"})
    assert response.json() == {"file": None, "fields": ["a", "file"]}


def test_large_upload_streams_to_disk(tmp_path: Path) -> None:
    size = 3 * 1024 * 1024
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n'
        ).encode()
        + b"z" * size
        + f"\r\n--{boundary}\r\n".encode()
        + (
            b'Content-Disposition: form-data; name="n"\r\n\r\n1\r\n--'
            + boundary.encode()
            + b"--\r\n"
        )
    )

    class Reader(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            Reader.largest = max(Reader.largest, size if size is not None else -1)
            return super().read(size)

    fields, files = parse_multipart(
        Reader(body), f"multipart/form-data; boundary={boundary}", len(body), 10 * size,
        str(tmp_path),
    )  # fmt: skip
    assert fields["n"] == "1" and isinstance(fields["f"], UploadedFile)
    assert files[0].size == size and os.path.getsize(files[0].path) == size
    assert 0 < Reader.largest <= 64 * 1024  # read in chunks, never whole
    files[0].remove()
    assert list(tmp_path.iterdir()) == []


def test_limits_remove_temporary_files(tmp_path: Path) -> None:
    boundary = "b"
    body = (
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5000
        + b"\r\n--b--\r\n"
    )  # fmt: skip
    with pytest.raises(HTTPError) as error:
        parse_multipart(io.BytesIO(body), f"multipart/form-data; boundary={boundary}", None,
                        1000, str(tmp_path))  # fmt: skip
    assert error.value.code == 413
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/abs/path.txt", "path.txt"),
        ("..", "upload"),
        (".htaccess", "htaccess"),
        ("a\x00b\r\n.txt", "a_b__.txt"),
        ("con:tent?.txt", "con_tent_.txt"),
        ("", "upload"),
        (None, "upload"),
        ("x" * 300 + ".txt", "x" * 251 + ".txt"),
    ],
)
def test_safe_filename(given: str | None, expected: str) -> None:
    assert safe_filename(given) == expected


def test_save_requires_the_directory_unless_mkdir(tmp_path: Path) -> None:
    source = tmp_path / "t"
    source.write_bytes(b"data")
    upload = UploadedFile(str(source), "a.txt", 4, "text/plain")
    with pytest.raises(FileNotFoundError):
        upload.save(str(tmp_path / "missing"))
    with pytest.raises(ValueError):
        upload.save(str(tmp_path), dup="x")
    path = upload.save(str(tmp_path / "made"), mkdir=True)
    assert path == str(tmp_path / "made" / "a.txt") and upload.path == path
    upload.remove()
    assert not os.path.exists(path)
