"""Tests for :mod:`skitai.testing`: the in-process WSGI client and ``test_client``.

The live-server tests run a tiny ``wsgiref`` script written to a temporary
directory, so they exercise the process handling without needing the engine.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import pytest
import requests

from skitai import testing
from skitai.testing import (
    Client,
    LiveClient,
    ServerStartError,
    WSGIClient,
    WSGIProtocolError,
    build_environ,
    test_client,  # imported on purpose: pytest must not collect it as a test
)

# --------------------------------------------------------------------------
# In-process client: small WSGI apps
# --------------------------------------------------------------------------

ECHO_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "HTTP_HOST",
    "HTTP_COOKIE",
    "HTTP_X_TRACE",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
)


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answer with the interesting environ fields and the request body as JSON."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = {key: environ.get(key) for key in ECHO_KEYS}
    payload["wsgi.version"] = list(environ["wsgi.version"])
    payload["body"] = environ["wsgi.input"].read(length).decode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json; charset=utf-8")])
    return [json.dumps(payload).encode("utf-8")]


def cookie_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/login`` sets two cookies, ``/logout`` deletes one, anything else echoes."""
    headers = [("Content-Type", "text/plain")]
    if environ["PATH_INFO"] == "/login":
        headers += [("Set-Cookie", "sid=abc123; Path=/; HttpOnly"), ("Set-Cookie", "theme=dark")]
    elif environ["PATH_INFO"] == "/logout":
        headers.append(("Set-Cookie", "sid=; Max-Age=0; Path=/"))
    elif environ["PATH_INFO"] == "/expire-theme":
        headers.append(("Set-Cookie", "theme=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"))
    start_response("200 OK", headers)
    return [environ.get("HTTP_COOKIE", "").encode("latin-1")]


