"""Routing (spec "Routing", "Getting URL Parameters"): patterns, methods, content types,
the "" vs "/" rules, unroute, has_route and the indexed matcher."""

from __future__ import annotations

import pytest

import atila
from atila.routing import Match, NoMatch, Route, RouteTable, compile_route
from skitai.testing import Client


def test_static_route_answers(app: atila.Atila, client: Client) -> None:
    @app.route("/hello")
    def hello(was):
        return "Hello, World"

    response = client.get("/hello")
    assert response.status_code == 200
    assert response.text == "Hello, World"
    assert response.headers["content-type"].startswith("text/html")
    assert client.get("/nothing").status_code == 404


def test_string_param(app: atila.Atila, client: Client) -> None:
    @app.route("/pets/<kind>")
    def pets(was, kind):
        return f"{type(kind).__name__}:{kind}"

    assert client.get("/pets/dog").text == "str:dog"
    assert client.get("/pets/hot_dog").text == "str:hot_dog"  # "_" is not turned back into " "
    assert client.get("/pets/caf%C3%A9").text == "str:café"
    assert client.get("/pets/dog/extra").status_code == 404
    assert client.get("/pets/").status_code == 404


def test_int_param_digits_and_keywords(app: atila.Atila, client: Client) -> None:
    @app.route("/episode/<int:id>")
    def episode(was, id):
        return f"{type(id).__name__}:{id}"

    assert client.get("/episode/100").text == "int:100"
    for word in ("me", "notme", "new"):
        assert client.get(f"/episode/{word}").text == f"str:{word}"
    assert client.get("/episode/abc").status_code == 404
    assert client.get("/episode/-1").status_code == 404


def test_float_and_path_params(app: atila.Atila, client: Client) -> None:
    @app.route("/download/<int:major_ver>/<path:path>")
    def download(was, major_ver, path):
        return f"{major_ver}|{path}"

    @app.route("/scale/<float:factor>")
    def scale(was, factor):
        return repr(factor)

    assert client.get("/download/1/version/1.1/win32").text == "1|version/1.1/win32"
    assert client.get("/scale/1.5").text == "1.5"
    assert client.get("/download/1").status_code == 404


def test_url_params_reach_kwargs_and_args(app: atila.Atila, client: Client) -> None:
    @app.route("/episode/<int:id>")
    def episode(was, **karg):
        return f"{karg['id']}|{was.request.ARGS.get('id')}|{was.request.PARAMS['id']}"

    assert client.get("/episode/100").text == "100|100|100"


def test_default_makes_trailing_param_optional(app: atila.Atila, client: Client) -> None:
    @app.route("/episode/<int:id>", methods=["GET", "POST"])
    def episode(was, id=None):
        return f"id={id}"

    assert client.get("/episode").text == "id=None"
    assert client.get("/episode/7").text == "id=7"
    assert client.get("/episode/").status_code == 404


def test_several_trailing_optional_params(app: atila.Atila, client: Client) -> None:
    @app.route("/a/<x>/<int:y>")
    def a(was, x="X", y=0):
        return f"{x},{y}"

    assert client.get("/a").text == "X,0"
    assert client.get("/a/q").text == "q,0"
    assert client.get("/a/q/3").text == "q,3"


def test_optional_root_param_does_not_match_root(app: atila.Atila, client: Client) -> None:
    @app.route("/<int:id>")
    def episode(was, id=None):
        return f"id={id}"

    assert client.get("/5").text == "id=5"
    assert client.get("/").status_code == 404
    assert not app.has_route("/")


def test_methods_405_with_allow(app: atila.Atila, client: Client) -> None:
    @app.route("/hello", methods=["GET"])
    def hello(was):
        return "hi"

    assert client.head("/hello").status_code == 200
    response = client.post("/hello")
    assert response.status_code == 405
    allow = {m.strip() for m in response.headers["allow"].split(",")}
    assert allow == {"GET", "HEAD", "OPTIONS"}


def test_same_path_different_methods(app: atila.Atila, client: Client) -> None:
    @app.route("/item", methods=["GET"])
    def read(was):
        return "read"

    @app.route("/item", methods=["POST"])
    def create(was):
        return "create"

    assert client.get("/item").text == "read"
    assert client.post("/item").text == "create"
    response = client.delete("/item")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}


