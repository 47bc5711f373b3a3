"""A WSGI app written for skitai stays a plain PEP 3333 app.

The same app module is served three ways and must answer the same:

* by skitai (a real server, the app wrapped in ``wsgiref.validate.validator``
  so the standard library checks what *our* server hands it);
* by ``wsgiref.simple_server`` in a thread: nothing skitai-specific (our
  ``FileWrapper``, environ keys) may be needed by the app;
* in-process, through ``skitai.testing.Client`` on the app as mounted by
  skitai's own mount table (its preference applied).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import shift_path_info
from wsgiref.validate import validator

import pytest
import requests
from test_wsgi_container import serve_site  # shared live-server helper

from skitai.mounts import MountTable
from skitai.preference import Preference
from skitai.testing import Client, LiveClient

#: The portable app: uses only PEP 3333 (optional features with a fallback).
PORTABLE_APP = '''
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def _iter_file(handle, size=8192):
    with handle:
        while chunk := handle.read(size):
            yield chunk


class PortableApp:
    """A tiny app; ``apply_preference`` is the optional skitai hook."""

    def __init__(self):
        self.greeting = "hello"

    def apply_preference(self, pref):
        self.greeting = pref.config.get("greeting", self.greeting)

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/hello":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(self.greeting.encode())
            return iter([b", ", b"world"])
        if path == "/env":
            keys = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE")
            body = json.dumps({key: environ.get(key, "") for key in keys}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/echo":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            stream, parts, left = environ["wsgi.input"], [], length
            while left > 0:
                chunk = stream.read(min(left, 65536))
                if not chunk:
                    break
                parts.append(chunk)
                left -= len(chunk)
            body = b"".join(parts)
            start_response("200 OK", [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(len(body))),
                ("X-Sha256", hashlib.sha256(body).hexdigest()),
            ])
            return [body]
        if path == "/file":
            name = os.path.join(HERE, "data.bin")
            headers = [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(os.path.getsize(name))),
            ]
            start_response("200 OK", headers)
            wrapper = environ.get("wsgi.file_wrapper")
            handle = open(name, "rb")
            return wrapper(handle, 8192) if wrapper else _iter_file(handle)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


app = PortableApp()
'''

SKITAI_SERVER = """
from wsgiref.validate import validator

import skitai
from portable import PortableApp

with skitai.preference() as pref:
    pref.config.greeting = "bonjour"
    skitai.mount("/v1", "portable.py", "app", pref)
skitai.mount("/checked", validator(PortableApp()))
skitai.run(threads=2)
"""

DATA = bytes(range(256)) * 1000  # 256000 bytes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portable")
    (root / "portable.py").write_text(PORTABLE_APP)
    (root / "serve.py").write_text(SKITAI_SERVER)
    (root / "data.bin").write_bytes(DATA)
    return root


@pytest.fixture(scope="module")
def portable(site: Path) -> ModuleType:
    """The app module, imported in this process under a private name."""
    spec = importlib.util.spec_from_file_location("_portable_app_under_test", site / "portable.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def _mounted_at_v1(app: Any) -> Any:
    """Serve ``app`` under /v1 as a mount point would (wsgiref has no mounts)."""

    def shifted(environ: dict[str, Any], start_response: Any) -> Any:
        if shift_path_info(environ) != "v1":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        return app(environ, start_response)

    return shifted


@pytest.fixture(scope="module")
def wsgiref_url(portable: ModuleType) -> Iterator[str]:
    """``wsgiref.simple_server`` serving the validated app in a thread, on an ephemeral port."""
    server: WSGIServer = make_server(
        "127.0.0.1", 0, _mounted_at_v1(validator(portable.app)), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()


@pytest.fixture(scope="module")
def skitai_server(site: Path) -> Iterator[LiveClient]:
    yield from serve_site(site)


@pytest.fixture
def skitai_url(skitai_server: LiveClient) -> str:
    return skitai_server.base_url


def test_skitai_and_wsgiref_answer_alike(skitai_url: str, wsgiref_url: str) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    for base in (skitai_url + "/checked", skitai_url + "/v1", wsgiref_url + "/v1"):
        hello = requests.get(base + "/hello", timeout=10)
        assert hello.status_code == 200
        assert hello.text in ("hello, world", "bonjour, world")
        env = requests.get(base + "/env?a=1", timeout=10).json()
        assert env["PATH_INFO"] == "/env" and env["QUERY_STRING"] == "a=1"
        assert env["SCRIPT_NAME"] in ("/v1", "/checked")
        echo = requests.post(base + "/echo", data=body, timeout=10)
        assert echo.headers["X-Sha256"] == hashlib.sha256(body).hexdigest()
        assert echo.content == body
        file = requests.get(base + "/file", timeout=10)
        assert file.status_code == 200
        assert file.headers["Content-Length"] == str(len(DATA))
        assert file.content == DATA, base
        assert requests.get(base + "/missing", timeout=10).status_code == 404


def test_skitai_passes_the_stdlib_validator(skitai_server: LiveClient) -> None:
    # wsgiref.validate raises (-> 500) or warns (-> stderr) when the server breaks PEP 3333.
    base = skitai_server.base_url + "/checked"
    for path, status in (("/hello", 200), ("/env", 200), ("/file", 200), ("/missing", 404)):
        assert requests.get(base + path, timeout=10).status_code == status
    assert requests.post(base + "/echo", data=b"x" * 10, timeout=10).content == b"x" * 10
    head = requests.head(base + "/file", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(DATA))
    assert skitai_server.server is not None
    output = skitai_server.server.output_tail(50_000)
    for problem in ("Warning", "Traceback", "Exception ignored"):
        assert problem not in output, output


def test_preference_applied_by_the_mount(skitai_url: str) -> None:
    assert requests.get(skitai_url + "/v1/hello", timeout=10).text == "bonjour, world"
    assert requests.get(skitai_url + "/checked/hello", timeout=10).text == "hello, world"


def test_in_process_client_on_a_mounted_app(site: Path) -> None:
    table = MountTable()
    pref = Preference()
    pref.config.greeting = "hallo"
    sys_path, modules = list(sys.path), set(sys.modules)
    try:
        mount = table.add("/v1", "portable.py", "app", pref, base_dir=str(site))
    finally:  # the mount imports the file; leave no trace in this process
        sys.path[:] = sys_path
        for name in set(sys.modules) - modules:
            del sys.modules[name]
    assert not isinstance(mount, list)
    client = Client(validator(mount.app), script_name=mount.point)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any wsgiref.validate warning fails the test
        hello = client.get("/v1/hello")
        assert (hello.status_code, hello.text) == (200, "hallo, world")
        env = client.get("/v1/env", params={"q": "x"}).json()
        assert env["SCRIPT_NAME"] == "/v1" and env["PATH_INFO"] == "/env"
        assert env["QUERY_STRING"] == "q=x"
        echo = client.post("/v1/echo", data=b"payload")
        assert echo.content == b"payload"
        assert echo.headers["X-Sha256"] == hashlib.sha256(b"payload").hexdigest()
        file = client.get("/v1/file")  # no wsgi.file_wrapper in-process: the app falls back
        assert file.content == DATA
        assert client.get("/v1/missing").status_code == 404