def make_app(status: Any = "200 OK", headers: Any = None, body: Any = (b"ok",)) -> Any:
    """A WSGI app answering with the given (possibly invalid) status, headers and body."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, [("Content-Type", "text/plain")] if headers is None else headers)
        return list(body)

    return app


@pytest.fixture
def echo() -> Client:
    """An in-process client for :func:`echo_app`, checked by ``wsgiref.validate``."""
    return Client(validator(echo_app))


# --------------------------------------------------------------------------
# In-process client: environ
# --------------------------------------------------------------------------


def test_environ_is_complete_and_pep3333_valid(echo: Client) -> None:
    got = echo.get("/users/100", headers={"X-Trace": "t1"}).json()
    assert got["REQUEST_METHOD"] == "GET"
    assert got["SCRIPT_NAME"] == ""
    assert got["PATH_INFO"] == "/users/100"
    assert got["QUERY_STRING"] == ""
    assert got["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (got["SERVER_NAME"], got["SERVER_PORT"], got["HTTP_HOST"]) == (
        "localhost",
        "80",
        "localhost",
    )
    assert got["HTTP_X_TRACE"] == "t1"
    assert got["wsgi.version"] == [1, 0]
    assert got["wsgi.url_scheme"] == "http"
    assert (got["wsgi.multithread"], got["wsgi.multiprocess"], got["wsgi.run_once"]) == (
        False,
        False,
        False,
    )


def test_path_info_is_percent_decoded_latin1(echo: Client) -> None:
    got = echo.get("/caf%C3%A9/a%20b").json()
    assert got["PATH_INFO"] == "/caf\xc3\xa9/a b"  # the UTF-8 bytes, as a latin-1 str


def test_query_string_merges_path_and_params(echo: Client) -> None:
    got = echo.get("/search?x=1", params={"q": "a b", "tag": ["p", "q"]}).json()
    assert got["PATH_INFO"] == "/search"
    assert got["QUERY_STRING"] == "x=1&q=a+b&tag=p&tag=q"


def test_form_data_is_urlencoded(echo: Client) -> None:
    got = echo.post("/form", {"name": "Hans Roh", "n": "1"}).json()
    assert got["REQUEST_METHOD"] == "POST"
    assert got["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert got["body"] == "name=Hans+Roh&n=1"
    assert got["CONTENT_LENGTH"] == str(len(got["body"]))


def test_json_body_sets_content_type(echo: Client) -> None:
    got = echo.put("/users/1", json={"last_name": "Roh"}).json()
    assert got["CONTENT_TYPE"] == "application/json"
    assert json.loads(got["body"]) == {"last_name": "Roh"}


def test_dict_data_is_json_when_default_content_type_is_json(echo: Client) -> None:
    echo.set_default_header("Content-Type", "application/json")
    got = echo.patch("/users/100", {"last_name": "Roh"}).json()
    assert json.loads(got["body"]) == {"last_name": "Roh"}
    echo.set_default_header("Content-Type", None)
    assert echo.patch("/users/100", {"last_name": "Roh"}).json()["body"] == "last_name=Roh"


def test_data_and_json_together_is_an_error(echo: Client) -> None:
    with pytest.raises(ValueError, match="data or json"):
        echo.post("/x", data={"a": "1"}, json={"b": 2})


def test_empty_post_has_zero_content_length(echo: Client) -> None:
    assert echo.post("/x").json()["CONTENT_LENGTH"] == "0"
    assert echo.delete("/x").json()["CONTENT_LENGTH"] == ""


def test_script_name_splits_the_path() -> None:
    client = Client(echo_app, script_name="/api")
    got = client.get("/api/users").json()
    assert (got["SCRIPT_NAME"], got["PATH_INFO"]) == ("/api", "/users")
    with pytest.raises(ValueError, match="not under SCRIPT_NAME"):
        client.get("/apix/users")


def test_build_environ_hook() -> None:
    environ = build_environ(
        "post",
        "/a%2Fb?x=1",
        query_string="y=2",
        headers=[("Accept", "text/html"), ("Accept", "application/json"), ("Content-Length", "7")],
        body=b"payload",
        url_scheme="https",
        server_port=8443,
    )
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/a/b"
    assert environ["QUERY_STRING"] == "x=1&y=2"
    assert environ["HTTP_ACCEPT"] == "text/html, application/json"
    assert environ["CONTENT_LENGTH"] == "7"
    assert "HTTP_CONTENT_LENGTH" not in environ
    assert environ["HTTP_HOST"] == "localhost:8443"
    assert environ["wsgi.input"].read() == b"payload"


# --------------------------------------------------------------------------
# In-process client: responses, cookies, start_response
# --------------------------------------------------------------------------


def test_response_fields(echo: Client) -> None:
    response = echo.options("/x")
    assert (response.status_code, response.reason) == (200, "OK")
    assert response.headers["content-type"] == response.headers["Content-Type"]
    assert response.encoding == "utf-8"
    assert response.json()["REQUEST_METHOD"] == "OPTIONS"
    assert response.text == response.content.decode("utf-8")
    assert isinstance(response.headers, requests.structures.CaseInsensitiveDict)


def test_head_drops_the_body(echo: Client) -> None:
    response = echo.head("/x")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Type"].startswith("application/json")


def test_cookies_persist_and_expire() -> None:
    client = Client(cookie_app)
    login = client.get("/login")
    assert login.cookies["sid"].value == "abc123"
    assert login.headers["set-cookie"] == "sid=abc123; Path=/; HttpOnly, theme=dark"
    assert client.get("/me").text == "sid=abc123; theme=dark"
    assert (
        client.get("/me", headers={"Cookie": "extra=1"}).text == "extra=1; sid=abc123; theme=dark"
    )
    client.get("/logout")
    assert client.get("/me").text == "theme=dark"
    client.get("/expire-theme")
    assert client.get("/me").text == ""
    assert "sid" not in client.cookies


def test_write_callable_output_comes_first() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("201 Created", [("Content-Type", "text/plain")])
        write(b"hello ")
        return [b"", b"world"]

    response = Client(validator(app)).post("/x")
    assert (response.status_code, response.reason) == (201, "Created")
    assert response.text == "hello world"


def test_generator_is_consumed_and_closed() -> None:
    events: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        try:
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"a"
            yield b"b"
        finally:
            events.append("closed")

    assert Client(app).get("/").content == b"ab"
    assert events == ["closed"]


def test_iterable_close_is_called_when_the_app_fails() -> None:
    class Body:
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            yield b"part"
            raise KeyError("broken")

        def close(self) -> None:
            Body.closed = True

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    with pytest.raises(KeyError, match="broken"):
        Client(app).get("/")
    assert Body.closed


def test_exc_info_replaces_status_before_body() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise LookupError("missing")
        except LookupError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"failed"]

    response = Client(validator(app)).get("/")
    assert (response.status_code, response.text) == (500, "failed")


def test_exc_info_after_body_reraises() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"started")
        try:
            raise LookupError("too late")
        except LookupError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return []

    with pytest.raises(LookupError, match="too late"):
        Client(app).get("/")


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (make_app(status="200"), "invalid status"),
        (make_app(status=200), "invalid status"),
        (make_app(headers=(("Content-Type", "text/plain"),)), "must be a list"),
        (make_app(headers=[("Content-Type", b"text/plain")]), r"\(str, str\) tuple"),
        (make_app(headers=[("Bad Name", "x")]), "invalid response header"),
        (make_app(headers=[("X-Split", "a\r\nInjected: 1")]), "invalid response header"),
        (make_app(headers=[("Connection", "close")]), "hop-by-hop"),
        (make_app(headers=[("X-Name", "\u20ac")]), "not latin-1"),
        (make_app(body=["text"]), "not bytes"),
    ],
)
def test_protocol_violations_are_reported(app: Any, message: str) -> None:
    with pytest.raises(WSGIProtocolError, match=message):
        Client(app).get("/")


def test_start_response_twice_without_exc_info() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        start_response("404 Not Found", [])
        return []

    with pytest.raises(WSGIProtocolError, match="called twice"):
        Client(app).get("/")


def test_missing_start_response() -> None:
    with pytest.raises(WSGIProtocolError, match="without calling start_response"):
        Client(lambda environ, start_response: []).get("/")


def test_wsgi_client_alias_and_pytest_opt_out() -> None:
    assert WSGIClient is Client
    assert test_client.__test__ is False


# --------------------------------------------------------------------------
# Live server: a tiny wsgiref script
# --------------------------------------------------------------------------

SERVER_SCRIPT = textwrap.dedent(
    '''
    """A tiny test server: python serve.py --port N [flags]."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    FLAGS = sys.argv[1:]
    PORT = int(FLAGS[FLAGS.index("--port") + 1])
    CHILDREN = []

    def option(name):
        return FLAGS[FLAGS.index(name) + 1] if name in FLAGS else None

    if "--crash" in FLAGS:
        raise RuntimeError("boom: cannot open the database")
    if "--never-listen" in FLAGS:
        time.sleep(60)
    if "--ignore-term" in FLAGS:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--spawn-child" in FLAGS:
        CHILDREN.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
    time.sleep(float(option("--delay") or 0))

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = [("Content-Type", "application/json")]
        if environ["PATH_INFO"] == "/login":
            headers.append(("Set-Cookie", "sid=s3cret; Path=/"))
        payload = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "content_type": environ.get("CONTENT_TYPE", ""),
            "body": environ["wsgi.input"].read(length).decode(),
            "cookie": environ.get("HTTP_COOKIE", ""),
            "accept": environ.get("HTTP_ACCEPT", ""),
            "flags": FLAGS,
            "cwd": os.getcwd(),
            "children": [child.pid for child in CHILDREN],
        }
        start_response("200 OK", headers)
        return [json.dumps(payload).encode()]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    print("listening on", PORT, flush=True)
    make_server("127.0.0.1", PORT, app, handler_class=QuietHandler).serve_forever()
    '''
)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wsgiref server script, in its own directory."""
    path = tmp_path_factory.mktemp("server") / "serve.py"
    path.write_text(SERVER_SCRIPT)
    return path


@pytest.fixture(scope="module")
def live(script: Path) -> Iterator[LiveClient]:
    """One server for the read-only live tests; it binds only after a delay."""
    client = test_client(script, args=["--delay", "0.3", "--extra"], timeout=20)
    yield client
    client.stop()


@pytest.fixture
def client(live: LiveClient) -> Iterator[LiveClient]:
    """A fresh session (own cookie jar) on the shared server."""
    session = LiveClient(live.base_url, live.server)
    yield session
    session.close()


def test_test_client_waits_until_ready(live: LiveClient, script: Path) -> None:
    assert live.base_url == f"http://127.0.0.1:{live.port}"
    assert live.process is not None and live.process.poll() is None
    got = live.get("/users/100").json()  # no retry: the server is already listening
    assert got["path"] == "/users/100"
    assert got["flags"][:2] == ["--port", str(live.port)]
    assert got["flags"][2:] == ["--devel", "--silent", "--delay", "0.3", "--extra"]
    assert Path(got["cwd"]) == script.parent
    assert "listening on" in live.server.output_tail()


def test_relative_script_path_is_resolved(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(script.parent.parent)
    with test_client(Path(script.parent.name) / script.name, devel=False, silent=False) as client:
        assert client.get("/").json()["flags"] == ["--port", str(client.port)]


def test_relative_and_absolute_urls(client: LiveClient) -> None:
    assert client.get("users/7").json()["path"] == "/users/7"
    assert client.get(f"{client.base_url}/abs").json()["path"] == "/abs"


def test_clone_shares_cookies_not_headers(client: LiveClient) -> None:
    client.get("/login")
    axios = client.clone()
    axios.set_default_header("Accept", "application/json")
    assert axios.cookies is client.cookies
    assert axios.server is client.server
    got = axios.get("/me").json()
    assert (got["cookie"], got["accept"]) == ("sid=s3cret", "application/json")
    assert client.get("/me").json()["accept"] == "*/*"
    axios.set_default_header("Accept", None)
    assert axios.get("/me").json()["accept"] == ""  # removed, not reset


def test_axios_style_json_by_default_header(client: LiveClient) -> None:
    axios = client.clone()
    axios.set_default_header("Content-Type", "application/json")
    got = axios.patch("/users/100", {"last_name": "Roh"}).json()
    assert got["method"] == "PATCH"
    assert got["content_type"] == "application/json"
    assert json.loads(got["body"]) == {"last_name": "Roh"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert axios.post("/f", {"a": "1"}, headers=form).json()["body"] == "a=1"
    got = client.put("/users/100", {"last_name": "Roh"}).json()
    assert (got["content_type"], got["body"]) == (
        "application/x-www-form-urlencoded",
        "last_name=Roh",
    )


def test_stop_is_idempotent_and_shared_with_clones(script: Path) -> None:
    client = test_client(script)
    process = client.process
    assert process is not None
    client.clone().stop()
    assert process.returncode == -signal.SIGTERM
    assert _group_gone(process.pid)
    client.stop()
    client.stop()
    assert client.server is not None and client.server.stopped
    with pytest.raises(requests.ConnectionError):
        client.get("/", timeout=2)


def test_context_manager_stops_the_server(script: Path) -> None:
    with test_client(script, port=None) as client:
        process = client.process
        assert client.get("/").status_code == 200
    assert process is not None and process.poll() is not None
    assert _group_gone(process.pid)


def test_stop_escalates_to_sigkill(script: Path) -> None:
    client = test_client(script, args=["--ignore-term"])
    process = client.process
    client.stop(grace=0.3)
    assert process is not None and process.returncode == -signal.SIGKILL


def test_stop_kills_the_whole_process_group(script: Path) -> None:
    client = test_client(script, args=["--spawn-child"])
    (child,) = client.get("/").json()["children"]
    assert _alive(child)
    client.stop()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_crash_at_start_raises_with_its_output(script: Path) -> None:
    with pytest.raises(RuntimeError, match="boom: cannot open the database") as info:
        test_client(script, args=["--crash"])
    assert isinstance(info.value, ServerStartError)
    assert "exited with status 1" in str(info.value)


def test_timeout_when_the_server_never_listens(script: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="did not accept connections"):
        test_client(script, args=["--never-listen"], timeout=0.5)
    assert time.monotonic() - started < 5


def test_missing_script_and_string_args(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        test_client(tmp_path / "nope.py")
    with pytest.raises(TypeError):
        test_client(tmp_path / "nope.py", args="--devel")  # type: ignore[arg-type]


def test_ssl_flag_builds_an_unverified_https_base_url(script: Path) -> None:
    with test_client(script, ssl=True, dry=True) as client:
        assert client.base_url == f"https://127.0.0.1:{client.port}"
        assert client.verify is False
        assert client.clone().verify is False
        assert client.url_for("/x") == f"https://127.0.0.1:{client.port}/x"
        assert client.request_timeout == testing.DEFAULT_REQUEST_TIMEOUT