def test_default_methods_allow_all(app: atila.Atila, client: Client) -> None:
    @app.route("/any")
    def anything(was):
        return was.request.method

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/any").text == method


def test_content_types_415(app: atila.Atila, client: Client) -> None:
    @app.route("/xml", methods=["POST", "GET"], content_types=["text/xml"])
    def xml(was):
        return "ok"

    ok = client.post("/xml", data=b"<a/>", headers={"Content-Type": "text/xml; charset=utf-8"})
    assert ok.status_code == 200
    bad = client.post("/xml", json={"a": 1})
    assert bad.status_code == 415
    assert client.get("/xml").status_code == 200  # no body, nothing to refuse


def test_several_routes_on_one_function(app: atila.Atila, client: Client) -> None:
    @app.route("/hello", methods=["POST"])
    @app.route("/")
    def hello_world(was):
        return "hello " + was.request.routable["route"]

    assert client.get("/").text == "hello /"
    assert client.post("/hello").text == "hello /hello"
    assert client.get("/hello").status_code == 405


def test_empty_route_at_sub_mount(app: atila.Atila) -> None:
    @app.route("")
    def index(was):
        return "index"

    sub = Client(app, script_name="/sub")
    assert sub.get("/sub").text == "index"
    assert sub.get("/sub/").status_code == 404


def test_slash_route_redirects_mount_point(app: atila.Atila) -> None:
    @app.route("/")
    def index(was):
        return "index"

    sub = Client(app, script_name="/sub")
    response = sub.get("/sub?x=1")
    assert response.status_code == 301
    assert response.headers["location"] == "/sub/?x=1"
    assert sub.get("/sub/").text == "index"


def test_empty_route_at_root_mount(app: atila.Atila, client: Client) -> None:
    @app.route("")
    def index(was):
        return "index"

    assert client.get("/").text == "index"


def test_unroute_blocks_with_status(app: atila.Atila, client: Client) -> None:
    @app.route("/examples/<name>")
    def example(was, name):
        return name

    @app.route("/secret/<name>")
    def secret(was, name):
        return name

    app.unroute("/examples/*", 404)
    app.unroute("/secret/*", 403)
    assert client.get("/examples/a").status_code == 404
    assert client.get("/secret/a").status_code == 403


def test_has_route(app: atila.Atila) -> None:
    @app.route("/api/<int:id>", methods=["POST"])
    def api(was, id):
        return ""

    @app.route("/")
    def index(was):
        return ""

    assert app.has_route("/api/3")  # any method
    assert app.has_route("/")
    assert app.has_route("")  # redirected to "/"
    assert not app.has_route("/api/x")
    assert not app.has_route("/style.css")


def test_route_registration_frozen_after_first_request(app: atila.Atila, client: Client) -> None:
    @app.route("/")
    def index(was):
        return ""

    client.get("/")
    with pytest.raises(RuntimeError, match="after the app started"):

        @app.route("/late")
        def late(was):
            return ""


def test_bad_patterns_rejected() -> None:
    with pytest.raises(ValueError, match="unknown parameter type"):
        compile_route("/<uuid:x>", None)
    with pytest.raises(ValueError, match="twice"):
        compile_route("/<x>/<x>", None)
    with pytest.raises(ValueError, match="malformed"):
        compile_route("/<x", None)


def test_matching_is_indexed_not_a_linear_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    table = RouteTable()
    for number in range(2000):
        table.add(compile_route(f"/r{number}/<int:id>", f"h{number}"))
        table.add(compile_route(f"/s{number}", f"s{number}"))
    table.add(compile_route("/<name>/last", "last"))
    calls: list[str] = []
    original = Route.match

    def counting(self: Route, path: str) -> object:
        calls.append(self.pattern)
        return original(self, path)

    monkeypatch.setattr(Route, "match", counting)
    found = table.resolve("/r1500/3", "GET")
    assert isinstance(found, Match)
    assert found.route.handler == "h1500" and found.params == {"id": 3}
    assert len(calls) <= 2
    calls.clear()
    assert isinstance(table.resolve("/s1999", "GET"), Match)
    assert calls == []
    assert isinstance(table.resolve("/zzz/last", "GET"), Match)
    assert isinstance(table.resolve("/zzz/nope", "GET"), NoMatch)
