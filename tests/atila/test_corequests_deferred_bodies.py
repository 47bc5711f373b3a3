"""An Atila app using corequests under another WSGI server (wsgiref): the deferred
responses are iterated there, waiting (the blocking fall-back)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

import atila
import skitai


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def wsgiref_app(tmp_path: Path, pg_dsn: str) -> Iterator[str]:
    skitai.alias("@wsgiref_pg", skitai.DB_PGSQL, pg_dsn)
    skitai.alias("@wsgiref_lite", skitai.DB_SQLITE3, str(tmp_path / "w.db"))
    app = atila.Atila("wsgiref_app")

    @app.route("/map")
    def mapped(was: Any) -> Any:
        return was.Map(
            one__x=was.db("@wsgiref_pg").execute("SELECT 1 AS x"),
            lite=was.db("@wsgiref_lite").execute("SELECT 2 AS y"),
        )

    @app.route("/then")
    def then(was: Any) -> Any:
        task = was.db("@wsgiref_pg").execute("SELECT 3 AS z")
        return task.then(lambda was, task: was.API(z=task.one().z))

    @app.route("/async")
    async def async_handler(was: Any) -> Any:
        task = await was.db("@wsgiref_pg").execute("SELECT 4 AS w")
        return was.API(w=task.one().w)

    server = make_server("127.0.0.1", 0, app, WSGIServer, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_atila_corequests_under_another_wsgi_server(wsgiref_app: str) -> None:
    assert json.loads(requests.get(wsgiref_app + "/map", timeout=10).text) == {
        "one": 1,
        "lite": [{"y": 2}],
    }
    assert requests.get(wsgiref_app + "/then", timeout=10).json() == {"z": 3}
    assert requests.get(wsgiref_app + "/async", timeout=10).json() == {"w": 4}
