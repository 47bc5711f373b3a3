"""``was.request`` (spec "Request", "Getting Parameters", "Access Environment Variables")."""

from __future__ import annotations

import json
from typing import Any

import pytest

import atila
from skitai.testing import Client


def test_request_line_attributes(app: atila.Atila, client: Client) -> None:
    @app.route("/info/<name>")
    def info(was, name, **kw):
        r = was.request
        return was.API(
            method=r.method,
            command=r.command,
            uri=r.uri,
            version=r.version,
            scheme=r.scheme,
            get_scheme=r.get_scheme(),
            remote=r.get_remote_addr(),
            split=list(r.split_uri()),
            env_is_environ=r.env is was.env and r.env["REQUEST_METHOD"] == r.method,
        )

    data = client.get("/info/x?a=1&b=2").json()
    assert data["method"] == "GET" and data["command"] == "get"
    assert data["uri"] == "/info/x?a=1&b=2"
    assert data["version"] == "1.1"
    assert data["scheme"] == data["get_scheme"] == "http"
    assert data["remote"] == "127.0.0.1"
    assert data["split"] == ["/info/x", None, "?a=1&b=2", None]
    assert data["env_is_environ"] is True


def test_uri_includes_mount_point(app: atila.Atila) -> None:
    @app.route("/x")
    def x(was, **kw):
        return was.request.uri

    assert Client(app, script_name="/v1").get("/v1/x?q=1").text == "/v1/x?q=1"


def test_headers_case_insensitive(app: atila.Atila, client: Client) -> None:
    @app.route("/h", methods=["POST"])
    def h(was):
        r = was.request
        return was.API(
            a=r.headers["x-trace"],
            b=r.headers["X-TRACE"],
            c=r.get_header("X-Trace"),
            missing=r.get_header("x-none", "dflt"),
            ua=r.get_user_agent(),
            ctype=r.get_content_type(),
            main=r.get_main_type(),
            sub=r.get_sub_type(),
            listed=dict(r.get_headers())["X-Trace"],
            has="x-trace" in r.headers,
        )

    data = client.post(
        "/h",
        json={},
        headers={
            "X-Trace": "t1",
            "User-Agent": "ua/1",
            "Content-Type": "application/json; charset=utf-8",
        },
    ).json()
    assert data["a"] == data["b"] == data["c"] == data["listed"] == "t1"
    assert data["missing"] == "dflt"
    assert data["ua"] == "ua/1"
    assert (data["ctype"], data["main"], data["sub"]) == ("application/json", "application", "json")
    assert data["has"] is True


def test_acceptables(app: atila.Atila, client: Client) -> None:
    @app.route("/a")
    def a(was):
        r = was.request
        return was.API(
            acceptables=r.acceptables,
            json=r.acceptable("application/json"),
            html=r.acceptable("text/html"),
            png=r.acceptable("image/png"),
        )

    data = client.get("/a", headers={"Accept": "text/html;q=0.9, application/json"}).json()
    assert list(data["acceptables"]) == ["application/json", "text/html"]
    assert data["acceptables"]["text/html"] == {"q": "0.9"}
    assert data["json"] and data["html"] and not data["png"]
    wildcard = client.get("/a", headers={"Accept": "image/*"}).json()
    assert wildcard["png"] and not wildcard["json"]
    assert client.get("/a").json()["png"] is True  # no Accept: anything goes


def test_body_json_form_dict(app: atila.Atila, client: Client) -> None:
    @app.route("/b", methods=["POST"])
    def b(was, **data):
        r = was.request
        return was.API(
            body=r.body.decode(),
            get_body=r.get_body().decode(),
            json=r.JSON,
            form=r.FORM,
            data=r.DATA,
            dict=r.dict(),
        )

    as_json = client.post("/b", json={"a": 1}).json()
    assert as_json["body"] == as_json["get_body"] == '{"a": 1}'
    assert as_json["json"] == as_json["data"] == as_json["dict"] == {"a": 1}
    assert as_json["form"] == {}
    as_form = client.post("/b", data={"a": "1", "b": ["x", "y"]}).json()
    assert as_form["form"] == as_form["data"] == {"a": "1", "b": ["x", "y"]}
    assert as_form["json"] == {}


def test_json_and_form_methods(app: atila.Atila, client: Client) -> None:
    @app.route("/m", methods=["POST"])
    def m(was):
        return was.API(json=was.request.json(), form=was.request.form())

    assert client.post("/m", json=[1, 2]).json() == {"json": [1, 2], "form": {}}


