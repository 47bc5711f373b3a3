"""The how-to guides' examples that need no server, called with the in-process client.

Each test names the file it runs (``docs/examples/<name>``) and asserts what the
guide says the example does.
"""

from __future__ import annotations

from typing import Any

import pytest
from docs_examples import load_example

from skitai.testing import Client


@pytest.fixture(scope="module")
def parameters() -> Client:
    return Client(load_example("parameters.py").app)


def test_parameters_annotations(parameters: Client) -> None:
    assert parameters.get("/search?q=cats").json() == {"q": "cats", "limit": 10}
    assert parameters.get("/search?q=cats&limit=3").json()["limit"] == 3
    wrong = parameters.get("/search?q=cats&limit=many")
    assert wrong.status_code == 400 and wrong.json()["param"] == "limit"
    missing = parameters.get("/search")
    assert missing.status_code == 400 and missing.json()["param"] == "q"
    unexpected = parameters.get("/search?q=cats&sort=new")
    assert unexpected.status_code == 400 and unexpected.json()["param"] == "sort"


def test_parameters_inspect(parameters: Client) -> None:
    created = parameters.post("/photos", data={"title": "Sunset", "rating": "5"})
    assert created.status_code == 201 and created.json() == {"title": "Sunset", "rating": 5}
    as_json = parameters.post("/photos", json={"title": "Dawn"})
    assert as_json.status_code == 201 and as_json.json()["rating"] == 3
    for body in ({"title": ""}, {"title": "x" * 201}, {"title": "Sunset", "rating": "9"}):
        refused = parameters.post("/photos", data=body)
        assert refused.status_code == 400, body
        assert refused.json()["param"] in ("title", "rating")


def test_parameters_path_converter(parameters: Client) -> None:
    assert parameters.get("/photos/42").json() == {"id": 42, "type": "int"}
    assert parameters.get("/photos/forty-two").status_code == 404


def test_errors_as_json_or_html() -> None:
    client = Client(load_example("errors.py").app)
    missing = client.get("/photos/7")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/json")
    assert missing.json() == {"code": 404, "message": "Not Found", "detail": "no photo 7"}
    browser = client.get("/photos/7", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 404 and browser.headers["Content-Type"].startswith("text/html")
    assert client.get("/photos/1").json() == {"id": 1, "title": "Sunset"}


def test_errors_unhandled_exception_is_a_json_500(caplog: Any) -> None:
    client = Client(load_example("errors.py").app)
    crashed = client.get("/crash")
    assert crashed.status_code == 500
    body = crashed.json()
    assert body["code"] == 500 and "traceback" not in body
    assert "something went wrong" in caplog.text


def test_errors_custom_handler() -> None:
    client = Client(load_example("errors.py").legacy)
    assert client.get("/").text == "legacy index\n"
    answer = client.get("/nowhere")
    assert answer.status_code == 404 and answer.text.startswith("nothing here: ")


def test_sessions_login_me_logout() -> None:
    client = Client(load_example("sessions.py").app)
    assert client.get("/me").status_code == 401
    wrong = client.post("/login", data={"username": "alice", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    assert client.post("/login", data={"username": "nobody", "password": ""}).status_code == 401
    login = client.post("/login", data={"username": "alice", "password": "alice-pass-1"})
    assert login.status_code == 200
    assert "HttpOnly" in login.headers["Set-Cookie"]
    assert client.get("/me").json() == {"username": "alice"}
    assert client.post("/logout").status_code == 200
    assert client.get("/me").status_code == 401


def test_templates_page() -> None:
    client = Client(load_example("templates/app.py").app)
    page = client.get("/", headers={"Host": "photos.example"})
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Photos at photos.example</title>" in page.text  # the global, in base.html
    assert "<li>Sunset: 1.2k likes</li>" in page.text  # the filter
    assert "<li>&lt;b&gt;Dawn&lt;/b&gt;: 7 likes</li>" in page.text  # autoescaped


def test_migrating_example() -> None:
    client = Client(load_example("migrating.py").app)
    created = client.post("/notes", data={"text": "buy milk"})
    assert created.status_code == 201 and created.json() == {"id": 1, "url": "/notes/1"}
    assert created.headers["Server-Timing"].startswith("app;dur=")
    assert client.post("/notes", json={"text": "call Bob"}).json()["id"] == 2
    assert client.get("/notes/1").json() == {"id": 1, "text": "buy milk"}
    assert client.get("/notes/9").json()["detail"] == "no note 9"
    assert [note["text"] for note in client.get("/notes").json()["notes"]] == [
        "buy milk", "call Bob"
    ]  # fmt: skip
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/notes")
    assert client.post("/notes", data={}).status_code == 400
