"""Errors: was.Error, 500s, tracebacks only in debug, custom error handlers (spec
"HTTP Exception", "Custom Error Handling", "Debugging", "Response All Errors As JSON")."""

from __future__ import annotations

import logging
import sys

import pytest

import atila
from skitai.testing import Client

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def failing(app: atila.Atila) -> atila.Atila:
    @app.route("/crash")
    def crash(was):
        raise ZeroDivisionError("secret detail")

    # compiled here so that pytest does not rewrite the handler's assert statement
    namespace: dict = {}
    exec(compile(GETFILE, "getfile.py", "exec"), namespace)
    app.route("/<filename>")(namespace["getfile"])
    return app


GETFILE = """
def getfile(was, filename):
    assert filename.endswith(".png"), was.Error("400 Not My Fault", "filename must end with png")
    if filename == "none.png":
        raise was.Error("404 Not Found", f"{filename} not exists")
    return filename
"""


def test_was_error_raised_and_asserted(failing: atila.Atila) -> None:
    client = Client(failing)
    assert client.get("/a.png").text == "a.png"
    missing = client.get("/none.png", headers=JSON)
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "Not Found", "detail": "none.png not exists"}
    asserted = client.get("/a.gif", headers=JSON)
    assert asserted.status_code == 400 and asserted.reason == "Not My Fault"
    assert asserted.json()["message"] == "Not My Fault"
    assert asserted.json()["detail"] == "filename must end with png"


def test_default_error_is_html_for_browsers(failing: atila.Atila) -> None:
    response = Client(failing).get("/none.png", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in response.text and "none.png not exists" in response.text


def test_unhandled_exception_is_500_without_traceback_in_production(
    failing: atila.Atila, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(failing)
    with caplog.at_level(logging.ERROR, logger="atila"):
        html = client.get("/crash", headers=HTML)
        data = client.get("/crash", headers=JSON)
    assert html.status_code == data.status_code == 500
    assert "secret detail" not in html.text and "Traceback" not in html.text
    assert "<pre>" not in html.text
    assert data.json() == {"code": 500, "message": "Internal Server Error"}
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert len(logged) == 2


def test_debug_shows_traceback(failing: atila.Atila) -> None:
    failing.debug = True
    client = Client(failing)
    html = client.get("/crash", headers=HTML)
    assert html.status_code == 500 and "<pre>" in html.text and "secret detail" in html.text
    data = client.get("/crash", headers=JSON).json()
    assert data["debug"] == "see traceback"
    assert data["traceback"][0] == "secret detail"
    assert any("function crash" in line for line in data["traceback"])


def test_error_handlers_get_the_error_dict(failing: atila.Atila) -> None:
    seen: list[dict] = []

    @failing.default_error_handler
    def default_error_handler(was, error):
        seen.append(error)
        return "<h1>{code} {message}</h1>".format(**error)

    @failing.error_handler(404)
    def not_found(was, error):
        return f"custom {error['code']} {error['message']}: {error['detail']}"

    client = Client(failing)
    response = client.get("/none.png")
    assert response.status_code == 404
    assert response.text == "custom 404 Not Found: none.png not exists"
    crashed = client.get("/crash")
    assert crashed.status_code == 500 and crashed.text == "<h1>500 Internal Server Error</h1>"
    error = seen[0]
    for key in (
        "code",
        "message",
        "detail",
        "mode",
        "debug",
        "time",
        "url",
        "software",
        "traceback",
        "errno",
    ):
        assert key in error
    assert error["mode"] == "normal" and error["traceback"] is None and error["url"] == "/crash"
    assert client.get("/a.gif").text == "<h1>400 Not My Fault</h1>"
    assert seen[-1]["detail"] == "filename must end with png"


def test_spec_error_handlers_render_reason_phrase_with_detail(app: atila.Atila) -> None:
    """Spec "Custom Error Handling": ``{message}`` is the reason phrase, ``{detail}`` the why."""

    @app.default_error_handler
    def default_error_handler(was, error):
        return "<h1>{code} {message}</h1><p>{detail}</p>".format(**error)

    @app.error_handler(404)
    def not_found(was, error):
        return "<h1>{code} {message}</h1><p>{detail}</p>".format(**error)

    @app.route("/item")
    def item(was):
        raise was.Error("404 Not Found", "no such item")

    @app.route("/photo", methods=["POST"])
    def photo(was, **DATA):
        if not DATA.get("title"):
            raise was.Error("400 Bad Request", "title required")
        return "ok"

    @app.route("/closed")
    def closed(was):
        return was.response.with_explain("404 Not Found", "closed on Thursday")

    client = Client(app)
    assert client.get("/item").text == "<h1>404 Not Found</h1><p>no such item</p>"
    assert client.post("/photo", data={}).text == "<h1>400 Bad Request</h1><p>title required</p>"
    assert client.get("/closed").text == "<h1>404 Not Found</h1><p>closed on Thursday</p>"
    assert client.get("/nothing").text == "<h1>404 Not Found</h1><p>None</p>"


def test_error_handler_sees_traceback_in_debug(failing: atila.Atila) -> None:
    failing.debug = True

    @failing.default_error_handler
    def handler(was, error):
        return was.API(mode=error["mode"], tb=bool(error["traceback"]))

    assert Client(failing).get("/crash").json() == {"mode": "debug", "tb": True}


def test_all_errors_as_json_howto(failing: atila.Atila) -> None:
    @failing.default_error_handler
    def default_error_handler(was, error):
        code = error["errno"] or str(error["code"]) + "00"
        return was.Fault(
            error["message"].lower(), code, None, error["detail"], exc_info=error["traceback"]
        )

    response = Client(failing).get("/none.png")
    assert response.status_code == 404
    assert response.json()["code"] == "40400"


def test_broken_error_handler_falls_back(
    failing: atila.Atila, caplog: pytest.LogCaptureFixture
) -> None:
    @failing.default_error_handler
    def broken(was, error):
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.ERROR, logger="atila"):
        response = Client(failing).get("/none.png", headers=JSON)
    assert response.status_code == 404 and response.json()["detail"] == "none.png not exists"
    assert any("error handler" in r.getMessage() for r in caplog.records)


def test_bodyless_error_response_uses_error_page(app: atila.Atila, client: Client) -> None:
    @app.route("/nf")
    def nf(was):
        return was.response("404 Not Found")

    @app.route("/explain")
    def explain(was):
        return was.response.with_explain("503 Service Unavailable", "Please Visit On Thursday")

    @app.route("/exc")
    def exc(was):
        try:
            raise ValueError("Test Error")
        except ValueError:
            return was.response("500 Internal Server Error", exc_info=sys.exc_info())

    assert client.get("/nf", headers=HTML).status_code == 404
    explained = client.get("/explain", headers=HTML)
    assert explained.status_code == 503 and "Please Visit On Thursday" in explained.text
    shown = client.get("/exc", headers=JSON)
    assert shown.status_code == 500 and "Test Error" in shown.json()["traceback"]


def test_bodyless_error_response_uses_custom_handler(app: atila.Atila, client: Client) -> None:
    @app.error_handler(404)
    def not_found(was, error):
        return f"nothing here ({error['detail']})"

    @app.route("/nf")
    def nf(was):
        return was.response.with_explain("404 Not Found", "gone fishing")

    response = client.get("/nf")
    assert response.status_code == 404 and response.text == "nothing here (gone fishing)"


def test_throw(app: atila.Atila, client: Client) -> None:
    @app.route("/t")
    def t(was):
        was.response.throw("409 Conflict", "taken")

    response = client.get("/t", headers=JSON)
    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "Conflict", "detail": "taken"}


