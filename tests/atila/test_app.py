"""The app object: options, config, preference, parameters, inspections, ``was``,
storage, piping, logging, expose_spec, XML-RPC, and running under another WSGI server."""

from __future__ import annotations

import json
import logging
import re
import threading
import xmlrpc.client
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

import atila
import skitai
from atila import was as was_proxy
from skitai.testing import Client

# -- options and configuration ---------------------------------------------------


def test_default_options_and_config(app: atila.Atila) -> None:
    assert app.debug is False and app.use_reloader is False
    assert app.securekey is None and app.session_timeout is None
    assert app.authenticate is None and app.realm is None and app.users == {}
    assert app.access_control_allow_origin is None and app.access_control_max_age == 0
    assert app.expose_spec is False and app.enable_namespace is True
    assert app.config.MAX_UPLOAD_SIZE == 256 * 1024 * 1024
    assert app.config.STATIC_URL == "/"
    assert app.config.MEDIA_URL == "/media/"
    assert app.config.MINIFY_HTML is None
    assert app.config.JSON_ENCODER == "utcoffset"
    assert app.config.PRETTY_JSON is False
    app.config.my_setting = 1
    assert app.config["my_setting"] == 1


def test_apply_preference_overrides(app: atila.Atila) -> None:
    with skitai.preference() as pref:
        pref.debug = True
        pref.use_reloader = True
        pref.securekey = "s3cret"
        pref.access_control_allow_origin = ["*"]
        pref.config["prefA"] = 1
        pref.config.prefB = 2
        pref.set_static("/static", "/tmp/static")
        pref.route = "not a method override"
    app.apply_preference(pref)
    assert app.debug is True and app.use_reloader is True and app.securekey == "s3cret"
    assert app.access_control_allow_origin == ["*"]
    assert app.config.prefA == 1 and app.config.prefB == 2
    assert app.config.STATIC_URL == "/static" and app.config.STATIC_ROOT == "/tmp/static"
    assert app.config.MEDIA_URL == "/media/"  # untouched defaults stay
    assert callable(app.route)


def test_app_is_a_skitai_routable_configurable_app(app: atila.Atila) -> None:
    from skitai.types import ConfigurableApp, RoutableApp

    assert isinstance(app, RoutableApp) and isinstance(app, ConfigurableApp)


def test_app_test_client(app: atila.Atila) -> None:
    @app.route("/")
    def index(was):
        return "hi"

    assert app.test_client().get("/").text == "hi"


# -- parameters --------------------------------------------------------------------


def test_query_params_bind_to_arguments(app: atila.Atila, client: Client) -> None:
    @app.route("/hello")
    def hello(was, num=8):
        return f"{num}"

    assert client.get("/hello").text == "8"
    assert client.get("/hello?num=100").text == "100"


def test_unexpected_parameter_is_400_naming_it(app: atila.Atila, client: Client) -> None:
    @app.route("/hello")
    def hello(was, num=8):
        return f"{num}"

    response = client.get("/hello?num=1&other=2")
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Bad Request" and body["param"] == "other"
    assert body["detail"] == "unexpected parameter: other"
    assert response.headers["content-type"] == "application/json"


def test_missing_parameter_is_400(app: atila.Atila, client: Client) -> None:
    @app.route("/add")
    def add(was, num1, num2):
        return str(int(num1) + int(num2))

    assert client.get("/add?num1=1&num2=2").text == "3"
    response = client.get("/add?num1=1")
    assert response.status_code == 400 and response.json()["param"] == "num2"


def test_kwargs_take_query_and_body(app: atila.Atila, client: Client) -> None:
    @app.route("/episode/<int:id>", methods=["POST"])
    def episode(was, id, topic, **karg):
        return was.API(id=id, topic=topic, rest=karg)

    data = client.post("/episode/1?topic=Py&x=1", json={"comment": "c"}).json()
    assert data == {"id": 1, "topic": "Py", "rest": {"x": "1", "comment": "c"}}


def test_handler_without_was_uses_proxy(app: atila.Atila, client: Client) -> None:
    @app.route("/plain/<name>")
    def plain(name):
        return f"{name} {was_proxy.request.method} {atila.current_was().request.path}"

    assert client.get("/plain/x").text == "x GET /plain/x"


def test_was_outside_request_raises(app: atila.Atila) -> None:
    with pytest.raises(atila.OutsideRequestError):
        atila.current_was()
    with pytest.raises(atila.OutsideRequestError):
        was_proxy.request  # noqa: B018
    with pytest.raises(atila.OutsideRequestError):
        app.r.user  # noqa: B018


