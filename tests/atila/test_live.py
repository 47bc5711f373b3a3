"""End to end through a real Skitai server: mounts, the "" vs "/" rules, fall-through to
static files, parameters, CORS, XML-RPC and a production 500."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable

import pytest

from skitai.testing import LiveClient

SERVE = """
import skitai
import atila

root = atila.Atila("root")
root.access_control_allow_origin = ["http://front.example"]

@root.route("/api/episode/<int:id>", methods=["GET", "POST", "OPTIONS"])
@root.inspect("GET", ints=["limit"])
def episode(was, id=None, limit=10, **DATA):
    return was.API(id=id, limit=limit, data=DATA, url=was.urlfor(episode, id))

@root.route("/crash")
def crash(was):
    raise RuntimeError("database password is hunter2")

@root.route("/add")
def add(was, num1, num2):
    return num1 + num2

sub = atila.Atila("sub")

@sub.route("")
def sub_index(was):
    return "sub index " + was.urlfor(sub_index)

slash = atila.Atila("slash")

@slash.route("/")
def slash_index(was):
    return "slash index"

if __name__ == "__main__":
    skitai.mount("/", "static")
    skitai.mount("/", root)
    skitai.mount("/sub", sub)
    skitai.mount("/slash", slash)
    skitai.mount("/rpc", root)
    skitai.run()
"""

FILES = {"static/style.css": "body { color: red }\n", "static/index.html": "<p>home</p>\n"}


@pytest.fixture
def live(serve: Callable[..., LiveClient]) -> LiveClient:
    return serve(SERVE, files=FILES)


def test_api_with_parameters(live: LiveClient) -> None:
    response = live.get("/api/episode/7?limit=3")
    assert response.status_code == 200
    assert response.json() == {"id": 7, "limit": 3, "data": {}, "url": "/api/episode/7"}
    posted = live.post("/api/episode", json={"title": "t"})
    assert posted.json() == {"id": None, "limit": 10, "data": {"title": "t"}, "url": "/api/episode"}
    assert live.get("/api/episode/7?limit=x").status_code == 400
    assert live.delete("/api/episode/7").status_code == 405


def test_empty_and_slash_routes_at_sub_mounts(live: LiveClient) -> None:
    assert live.get("/sub").text == "sub index /sub"
    assert live.get("/sub/").status_code == 404
    redirect = live.get("/slash", allow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["location"].endswith("/slash/")
    assert live.get("/slash/").text == "slash index"
    assert live.get("/slash").text == "slash index"  # following the redirect


def test_fall_through_to_static_directory(live: LiveClient) -> None:
    css = live.get("/style.css")
    assert css.status_code == 200 and css.text == "body { color: red }\n"
    assert live.get("/api/episode/1").headers["content-type"] == "application/json"
    assert live.get("/nothing-here").status_code == 404


def test_production_500_has_no_traceback(live: LiveClient) -> None:
    for accept in ("text/html", "application/json"):
        response = live.get("/crash", headers={"Accept": accept})
        assert response.status_code == 500
        assert "hunter2" not in response.text and "Traceback" not in response.text


def test_cors_preflight_and_xmlrpc(live: LiveClient) -> None:
    preflight = live.options(
        "/api/episode/1",
        headers={"Origin": "http://front.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://front.example"
    with xmlrpc.client.ServerProxy(live.base_url + "/rpc") as stub:
        assert stub.add(10000, 5000) == 15000