def test_405_and_404_bodies(app: atila.Atila, client: Client) -> None:
    @app.route("/only-get", methods=["GET"])
    def only_get(was):
        return ""

    response = client.post("/only-get", headers=JSON)
    assert response.status_code == 405 and response.json()["code"] == 405
    assert "GET" in response.headers["allow"]
    assert client.get("/none", headers=HTML).text.count("404 Not Found") == 2


# -- HTML for browsers, JSON for everyone else -------------------------------------


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("", False),  # urllib, http.client
        ("*/*", False),  # curl, requests, fetch()
        ("application/json", False),
        ("application/json, text/plain, */*", False),  # axios
        ("application/json, text/html", False),  # a tie goes to JSON
        ("text/html;q=0.5, application/json", False),
        ("application/problem+json", False),
        ("text/html;q=0", False),
        ("text/plain", False),
        ("text/html", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Firefox
        ("application/xhtml+xml", True),
        ("TEXT/HTML", True),
        ("text/html, application/json;q=0.9", True),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    from atila.request import prefers_html

    assert prefers_html(accept) is html


def test_errors_answer_json_without_an_html_accept(app: atila.Atila, client: Client) -> None:
    @app.route("/item", methods=["GET"])
    @app.inspect(ints=["id"])
    def item(was, id=0):
        if id == 500:
            raise RuntimeError("secret")
        return "ok"

    no_accept = {"Accept": ""}
    for method, path, code, phrase in (
        ("GET", "/missing", 404, "Not Found"),
        ("POST", "/item", 405, "Method Not Allowed"),
        ("GET", "/item?id=x", 400, "Bad Request"),
        ("GET", "/item?id=500", 500, "Internal Server Error"),
    ):
        for headers in (no_accept, {"Accept": "*/*"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == code
            assert response.headers["content-type"] == "application/json"
            body = response.json()
            assert body["code"] == code and body["message"] == phrase and "secret" not in str(body)
        page = client.request(method, path, headers=HTML)
        assert page.status_code == code and page.headers["content-type"].startswith("text/html")
        assert f"<h1>{code} {phrase}</h1>" in page.text
    assert client.post("/item").headers["allow"] == "GET, HEAD, OPTIONS"
    assert client.get("/item?id=x").json()["detail"] == "parameter id must be an integer"
