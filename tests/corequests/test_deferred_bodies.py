"""The engine's deferred-response contract with a plain WSGI app (no framework), and
an Atila app using corequests under another WSGI server (blocking fall-back)."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

import atila
import skitai
from skitai.testing import LiveClient

PLAIN = """
import time
import skitai

class Later:
    '''A DeferredBody: the response is made once a corequest finished.'''

    def __init__(self, task, start_response):
        self.task = task
        self.start_response = start_response

    def __iter__(self):  # other servers: wait here
        yield from self.resume()

    def on_ready(self, fn):
        self.task.on_ready(fn)

    def resume(self):
        body = ("slept %s" % self.task.fetch()).encode()
        self.start_response("200 OK", [("Content-Type", "text/plain"),
                                       ("Content-Length", str(len(body)))])
        return [body]

def app(environ, start_response):
    if environ["PATH_INFO"] == "/fast":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fast"]
    hub = environ["skitai.corequests"]
    return Later(hub.thread(lambda: time.sleep(0.8) or 0.8), start_response)

if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(threads=1)
"""


def test_plain_wsgi_app_defers_without_holding_the_thread(
    serve: Callable[..., LiveClient],
) -> None:
    live = serve(PLAIN)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        slow = [pool.submit(live.clone().get, "/slow") for _ in range(3)]
        time.sleep(0.2)
        fast = live.clone().get("/fast")
        fast_after = time.monotonic() - started
        bodies = [f.result().text for f in slow]
        total = time.monotonic() - started
    assert fast.text == "fast" and fast_after < 0.7
    assert bodies == ["slept 0.8"] * 3 and total < 1.5


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
