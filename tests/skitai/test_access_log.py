"""The access log and the error log of a real running server.

Each request gets one line in the combined log format on the server's
stdout; ``--silent`` turns it off; an application error is logged with its
traceback while the client only sees a short 500.  The server is another
process, so its output is polled with a deadline (``wait_for_output``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from test_wsgi_container import wait_for_output  # shared live-server helper

from skitai.testing import LiveClient, test_client

SERVER = """
import skitai


def app(environ, start_response):
    if environ["PATH_INFO"] == "/fail":
        raise ZeroDivisionError("secret detail of the failure")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


skitai.mount("/app", app)
skitai.mount("/files", skitai.joinpath("files"))
skitai.run()
"""

#: host ident user [time] "request" status bytes "referer" "user-agent"
COMBINED = re.compile(
    r'^(?P<host>\S+) - - \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>(?:[^"\\]|\\.)*)" '
    r'"(?P<agent>(?:[^"\\]|\\.)*)"$'
)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., LiveClient]]:
    """Start the server above with the access log on (``silent=False``) plus ``args``."""
    (tmp_path / "serve.py").write_text(textwrap.dedent(SERVER))
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_bytes(b"0123456789")
    clients: list[LiveClient] = []

    def run(*args: str) -> LiveClient:
        client = test_client(tmp_path / "serve.py", devel=False, silent=False, args=args)
        clients.append(client)
        return client

    yield run
    for client in clients:
        client.stop()


def access_lines(output: str) -> list[re.Match[str]]:
    return [m for line in output.splitlines() if (m := COMBINED.match(line))]


def access_line(client: LiveClient, request_line: str) -> re.Match[str]:
    """The access log entry for ``request_line`` (waits for it)."""
    output = wait_for_output(client, f'"{request_line}"')
    found = [m for m in access_lines(output) if m["request"] == request_line]
    assert found, f"no access log line for {request_line!r} in:\n{output}"
    return found[-1]


def test_one_combined_log_line_per_request(start: Callable[..., LiveClient]) -> None:
    client = start()
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.get(
        "/app/path?q=1",
        headers={"Referer": "http://example.com/from", "User-Agent": "probe/1.0 (test)"},
    )
    assert response.status_code == 200 and response.text == "hello"
    entry = access_line(client, "GET /app/path?q=1 HTTP/1.1")
    assert entry["host"] == "127.0.0.1"
    assert entry["status"] == "200"
    assert entry["bytes"] == "5"
    assert entry["referer"] == "http://example.com/from"
    assert entry["agent"] == "probe/1.0 (test)"
    logged = datetime.strptime(entry["time"], "%d/%b/%Y:%H:%M:%S %z")
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", entry["time"])
    assert before <= logged <= datetime.now(UTC)


def test_every_request_is_logged_once_with_its_status_and_size(
    start: Callable[..., LiveClient],
) -> None:
    client = start()
    assert client.get("/files/a.txt").status_code == 200
    assert client.get("/files/a.txt", headers={"Range": "bytes=2-4"}).status_code == 206
    assert client.head("/files/a.txt").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert client.post("/app/x", data=b"body").status_code == 200
    output = wait_for_output(client, '"POST /app/x HTTP/1.1"')
    entries = [(m["request"], m["status"], m["bytes"], m["referer"]) for m in access_lines(output)]
    assert entries == [
        ("GET /files/a.txt HTTP/1.1", "200", "10", "-"),
        ("GET /files/a.txt HTTP/1.1", "206", "3", "-"),
        ("HEAD /files/a.txt HTTP/1.1", "200", "0", "-"),
        ("GET /nowhere HTTP/1.1", "404", "10", "-"),
        ("POST /app/x HTTP/1.1", "200", "5", "-"),
    ]


def test_quotes_in_logged_fields_are_escaped(start: Callable[..., LiveClient]) -> None:
    # Otherwise a client could end the field early and forge the rest of the line.
    client = start()
    client.get("/app/q", headers={"User-Agent": 'evil" 200 1 "-" "x', "Referer": 'r"ef'})
    entry = access_line(client, "GET /app/q HTTP/1.1")
    assert entry["agent"] == 'evil\\" 200 1 \\"-\\" \\"x'
    assert entry["referer"] == 'r\\"ef'


def test_silent_suppresses_the_access_log(start: Callable[..., LiveClient]) -> None:
    client = start("--silent")
    assert client.get("/app/quiet").status_code == 200
    assert client.get("/app/error-marker").status_code == 200
    client.get("/app/fail")  # errors are still logged: they mark the end of the output
    output = wait_for_output(client, "secret detail of the failure")
    assert "secret detail of the failure" in output
    assert access_lines(output) == []
    assert "/app/quiet" not in output


def test_application_error_logs_a_traceback_and_answers_a_short_500(
    start: Callable[..., LiveClient],
) -> None:
    client = start()
    response = client.get("/app/fail")
    assert response.status_code == 500
    assert response.text == "Internal Server Error\n"
    assert "secret detail" not in response.text and "Traceback" not in response.text
    output = wait_for_output(client, "ZeroDivisionError: secret detail of the failure")
    assert "Traceback (most recent call last):" in output
    assert "ZeroDivisionError: secret detail of the failure" in output
    assert access_line(client, "GET /app/fail HTTP/1.1")["status"] == "500"
    # The server is unharmed.
    assert requests.get(client.url_for("/app/ok"), timeout=10).text == "hello"
