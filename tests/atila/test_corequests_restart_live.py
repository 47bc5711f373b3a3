"""A database that goes away mid-run and comes back, without touching the shared
PostgreSQL server: the app reaches it through a TCP proxy the test stops (every
connection dropped, new ones refused) and starts again on the same port."""

from __future__ import annotations

import concurrent.futures
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from skitai.testing import LiveClient, test_client


class Proxy:
    """Forward 127.0.0.1:<port> to the database until :meth:`stop`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """Refuse new connections and cut every open one (the database "restarts")."""
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


SERVE = """
import os
import atila
import skitai

app = atila.Atila(__name__)

@app.route("/count")
def count(was):
    return was.API(n=was.db("@pg").execute("SELECT count(*) AS n FROM pg_class").one().n > 0)

@app.route("/sleep")
def sleep(was):
    return was.API(rows=was.db("@pg").execute("SELECT pg_sleep(1.5)").fetch())

@app.route("/map")
def mapped(was):
    return was.Map(n__one=was.db("@pg").execute("SELECT 1 AS n"))

if __name__ == "__main__":
    skitai.alias("@pg", skitai.DB_PGSQL, os.environ["PROXIED_DSN"], max_conns=3)
    skitai.mount("/", app)
    skitai.run(workers=1, threads=4)
"""


@pytest.fixture
def proxied(pg_dsn: str, tmp_path: Path) -> Iterator[tuple[LiveClient, Proxy]]:
    url = urlsplit(pg_dsn)
    proxy = Proxy((url.hostname or "127.0.0.1", url.port or 5432))
    proxy.start()
    dsn = f"postgresql://{url.username}@127.0.0.1:{proxy.port}{url.path}"
    (tmp_path / "serve.py").write_text(textwrap.dedent(SERVE))
    client = test_client(str(tmp_path / "serve.py"), devel=False, env={"PROXIED_DSN": dsn})
    try:
        yield client, proxy
    finally:
        client.stop()
        proxy.stop()


def _json_get(live: LiveClient, path: str) -> Any:
    return live.get(path, headers={"Accept": "application/json"})


def test_database_restart_mid_run(proxied: tuple[LiveClient, Proxy]) -> None:
    live, proxy = proxied
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        warm = list(pool.map(lambda _: live.clone().get("/count"), range(3)))
    assert [r.json() for r in warm] == [{"n": True}] * 3  # three pooled connections

    in_flight = concurrent.futures.ThreadPoolExecutor(1).submit(live.clone().get, "/sleep")
    time.sleep(0.5)
    proxy.stop()  # down: open connections cut, new ones refused
    cut = in_flight.result(timeout=10)
    assert cut.status_code in (502, 503)  # the query in flight fails cleanly, at once

    for path in ("/count", "/map"):
        down = _json_get(live, path)
        assert down.status_code == 503
        assert "unavailable" in down.json()["detail"]

    proxy.start()  # back up
    deadline = time.monotonic() + 5
    while (response := live.get("/count")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert response.json() == {"n": True}
    assert live.get("/map").json() == {"n": {"n": 1}}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        after = list(pool.map(lambda _: live.clone().get("/count"), range(6)))
    assert all(r.status_code == 200 for r in after)
