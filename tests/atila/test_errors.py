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
    assert missing.json() == {"code": 404, "message": "none.png not exists"}
    asserted = client.get("/a.gif", headers=JSON)
    assert asserted.status_code == 400 and asserted.reason == "Not My Fault"
    assert asserted.json()["message"] == "filename must end with png"


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
        return "custom 404: " + error["message"]

    client = Client(failing)
    response = client.get("/none.png")
    assert response.status_code == 404 and response.text == "custom 404: none.png not exists"
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
    assert client.get("/a.gif").text == "<h1>400 filename must end with png</h1>"


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
    assert response.status_code == 404 and response.json()["message"] == "none.png not exists"
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
    assert response.status_code == 409 and response.json()["message"] == "taken"


def test_405_and_404_bodies(app: atila.Atila, client: Client) -> None:
    @app.route("/only-get", methods=["GET"])
    def only_get(was):
        return ""

    response = client.post("/only-get", headers=JSON)
    assert response.status_code == 405 and response.json()["code"] == 405
    assert "GET" in response.headers["allow"]
    assert client.get("/none", headers=HTML).text.count("404 Not Found") == 2
