"""Several apps and several workers on one Skitai server: ``was.apps``, ``was.urlfor``
across apps, broadcasts seen by another app, and shared state (``skitai.register_states``,
``was.setlu``/``was.getlu``, ``@app.if_updated``) crossing worker processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from skitai.testing import LiveClient

SERVE = """
import skitai

skitai.register_states("news")
skitai.mount("/", "main.py")
skitai.mount("/search", "search.py")
skitai.run(workers=2)
"""

FILES = {
    "main.py": """
        import os
        import atila

        app = atila.Atila(__name__)

        @app.route("/")
        def index(was):
            return was.API(
                search_url=was.urlfor("search:query", "Your Name"),
                built=was.apps["search"].build_url("query", "x"),
                save_path=was.apps["search"].config.save_path,
                own=was.urlfor("index"),
            )

        @app.route("/broadcast/<value>")
        def broadcast(was, value):
            was.broadcast("user:data-added", value)
            return str(os.getpid())

        @app.route("/changed", methods=["POST"])
        @app.broadcast_after("cache:changed")
        def changed(was):
            return str(os.getpid())

        @app.route("/setlu", methods=["POST"])
        def setlu(was):
            return was.API(pid=os.getpid(), lu=was.setlu("news"))

        def reload_news(was, key):
            app.store.inc("reloads")

        @app.route("/news")
        @app.if_updated("news", reload_news)
        def news(was):
            return was.API(pid=os.getpid(), reloads=app.store.get("reloads", 0),
                           lu=was.getlu("news"))
    """,
    "search.py": """
        import os
        import atila

        app = atila.Atila(__name__)
        app.config.save_path = "/var/search"

        @app.route("/query")
        def query(was, q=""):
            return q

        @app.on_broadcast("user:data-added")
        def refresh(was, userid):
            app.store.set("got", userid)

        @app.on_broadcast("cache:changed")
        def cache_changed(was):
            app.store.inc("changes")

        @app.route("/got")
        def got(was):
            return was.API(pid=os.getpid(), got=app.store.get("got"),
                           changes=app.store.get("changes", 0))
    """,
}


@pytest.fixture
def live(serve: Callable[..., LiveClient]) -> LiveClient:
    return serve(SERVE, files=FILES)


def _fresh_get(live: LiveClient, path: str) -> Any:
    """GET on a new connection (any worker may take it)."""
    return requests.get(live.url_for(path), headers={"Connection": "close"}, timeout=10).json()


def test_apps_and_urlfor_across_apps(live: LiveClient) -> None:
    assert live.get("/").json() == {
        "search_url": "/search/query?q=Your%20Name",
        "built": "/search/query?q=x",
        "save_path": "/var/search",
        "own": "/",
    }


def test_broadcast_is_seen_by_another_app(live: LiveClient) -> None:
    # one keep-alive connection: the same worker answers every request
    pid = live.get("/broadcast/u42").text
    got = live.get("/search/got").json()
    assert got == {"pid": int(pid), "got": "u42", "changes": 0}
    assert live.post("/changed").text == pid
    assert live.get("/search/got").json()["changes"] == 1


def test_setlu_in_one_worker_triggers_if_updated_in_another(live: LiveClient) -> None:
    seen: dict[int, Any] = {}
    deadline = time.monotonic() + 20
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"only worker(s) {list(seen)} answered"
        answer = _fresh_get(live, "/news")
        seen[answer["pid"]] = answer
    assert all(answer["reloads"] == 0 for answer in seen.values())

    updated = live.post("/setlu").json()
    others: dict[int, Any] = {}
    while not others:
        assert time.monotonic() < deadline, "the other worker never answered"
        answer = _fresh_get(live, "/news")
        if answer["pid"] != updated["pid"]:
            others[answer["pid"]] = answer
    (other,) = others.values()
    assert other["reloads"] == 1  # the consequence ran in the worker that did not setlu
    assert other["lu"] == pytest.approx(updated["lu"])
