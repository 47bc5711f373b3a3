"""Per-request hooks and autoruns (spec "Registering Per Request Calling Functions",
"Define Autoruns")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import atila
from skitai.testing import Client


@pytest.fixture
def calls(app: atila.Atila) -> list[str]:
    """Register all four hooks; they record their calls here."""
    record: list[str] = []

    @app.before_request
    def before_request(was):
        record.append("before")
        if was.request.ARGS.get("deny"):
            return "Not Authorized"
        return None

    @app.finish_request
    def finish_request(was):
        record.append(f"finish:{app.r.user_id}")

    @app.failed_request
    def failed_request(was, exc_info):
        record.append(f"failed:{exc_info[0].__name__}")
        if was.request.ARGS.get("recover"):
            return was.response("501 Not Implemented", "We're sorry")
        return None

    @app.teardown_request
    def teardown_request(was):
        record.append("teardown")

    @app.route("/view-account")
    def view_account(was, deny=None, recover=None, crash=None):
        app.r.user_id = "jerry"
        record.append("view")
        if crash:
            raise ValueError("crash")
        return "account"

    return record


def test_success_order(client: Client, calls: list[str]) -> None:
    assert client.get("/view-account").text == "account"
    assert calls == ["before", "view", "finish:jerry", "teardown"]


def test_before_request_content_answers(client: Client, calls: list[str]) -> None:
    response = client.get("/view-account?deny=1")
    assert response.status_code == 200 and response.text == "Not Authorized"
    assert calls == ["before", "teardown"]


def test_failure_reraised_is_500(client: Client, calls: list[str]) -> None:
    assert client.get("/view-account?crash=1").status_code == 500
    assert calls == ["before", "view", "failed:ValueError", "teardown"]


def test_failed_request_content_answers(client: Client, calls: list[str]) -> None:
    response = client.get("/view-account?crash=1&recover=1")
    assert response.status_code == 501 and response.text == "We're sorry"
    assert calls == ["before", "view", "failed:ValueError", "teardown"]


def test_http_errors_reach_failed_request(
    app: atila.Atila, client: Client, calls: list[str]
) -> None:
    @app.route("/gone")
    def gone(was):
        raise was.Error("410 Gone")

    assert client.get("/gone").status_code == 410
    assert calls == ["before", "failed:HTTPError", "teardown"]


def test_hooks_skip_unrouted_requests(client: Client, calls: list[str]) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/view-account", headers={}).status_code == 200
    assert calls == ["before", "view", "finish:jerry", "teardown"]


def test_run_before_and_after(app: atila.Atila, client: Client) -> None:
    record: list[str] = []

    def pre1(was):
        record.append("pre1")

    def pre2(was):
        record.append("pre2")
        if was.request.ARGS.get("stop"):
            return "stopped"
        return None

    def post1(was):
        record.append("post1")
        return "ignored"

    @app.route("/")
    @app.run_before(pre1, pre2)
    @app.run_after(post1)
    def index(was, stop=None):
        record.append("index")
        return "index"

    assert client.get("/").text == "index"
    assert record == ["pre1", "pre2", "index", "post1"]
    record.clear()
    assert client.get("/?stop=1").text == "stopped"
    assert record == ["pre1", "pre2"]


def test_autoruns_above_route_decorator(app: atila.Atila, client: Client) -> None:
    record: list[str] = []

    @app.run_before(lambda was: record.append("pre"))
    @app.route("/")
    def index(was):
        record.append("index")
        return "ok"

    assert client.get("/").text == "ok"
    assert record == ["pre", "index"]


def test_if_file_modified(app: atila.Atila, client: Client, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("v1")
    reloads: list[str] = []

    def reload_config(was, path):
        reloads.append(Path(path).read_text())

    @app.route("/")
    @app.if_file_modified(str(config), reload_config, interval=0)
    def index(was):
        return "ok"

    assert client.get("/").text == "ok"
    assert reloads == []
    config.write_text("v2")
    os.utime(config, (1_000_000, 1_000_000))
    client.get("/")
    client.get("/")
    assert reloads == ["v2"]
