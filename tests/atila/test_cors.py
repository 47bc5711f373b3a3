"""CORS and preflight (spec "CORS (Cross Origin Resource Sharing) and Preflight")."""

from __future__ import annotations

import atila
from skitai.testing import Client

ORIGIN = "http://www.skitai.com:5001"


def _preflight(client: Client, path: str, origin: str = ORIGIN, method: str = "POST") -> object:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "Content-Type, X-Token",
        },
    )


def test_app_level_listed_origin(app: atila.Atila, client: Client) -> None:
    app.access_control_allow_origin = [ORIGIN]
    app.access_control_max_age = 3600
    hits: list[str] = []

    @app.route("/post", methods=["POST", "OPTIONS"])
    def post(was):
        hits.append(was.request.method)
        return was.API(ok=True)

    response = _preflight(client, "/post")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert {m.strip() for m in response.headers["access-control-allow-methods"].split(",")} == {
        "POST",
        "OPTIONS",
    }
    assert response.headers["access-control-allow-headers"] == "Content-Type, X-Token"
    assert response.headers["access-control-max-age"] == "3600"
    assert hits == []  # the handler does not see preflights

    actual = client.post("/post", json={}, headers={"Origin": ORIGIN})
    assert actual.json() == {"ok": True}
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in actual.headers["vary"]


def test_disallowed_origin(app: atila.Atila, client: Client) -> None:
    app.access_control_allow_origin = [ORIGIN]

    @app.route("/post", methods=["POST"])
    def post(was):
        return "ok"

    assert _preflight(client, "/post", origin="http://evil.example").status_code == 403
    actual = client.post("/post", headers={"Origin": "http://evil.example"})
    assert actual.status_code == 200
    assert "access-control-allow-origin" not in actual.headers


def test_any_origin(app: atila.Atila, client: Client) -> None:
    app.access_control_allow_origin = ["*"]

    @app.route("/open")
    def open_(was):
        return "ok"

    response = _preflight(client, "/open", origin="http://a.example", method="GET")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-max-age" not in response.headers
    actual = client.get("/open", headers={"Origin": "http://a.example"})
    assert actual.headers["access-control-allow-origin"] == "*"


def test_no_cors_configured(app: atila.Atila, client: Client) -> None:
    @app.route("/post", methods=["POST"])
    def post(was):
        return "ok"

    assert _preflight(client, "/post").status_code == 403
    actual = client.post("/post", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in actual.headers


def test_route_level_policy_overrides_app(app: atila.Atila, client: Client) -> None:
    app.access_control_allow_origin = ["http://other.example"]

    @app.route(
        "/post",
        methods=["POST", "OPTIONS"],
        access_control_allow_origin=[ORIGIN],
        access_control_max_age=60,
    )
    def post(was):
        return "ok"

    @app.route("/plain", methods=["POST"])
    def plain(was):
        return "ok"

    response = _preflight(client, "/post")
    assert response.status_code == 204 and response.headers["access-control-max-age"] == "60"
    assert _preflight(client, "/plain").status_code == 403
    assert _preflight(client, "/plain", origin="http://other.example").status_code == 204


def test_plain_options_lists_allow(app: atila.Atila, client: Client) -> None:
    @app.route("/r", methods=["GET", "DELETE"])
    def r(was):
        return "ok"

    response = client.options("/r")
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["allow"].split(",")} == {
        "GET",
        "HEAD",
        "DELETE",
        "OPTIONS",
    }
    assert client.options("/missing").status_code == 404


def test_error_responses_carry_cors_headers(app: atila.Atila, client: Client) -> None:
    app.access_control_allow_origin = ["*"]

    @app.route("/fail")
    def fail(was):
        raise was.Error("400 Bad Request", "nope")

    response = client.get("/fail", headers={"Origin": ORIGIN, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == "*"