# -- inspections -------------------------------------------------------------------


def test_inspect_required_and_ints(app: atila.Atila, client: Client) -> None:
    @app.route("/test")
    @app.inspect("ARGS", ["id"], ints=["id"])
    def test(was, id):
        return f"{type(id).__name__}:{id}:{type(was.request.ARGS['id']).__name__}"

    assert client.get("/test?id=5").text == "int:5:int"
    missing = client.get("/test")
    assert missing.status_code == 400 and missing.json()["param"] == "id"
    bad = client.get("/test?id=x")
    assert bad.status_code == 400 and bad.json()["param"] == "id"
    page = client.get("/test?id=x", headers={"Accept": "text/html"})  # a browser
    assert page.status_code == 400 and "parameter id must be an integer" in page.text


def test_inspect_scopes_by_method(app: atila.Atila, client: Client) -> None:
    @app.route("/1", methods=["GET", "PUT"])
    @app.inspect("GET", ints=["offset", "limit"])
    @app.inspect("PUT", ["id"])
    def index6(was, offset=0, limit=10, **DATA):
        if was.request.method == "PUT":
            return f"put {DATA['id']}"
        return f"{limit!r} {offset!r}"

    assert client.get("/1?limit=100").text == "100 0"
    assert client.get("/1?limit=x").status_code == 400
    assert client.put("/1", json={"id": 3}).text == "put 3"
    assert client.put("/1", json={"x": 3}).status_code == 400
    assert client.put("/1?limit=x", json={"id": 3}).status_code == 200  # GET rules only


def test_inspect_type_specs_and_operators(app: atila.Atila, client: Client) -> None:
    @app.route("/t/<int:id>")
    @app.inspect(offset=int)
    @app.require("ARGS", a__gte=5, name=re.compile("^hans"))
    def typed(was, id, offset, a=5, name="hans"):
        return f"{offset + 1} {a}"

    assert client.get("/t/1?offset=4&a=7&name=hansroh").text == "5 7"
    assert client.get("/t/1?offset=4&a=3").status_code == 400
    assert client.get("/t/1?offset=4&name=bob").json()["param"] == "name"


def test_inspect_json_scope(app: atila.Atila, client: Client) -> None:
    @app.route("/pets/<kind>", methods=["POST"])
    @app.inspect("JSON", ["area"])
    def pets(was, kind, limit, offset=0, **JSON):
        return f"{kind} {limit} {offset} {JSON['area']}"

    assert client.post("/pets/dog?limit=10", json={"area": "LA"}).text == "dog 10 0 LA"
    response = client.post("/pets/dog?limit=10&area=LA", json={"x": 1})
    assert response.status_code == 400 and response.json()["param"] == "area"


# -- storage -------------------------------------------------------------------------


def test_app_r_is_per_request(app: atila.Atila, client: Client) -> None:
    @app.route("/set")
    def set_(was):
        app.r.user_id = "jerry"
        return app.r.user_id

    @app.route("/get")
    def get(was):
        return str(app.r.get("user_id"))

    assert client.get("/set").text == "jerry"
    assert client.get("/get").text == "None"


