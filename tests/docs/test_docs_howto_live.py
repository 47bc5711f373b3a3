"""The how-to guides' examples that need the engine, each served by its own ``serve.py``.

``skitai.test_client`` starts the example's script on a free port, as a user would
(``python3 serve.py --port N``), and the tests call it over real sockets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from docs_examples import EXAMPLES
from websockets.sync.client import connect

from skitai.testing import LiveClient, test_client


@pytest.fixture
def serve_example() -> Iterator[Callable[..., LiveClient]]:
    """``serve_example("mounting/serve.py", env={...})``: the example's server, stopped after."""
    clients: list[LiveClient] = []

    def start(relative: str, env: dict[str, str] | None = None) -> LiveClient:
        clients.append(test_client(EXAMPLES / relative, devel=False, env=env))
        return clients[-1]

    yield start
    for client in clients:
        client.stop()


def each_worker(client: LiveClient, path: str, workers: int = 2) -> dict[int, dict]:
    """GET ``path`` on new connections until every worker has answered: {pid: body}."""
    seen: dict[int, dict] = {}
    for _ in range(64):
        body = requests.get(client.url_for(path), headers={"Connection": "close"}, timeout=10)
        seen[body.json()["worker"]] = body.json()
        if len(seen) == workers:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered {path}")


def test_mounting(serve_example: Callable[..., LiveClient]) -> None:
    client = serve_example("mounting/serve.py")
    assert client.get("/api/hello/world").json() == {"message": "Hello, world"}
    assert client.get("/api/hello/world?greeting=Hi").json() == {"message": "Hi, world"}
    plain = client.get("/plain/any/path")
    assert plain.text == "mounted at '/plain', path '/any/path'\n"
    static = client.get("/hello.txt")
    assert static.status_code == 200 and static.text == "Hello from a static file.\n"
    again = client.get("/hello.txt", headers={"If-None-Match": static.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/missing.txt").status_code == 404


def test_corequests(serve_example: Callable[..., LiveClient], tmp_path: Path) -> None:
    client = serve_example("corequests/serve.py", env={"NOTES_DB": str(tmp_path / "n.sqlite3")})
    for text in ("buy milk", "call the plumber today", "water plants"):
        assert client.post("/notes", data={"text": text}).status_code == 201
    rows = client.get("/notes").json()["rows"]
    assert [row["text"] for row in rows] == ["buy milk", "call the plumber today", "water plants"]
    assert client.get(f"/notes/{rows[1]['id']}").json()["text"] == "call the plumber today"
    assert client.get("/notes/999").status_code == 404
    summary = client.get("/summary").json()
    assert summary["count"] == 3
    assert [row["text"] for row in summary["latest"]] == [
        "water plants", "call the plumber today", "buy milk"
    ]  # fmt: skip
    assert client.get("/words").json() == {"words": 8}
    injected = "x'); DROP TABLE notes; --"
    assert client.post("/notes", data={"text": injected}).status_code == 201
    assert client.get("/notes").json()["rows"][-1]["text"] == injected


def test_events_reach_every_worker(serve_example: Callable[..., LiveClient]) -> None:
    client = serve_example("events/serve.py")
    each_worker(client, "/heard")  # both workers are up
    assert client.post("/announce", data={"text": "hello all"}).json() == {"sent": "hello all"}
    for worker, body in each_worker(client, "/heard").items():
        assert body["heard"] == ["hello all"], worker


def test_shared_state_reloads_every_worker(serve_example: Callable[..., LiveClient]) -> None:
    client = serve_example("events/serve.py")
    before = {worker: body["reloads"] for worker, body in each_worker(client, "/prices").items()}
    assert client.post("/prices").json()["updated"] > 0
    after = {worker: body["reloads"] for worker, body in each_worker(client, "/prices").items()}
    assert after == {worker: count + 1 for worker, count in before.items()}


def test_websocket_echo_and_push(serve_example: Callable[..., LiveClient]) -> None:
    client = serve_example("websocket/serve.py")
    url = client.base_url.replace("http://", "ws://") + "/echo"
    with connect(url, open_timeout=10) as socket:
        welcome = str(socket.recv(timeout=10))
        assert welcome.startswith("welcome ")
        client_id = welcome.removeprefix("welcome ")
        socket.send("hi")
        assert socket.recv(timeout=10) == "you said: hi"
        socket.send("stats")
        assert json.loads(socket.recv(timeout=10)) == {"client": client_id}
        for _ in range(4):  # new connections: the push may land on either worker
            pushed = requests.post(
                client.url_for(f"/push/{client_id}"), data={"text": "ping"},
                headers={"Connection": "close"}, timeout=10,
            )  # fmt: skip
            assert pushed.json() == {"delivered": True}
            assert socket.recv(timeout=10) == "ping"
    assert client.get("/echo").status_code == 426


def test_the_testing_guides_tests_pass() -> None:
    """The testing guide's file (docs/examples/testing/test_hello.py), run by pytest."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "testing/test_hello.py"],
        cwd=EXAMPLES,
        # as a user runs it: not with the Django settings another test folder exported
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