def test_bad_json_body_is_400(app: atila.Atila, client: Client) -> None:
    @app.route("/j", methods=["POST"])
    def j(was, **data):
        return "never"

    response = client.post("/j", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "invalid JSON body" in response.json()["detail"]


def _nested(depth: int) -> bytes:
    """``{"a": [[...]]}`` with ``depth`` levels of arrays and objects in all."""
    return b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_json_nested_too_deep_is_400(app: atila.Atila, client: Client) -> None:
    @app.route("/j", methods=["POST"])
    def j(was, **data):
        return was.API(keys=sorted(data), raw=was.request.json() is not None)

    @app.route("/f", methods=["POST"])
    def f(was, **data):
        return was.API(keys=sorted(data))

    json_type = {"Content-Type": "application/json"}
    for depth in (101, 100_000):
        response = client.post("/j", data=_nested(depth), headers=json_type)
        assert response.status_code == 400
        assert response.json()["detail"] == "JSON body nested deeper than 100 levels"
    fine = client.post("/j", data=_nested(100), headers=json_type)
    assert fine.status_code == 200 and fine.json() == {"keys": ["a"], "raw": True}
    # brackets inside strings are text, not nesting
    text = client.post("/j", json={"a": "[" * 5000, "b": '\\"' + "{" * 500})
    assert text.status_code == 200 and text.json()["keys"] == ["a", "b"]
    form = client.post("/f", data={"a": "[" * 5000, "b": "x"})
    assert form.status_code == 200 and form.json()["keys"] == ["a", "b"]


def test_json_depth_limit_is_configurable(app: atila.Atila, client: Client) -> None:
    app.config.MAX_JSON_DEPTH = 3

    @app.route("/j", methods=["POST"])
    def j(was, **data):
        return "ok"

    json_type = {"Content-Type": "application/json"}
    assert client.post("/j", data=_nested(3), headers=json_type).text == "ok"
    refused = client.post("/j", data=_nested(4), headers=json_type)
    assert refused.status_code == 400
    assert refused.json()["detail"] == "JSON body nested deeper than 3 levels"


def test_body_over_upload_limit_is_413(app: atila.Atila, client: Client) -> None:
    app.config.MAX_UPLOAD_SIZE = 10

    @app.route("/u", methods=["POST"])
    def u(was, **data):
        return "never"

    assert client.post("/u", data={"a": "x" * 50}).status_code == 413
    assert client.post("/u", data={"a": "x"}).status_code == 200


def test_parameter_groups(app: atila.Atila, client: Client) -> None:
    @app.route("/episode/<int:id>", methods=["POST"])
    def episode(was, id, topic, comment, limit=10):
        r = was.request
        return was.API(
            PARAMS=r.PARAMS,
            URL=r.URL,
            FORM=r.FORM,
            JSON=r.JSON,
            DATA=r.DATA,
            DEFAULT=r.DEFAULT,
            ARGS=r.ARGS,
            args_is_ARGS=r.args is r.ARGS,
            attr=r.args.topic,
        )

    data = client.post("/episode/100?topic=Python", json={"comment": "good"}).json()
    assert data["PARAMS"] == {"id": 100}
    assert data["URL"] == {"id": 100, "topic": "Python"}
    assert data["FORM"] == {}
    assert data["JSON"] == data["DATA"] == {"comment": "good"}
    assert data["DEFAULT"] == {"limit": 10}
    assert data["ARGS"] == {"id": 100, "topic": "Python", "comment": "good", "limit": 10}
    assert data["args_is_ARGS"] is True
    assert data["attr"] == "Python"


def test_args_duplicates_and_body_priority(app: atila.Atila, client: Client) -> None:
    @app.route("/d", methods=["GET", "POST"])
    def d(was, **kw):
        return was.API(args=was.request.args)

    assert client.get("/d?a=1&a=2").json()["args"] == {"a": ["1", "2"]}
    # form data has priority over the query string value of the same name
    assert client.post("/d?a=1", data={"a": "2"}).json()["args"] == {"a": "2"}


def test_routed_and_routable(app: atila.Atila, client: Client) -> None:
    @app.route("/r", methods=["POST", "OPTIONS"], content_types=["application/json"], flag=1)
    def routed_handler(was, **kw):
        r = was.request
        return was.API(
            routed=r.routed.__name__, same=r.routed is routed_handler, routable=r.routable
        )

    data = client.post("/r", json={}).json()
    assert data["routed"] == "routed_handler" and data["same"] is True
    routable = data["routable"]
    assert routable["methods"] == ["POST", "OPTIONS"]
    assert routable["content_types"] == ["application/json"]
    assert routable["options"] == {"flag": 1}
    assert "mntopt" in routable


def test_env_alias(app: atila.Atila, client: Client) -> None:
    @app.route("/e")
    def e(was):
        return str("HTTP_USER_AGENT" in was.request.env) + was.env.get("HTTP_USER_AGENT", "")

    assert client.get("/e", headers={"User-Agent": "probe"}).text == "Trueprobe"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", "application/json"), (b"", "")],
)
def test_empty_bodies(app: atila.Atila, client: Client, body: bytes, content_type: str) -> None:
    @app.route("/empty", methods=["POST"])
    def empty(was, **kw):
        return json.dumps({"data": was.request.DATA, "json": was.request.json()})

    headers: dict[str, Any] = {"Content-Type": content_type} if content_type else {}
    response = client.post("/empty", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": {}, "json": None}