def test_app_g_and_store_thread_safe(app: atila.Atila, client: Client) -> None:
    app.store.set("total-user", 0)
    app.g.visits = 0

    @app.route("/visit")
    def visit(was):
        total = app.store.get("total-user")
        app.store.set("total-user", total + 1)
        was.g.inc("visits")
        return str(app.store["total-user"])

    assert client.get("/visit").text == "1"
    threads = [
        threading.Thread(target=lambda: [app.g.inc("n") for _ in range(1000)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert app.g.n == 4000 and app.g["visits"] == 1
    assert "total-user" in app.store and len(app.store) == 1


# -- piping, logging -----------------------------------------------------------------


def test_pipe(app: atila.Atila, client: Client) -> None:
    @app.route("/1")
    @app.inspect(offset=int)
    def index(was, offset=1):
        return was.API(result=offset)

    @app.route("/2")
    def index2(was):
        return was.pipe(index)

    @app.route("/3")
    def index3(was):
        return was.pipe(index, offset=4)

    @app.route("/4")
    def index4(was):
        return was.pipe("index", offset="t")

    @app.route("/5")
    def index5(was):
        return was.pipe("index", "7")

    assert client.get("/2").json() == {"result": 1}
    assert client.get("/3").json() == {"result": 4}
    assert client.get("/4").status_code == 400
    assert client.get("/5").json() == {"result": 7}


def test_log_and_traceback(
    app: atila.Atila, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    def index(was):
        was.log("called index", "info")
        was.log("custom category", "metrics")
        try:
            raise ValueError("boom")
        except ValueError:
            was.log("exception occured", "error")
            ident = was.traceback()
        return ident

    with caplog.at_level(logging.DEBUG, logger="atila"):
        ident = client.get("/").text
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", "called index") in messages
    assert ("INFO", "[metrics] custom category") in messages
    assert ("ERROR", "exception occured") in messages
    traced = [r for r in caplog.records if r.getMessage() == f"[{ident}] traceback"]
    assert traced and traced[0].exc_info is not None and traced[0].exc_info[0] is ValueError


# -- expose_spec -----------------------------------------------------------------------


def test_expose_spec_only_to_loopback(app: atila.Atila, call_wsgi: Any) -> None:
    app.expose_spec = True

    @app.route("/isitok/<code>/<type>", methods=["GET", "POST", "PATCH", "OPTIONS"])
    @app.inspect(ints=["n"])
    def isitok(was, code, type, n=0):
        """Say it is ok."""
        return was.API(result="ok")

    status, _, body = call_wsgi(app, "GET", "/isitok/a/b")
    data = json.loads(body)
    assert data["result"] == "ok"
    spec = data["__spec__"]
    assert spec["id"] == "isitok"
    assert spec["routeopt"]["route"] == "/isitok/<code>/<type>"
    assert spec["routeopt"]["args"] == ["code", "type", "n"]
    assert spec["routeopt"]["urlargs"] == 2
    assert spec["routeopt"]["methods"] == ["GET", "POST", "PATCH", "OPTIONS"]
    assert spec["parameter_requirements"] == {"ARGS": {"ints": ["n"]}}
    assert spec["doc"] == "Say it is ok."
    assert spec["current_request"] == {
        "http_method": "GET",
        "http_version": "1.1",
        "uri": "/isitok/a/b",
    }
    _, _, remote = call_wsgi(app, "GET", "/isitok/a/b", environ={"REMOTE_ADDR": "10.0.0.5"})
    assert json.loads(remote) == {"result": "ok"}


def test_expose_spec_off_by_default(app: atila.Atila, client: Client) -> None:
    @app.route("/")
    def index(was):
        return was.API(result="ok")

    assert client.get("/").json() == {"result": "ok"}


# -- XML-RPC ------------------------------------------------------------------------------


def test_xmlrpc_call_routes_to_method(app: atila.Atila) -> None:
    @app.route("/add")
    def add(was, num1, num2):
        return num1 + num2

    @app.route("/math/mul")
    def mul(was, a, b):
        return was.API(result=a * b)

    @app.route("/fail")
    def fail(was):
        raise was.Error("403 Forbidden", "nope")

    rpc = Client(app, script_name="/rpc")
    headers = {"Content-Type": "text/xml"}

    def call(method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps(params, method).encode()
        response = rpc.post("/rpc", data=body, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        return xmlrpc.client.loads(response.content)[0][0]

    assert call("add", 10000, 5000) == 15000
    assert call("math.mul", 3, 4) == {"result": 12}
    with pytest.raises(xmlrpc.client.Fault) as fault:
        call("fail")
    assert fault.value.faultCode == 403 and fault.value.faultString == "nope"


def test_xml_post_without_rpc_target_routes_normally(app: atila.Atila, client: Client) -> None:
    @app.route("/raw", methods=["POST"], content_types=["text/xml"])
    def raw(was):
        return str(len(was.request.body))

    body = xmlrpc.client.dumps((1,), "nothing").encode()
    response = client.post("/raw", data=body, headers={"Content-Type": "text/xml"})
    assert response.text == str(len(body))


# -- any WSGI server -------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def wsgiref_url(app: atila.Atila) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_runs_under_wsgiref(app: atila.Atila, wsgiref_url: str) -> None:
    @app.route("/hello/<name>")
    def hello(was, name, n=1):
        return was.API(hello=name, n=n)

    @app.route("/stream")
    def stream(was):
        def chunks():
            for i in range(3):
                yield f"{i}:{was.request.path};"

        return was.response("200 OK", chunks(), headers=[("Content-Type", "text/plain")])

    response = requests.get(f"{wsgiref_url}/hello/you?n=2", timeout=5)
    assert response.status_code == 200 and response.json() == {"hello": "you", "n": "2"}
    assert requests.get(f"{wsgiref_url}/stream", timeout=5).text == "0:/stream;1:/stream;2:/stream;"
    assert requests.get(f"{wsgiref_url}/missing", timeout=5).status_code == 404
