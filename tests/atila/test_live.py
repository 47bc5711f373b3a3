"""End to end through a real Skitai server: mounts, the "" vs "/" rules, fall-through to
static files, parameters, CORS, XML-RPC and a production 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
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


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_errors_are_json_unless_the_client_asks_for_html(live: LiveClient) -> None:
    """curl and HTTP libraries (``Accept: */*`` or none) get JSON errors; browsers HTML."""
    cases = [
        ("GET", "/api/nothing", 404, "Not Found"),
        ("DELETE", "/api/episode/7", 405, "Method Not Allowed"),
        ("GET", "/api/episode/7?limit=x", 400, "Bad Request"),
        ("GET", "/crash", 500, "Internal Server Error"),
    ]
    for method, path, code, phrase in cases:
        for accept in ("*/*", None, "application/json"):  # requests/curl, urllib, API clients
            headers = {"Accept": accept} if accept else {}
            request = urllib.request.Request(live.base_url + path, method=method, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=10)
            answer = caught.value
            assert answer.code == code and answer.headers["Content-Type"] == "application/json"
            body = json.loads(answer.read())
            assert body["code"] == code and body["message"] == phrase
            assert "hunter2" not in json.dumps(body) and "traceback" not in body
            if code == 405:
                allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
                assert allowed == {"GET", "HEAD", "POST", "OPTIONS"}
            if code == 400:
                assert body["param"] == "limit" and "limit" in body["detail"]
        page = live.request(method, path, headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == code and page.headers["Content-Type"].startswith("text/html")
        assert f"<h1>{code} {phrase}</h1>" in page.text and "hunter2" not in page.text


def test_cors_preflight_and_xmlrpc(live: LiveClient) -> None:
    preflight = live.options(
        "/api/episode/1",
        headers={"Origin": "http://front.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://front.example"
    with xmlrpc.client.ServerProxy(live.base_url + "/rpc") as stub:
        assert stub.add(10000, 5000) == 15000
