"""WWW-Authenticate (basic, digest, bearer), login and permission helpers, testpass."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests
import secure_server
from requests.auth import HTTPDigestAuth
from secure_server import (
    SECUREKEY,
    browser,
    challenges,
    digest_header,
    live,
    server_dir,
)

import atila
from atila.auth import DigestNonces, parse_digest
from skitai.testing import Client, LiveClient


def _bearer(claims: dict[str, object]) -> dict[str, str]:
    token = jwt.encode({"exp": time.time() + 60, **claims}, SECUREKEY, "HS256")
    return {"Authorization": f"Bearer {token}"}


USER = {"username": "u1", "level": "user"}
STAFF = {"username": "s1", "level": "staff"}
ADMIN = {"username": "a1", "level": "admin"}


# -- WWW-Authenticate ------------------------------------------------------------------


def test_digest_challenge_offers_sha256_then_md5(live: LiveClient) -> None:
    response = live.get("/auth/digest")
    assert response.status_code == 401
    offered = challenges(response)
    assert [c["algorithm"] for c in offered] == ["SHA-256", "MD5"]
    assert all(c["realm"] == "Partner Area" and c["qop"] == "auth" for c in offered)


def test_digest_with_a_real_client(live: LiveClient) -> None:
    url = live.url_for("/auth/digest")
    ok = requests.get(url, auth=HTTPDigestAuth("app", "iamyourpartnerapp"), timeout=10)
    assert ok.status_code == 200
    assert ok.json() == {"name": "app", "realm": "Partner Area", "info": {"role": "root"}}
    bad = requests.get(url, auth=HTTPDigestAuth("app", "wrong"), timeout=10)
    assert bad.status_code == 401


@pytest.mark.parametrize("index", [0, 1])
def test_digest_with_an_encrypted_password(live: LiveClient, index: int) -> None:
    challenge = challenges(live.get("/auth/digest"))[index]
    header = digest_header(challenge, "md5user", "secret", "GET", "/auth/digest")
    response = live.get("/auth/digest", headers={"Authorization": header})
    # an MD5 HA1 serves MD5 digests only; SHA-256 needs a SHA-256 HA1
    assert response.status_code == (200 if challenge["algorithm"] == "MD5" else 401)


def test_basic(live: LiveClient) -> None:
    refused = live.get("/auth/basic")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="Partner Area", charset="UTF-8"'
    assert live.get("/auth/basic", auth=("app", "iamyourpartnerapp")).json() == {"name": "app"}
    assert live.get("/auth/basic", auth=("md5user", "secret")).status_code == 200
    assert live.get("/auth/basic", auth=("app", "nope")).status_code == 401
    assert live.get("/auth/basic", auth=("ghost", "x")).status_code == 401
    garbage = {"Authorization": "Basic !!!notbase64"}
    assert live.get("/auth/basic", headers=garbage).status_code == 401


def test_bearer_sets_user_and_jwt(live: LiveClient) -> None:
    assert live.get("/auth/bearer").headers["WWW-Authenticate"] == 'Bearer realm="Partner Area"'
    response = live.get("/auth/bearer", headers=_bearer({"username": "hansroh"}))
    assert response.json()["user"] == "hansroh"
    assert response.json()["jwt"]["username"] == "hansroh"


# -- login / staff / permissions ----------------------------------------------------------


def test_login_required(live: LiveClient) -> None:
    browser = secure_server.new_browser(live)
    refused = browser.get("/private")
    assert refused.status_code == 401 and "please sign in" in refused.text
    browser.get("/signin", params={"username": "hans"})
    assert browser.get("/private").text == "private for hans"
    browser.close()


def test_staff_member_required_runs_after_login(live: LiveClient) -> None:
    browser = secure_server.new_browser(live)
    assert browser.get("/staff").status_code == 401  # login first, whatever the order
    browser.get("/signin", params={"username": "hans"})
    assert browser.get("/staff").status_code == 403
    browser.get("/signin", params={"username": "hans", "level": "staff"})
    assert browser.get("/staff").text == "staff area"
    browser.close()


@pytest.mark.parametrize(
    ("method", "path", "claims", "status"),
    [
        ("GET", "/episodes/me", USER, 200),
        ("DELETE", "/episodes/me", USER, 200),
        ("GET", "/episodes/4", USER, 403),
        ("GET", "/episodes/4", STAFF, 200),
        ("PATCH", "/episodes/4", USER, 403),
        ("PATCH", "/episodes/4", STAFF, 200),
        ("GET", "/episodes/new", USER, 403),
        ("POST", "/episodes/new", STAFF, 200),
        ("GET", "/episodes/notme", USER, 403),
        ("GET", "/episodes/notme", STAFF, 200),
        ("PUT", "/episodes/notme", STAFF, 421),
        ("GET", "/episodes/me", None, 401),
        ("GET", "/animals/me", USER, 200),
        ("GET", "/animals/100", USER, 403),
        ("GET", "/animals/100", STAFF, 200),
        ("DELETE", "/animals/100", STAFF, 403),
        ("DELETE", "/animals/100", ADMIN, 200),
        ("POST", "/animals/new", STAFF, 200),
    ],
)
def test_permission_required_rules(
    live: LiveClient, method: str, path: str, claims: dict[str, str] | None, status: int
) -> None:
    headers = _bearer(claims) if claims else {}
    assert live.request(method, path, headers=headers).status_code == status


def test_me_is_passed_as_is(live: LiveClient) -> None:
    body = live.get("/episodes/me", headers=_bearer(USER)).json()
    assert body == {"uid": "me", "user": "u1"}


def test_clarify_permission(live: LiveClient) -> None:
    assert live.get("/clarified").text == "denied"
    assert live.get("/clarified", headers=_bearer(USER)).text == "granted"


@pytest.mark.parametrize(
    ("answer", "status"), [("true", 200), ("none", 200), ("false", 403), ("other", 402)]
)
def test_testpass_required(live: LiveClient, answer: str, status: int) -> None:
    assert live.get(f"/testpass/{answer}").status_code == status


# -- in-process: app-wide settings and handlers ---------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_app_wide_authentication_with_an_authorization_handler(app: atila.Atila) -> None:
    app.authenticate = "basic"
    app.realm = "Whole App"
    seen = []

    @app.authorization_handler
    def handler(was, username):  # type: ignore[no-untyped-def]
        seen.append(username)
        return ("pw", False, {"id": 7}) if username == "hans" else None

    @app.route("/a")
    def a(was):  # type: ignore[no-untyped-def]
        return was.API(name=was.request.user.name, info=was.request.user.info)

    client = Client(app)
    refused = client.get("/a")
    assert refused.status_code == 401 and 'realm="Whole App"' in refused.headers["WWW-Authenticate"]
    assert client.get("/a", headers=_basic("hans", "pw")).json() == {
        "name": "hans",
        "info": {"id": 7},
    }
    assert client.get("/a", headers=_basic("other", "pw")).status_code == 401
    assert seen == ["hans", "other"]
    # OPTIONS (CORS preflight) never needs credentials
    assert client.options("/a").status_code == 204


def test_custom_bearer_handler(app: atila.Atila) -> None:
    @app.bearer_handler
    def bearer(was, token):  # type: ignore[no-untyped-def]
        if token != "let-me-in":
            return "unknown token"
        was.request.user = "robot"
        return None

    @app.route("/b", authenticate="bearer")
    def b(was):  # type: ignore[no-untyped-def]
        return str(was.request.user)

    client = Client(app)
    assert client.get("/b", headers={"Authorization": "Bearer let-me-in"}).text == "robot"
    refused = client.get("/b", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and "unknown token" in refused.headers["WWW-Authenticate"]


def test_missing_handlers_are_a_500(app: atila.Atila) -> None:
    @app.route("/p")
    @app.permission_required(["x"])
    def p(was):  # type: ignore[no-untyped-def]
        return "never"

    assert Client(app).get("/p").status_code == 500


def test_stale_nonce_and_digest_parsing() -> None:
    nonces = DigestNonces(lifetime=60)
    nonce = nonces.make("R")
    assert nonces.check(nonce, "R") == "ok"
    assert nonces.check(nonce, "other realm") == "invalid"
    assert nonces.check(nonce[:-3] + "AAA", "R") == "invalid"
    nonces.lifetime = -1
    assert nonces.check(nonce, "R") == "stale"
    # each (nonce, nc) pair once (RFC 7616 3.3); counts may arrive out of order
    assert nonces.count(nonce, 1) and nonces.count(nonce, 3) and nonces.count(nonce, 2)
    assert not nonces.count(nonce, 3) and not nonces.count(nonce, 1)
    parsed = parse_digest('username="a\\"b", nc=00000001, qop=auth, uri="/x?a=1,2"')
    assert parsed == {"username": 'a"b', "nc": "00000001", "qop": "auth", "uri": "/x?a=1,2"}


def test_stale_nonce_answers_stale_true(app: atila.Atila) -> None:
    app.users = {"u": "p"}

    @app.route("/d", authenticate="digest")
    def d(was):  # type: ignore[no-untyped-def]
        return "ok"

    client = Client(app)
    challenge = parse_digest(client.get("/d").headers["WWW-Authenticate"].partition(" ")[2])
    header = digest_header(challenge, "u", "p", "GET", "/d")
    app.security.nonces.lifetime = -1
    refused = client.get("/d", headers={"Authorization": header})
    assert refused.status_code == 401 and "stale=true" in refused.headers["WWW-Authenticate"]
    app.security.nonces.lifetime = 300
    assert client.get("/d", headers={"Authorization": header}).text == "ok"
