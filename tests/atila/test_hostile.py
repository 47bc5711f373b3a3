"""A hostile client against a real Skitai server: every trick is refused with the right
status and leaves nothing behind (issue 7, "Done when")."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import secure_server
from secure_server import (
    MAX_UPLOAD,
    SECUREKEY,
    browser,
    challenges,
    digest_header,
    live,
    server_dir,
)

from atila.sealing import b64decode, seal
from skitai.testing import LiveClient


def _cookie_header(name: str, value: str) -> dict[str, str]:
    return {"Cookie": f"{name}={value}"}


def _deleted(response: object, name: str) -> bool:
    values = response.raw.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    return any(v.startswith(f"{name}=;") and "Max-Age=0" in v for v in values)


# -- cookies -------------------------------------------------------------------------


def test_session_cookie_is_unreadable(browser: LiveClient) -> None:
    browser.get("/session/set", params={"key": "username", "value": "hansroh-secret"})
    raw = b64decode(browser.cookies["ATLSES"])
    assert raw is not None and b"hansroh" not in raw and b"username" not in raw


def test_forged_session_cookie_is_an_empty_session(browser: LiveClient) -> None:
    browser.get("/session/set", params={"key": "username", "value": "hans"})
    value = browser.cookies["ATLSES"]
    for forged in (
        value[:-2] + ("AA" if value[-2:] != "AA" else "BB"),  # tampered tag
        value[:20] + ("x" if value[20] != "x" else "y") + value[21:],  # tampered ciphertext
        value[: len(value) // 2],  # truncated
        "not base64 at all!",
        seal({"d": {"username": "admin"}, "e": time.time() + 999}, "another key" * 4, "ATLSES:"),
    ):
        response = secure_server.new_browser(browser).get(
            "/session/get", params={"key": "username"}, headers=_cookie_header("ATLSES", forged)
        )
        assert response.status_code == 200
        assert response.json()["value"] is None and response.json()["exists"] is False
        assert _deleted(response, "ATLSES")


def test_forged_login_is_refused(live: LiveClient) -> None:
    payload = {"d": {"username": "admin"}, "e": time.time() + 999, "p": 60}
    for key, purpose in ((SECUREKEY + "x", "ATLSES:"), (SECUREKEY, "ATLSES:ADM")):
        forged = seal(payload, key, purpose)
        response = secure_server.new_browser(live).get(
            "/private", headers=_cookie_header("ATLSES", forged)
        )
        assert response.status_code == 401
    genuine = seal(payload, SECUREKEY, "ATLSES:")  # only the securekey holder can do this
    assert live.get("/private", headers=_cookie_header("ATLSES", genuine)).status_code == 200


def test_expired_and_replayed_session_cookies_are_refused(browser: LiveClient) -> None:
    expired = seal({"d": {"username": "admin"}, "e": time.time() - 1, "p": 60}, SECUREKEY,
                   "ATLSES:")  # fmt: skip
    response = browser.get(
        "/session/get", params={"key": "username"}, headers=_cookie_header("ATLSES", expired)
    )
    assert response.json()["value"] is None
    # a real cookie replayed after its expiry
    browser.get("/session/set", params={"key": "username", "value": "hans"})
    browser.get("/session/expiry", params={"timeout": 1})
    old = browser.cookies["ATLSES"]
    time.sleep(1.2)
    replay = secure_server.new_browser(browser).get(
        "/session/get", params={"key": "username"}, headers=_cookie_header("ATLSES", old)
    )
    assert replay.json()["value"] is None


def test_cookie_replayed_under_another_name_is_refused(browser: LiveClient) -> None:
    browser.get("/admin/login")
    admin_cookie = next(c for c in browser.cookies if c.name == "ATLSES_ADM")
    assert admin_cookie.path == "/admin"
    stolen = admin_cookie.value
    for name in ("ATLSES", "ATLMBX", "ATLCSRF"):
        other = secure_server.new_browser(browser)
        response = other.get(
            "/session/get", params={"key": "admin_login"}, headers=_cookie_header(name, stolen)
        )
        assert response.json()["value"] is None
    as_ott = browser.get("/token/ott/use", params={"token": stolen})
    assert as_ott.status_code == 400


# -- JWT -------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_jwt_signed_with_another_key_is_refused(live: LiveClient) -> None:
    token = jwt.encode({"username": "admin", "exp": time.time() + 60}, "x" * 40, "HS256")
    response = live.get("/auth/bearer", headers=_bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert live.get("/episodes/me", headers=_bearer(token)).status_code == 401


def test_jwt_alg_none_is_refused(live: LiveClient) -> None:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"username": "admin", "level": "admin", "exp": time.time() + 60}
    for alg in ("none", "None", "NONE"):
        token = part({"alg": alg, "typ": "JWT"}) + "." + part(claims) + "."
        assert live.get("/auth/bearer", headers=_bearer(token)).status_code == 401
        assert live.delete("/animals/5", headers=_bearer(token)).status_code == 401


def test_jwt_with_another_hmac_algorithm_is_refused(live: LiveClient) -> None:
    token = jwt.encode({"username": "admin", "exp": time.time() + 60}, SECUREKEY, "HS512")
    response = live.get("/auth/bearer", headers=_bearer(token))
    assert response.status_code == 401
    assert "algorithm" in response.headers["WWW-Authenticate"]


def test_expired_jwt_is_refused(live: LiveClient) -> None:
    token = live.get("/token/jwt", params={"ttl": -10}).text
    response = live.get("/auth/bearer", headers=_bearer(token))
    assert response.status_code == 401
    assert "expired" in response.headers["WWW-Authenticate"]


def test_valid_jwt_passes(live: LiveClient) -> None:
    token = live.get("/token/jwt").text
    response = live.get("/auth/bearer", headers=_bearer(token))
    assert response.status_code == 200 and response.json()["user"] == "hansroh"


# -- digest ------------------------------------------------------------------------------


def test_digest_nonce_replay_is_refused(live: LiveClient) -> None:
    first = live.get("/auth/digest")
    assert first.status_code == 401
    sha256 = challenges(first)[0]
    assert sha256["algorithm"] == "SHA-256"
    header = digest_header(sha256, "app", "iamyourpartnerapp", "GET", "/auth/digest")
    ok = live.get("/auth/digest", headers={"Authorization": header})
    assert ok.status_code == 200 and ok.json()["info"] == {"role": "root"}
    replay = live.get("/auth/digest", headers={"Authorization": header})
    assert replay.status_code == 401
    # the next count on the same nonce is fine, an older one is not
    nc2 = digest_header(sha256, "app", "iamyourpartnerapp", "GET", "/auth/digest", nc=2)
    assert live.get("/auth/digest", headers={"Authorization": nc2}).status_code == 200
    assert live.get("/auth/digest", headers={"Authorization": header}).status_code == 401


def test_digest_refuses_tampering(live: LiveClient) -> None:
    challenge = challenges(live.get("/auth/digest"))[1]
    assert challenge["algorithm"] == "MD5"
    good = digest_header(challenge, "app", "iamyourpartnerapp", "GET", "/auth/digest")
    other_uri = digest_header(challenge, "app", "iamyourpartnerapp", "GET", "/session/get")
    wrong_pw = digest_header(challenge, "app", "guess", "GET", "/auth/digest")
    forged_nonce = good.replace(challenge["nonce"], challenge["nonce"][:-4] + "AAAA")
    for header in (other_uri, wrong_pw, forged_nonce, good.replace("qop=auth", "qop=auth-int")):
        assert live.get("/auth/digest", headers={"Authorization": header}).status_code == 401
    assert live.get("/auth/digest", headers={"Authorization": good}).status_code == 200


# -- CSRF ---------------------------------------------------------------------------------


def test_csrf_token_from_another_session_is_refused(live: LiveClient, browser: LiveClient) -> None:
    victim = browser
    attacker = secure_server.new_browser(live)
    attacker_token = attacker.get("/form/token").text
    victim_token = victim.get("/form/token").text
    assert attacker_token != victim_token
    refused = victim.post("/form/post", data={"csrf_token": attacker_token, "x": "1"})
    assert refused.status_code == 400
    no_cookie = secure_server.new_browser(live).post(
        "/form/post", data={"csrf_token": victim_token}
    )
    assert no_cookie.status_code == 400
    assert victim.post("/form/post", data={"x": "1"}).status_code == 400
    assert victim.post("/form/post", data={"csrf_token": victim_token}).status_code == 200
    attacker.close()


# -- notme ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["DELETE", "POST", "PATCH", "PUT"])
def test_notme_with_writing_methods_is_421(live: LiveClient, method: str) -> None:
    admin = live.get("/token/jwt", params={"username": "root"}).text
    token = jwt.encode({"username": "root", "level": "admin", "exp": time.time() + 60},
                       SECUREKEY, "HS256")  # fmt: skip
    for bearer in (admin, token):
        response = live.request(method, "/episodes/notme", headers=_bearer(bearer))
        assert response.status_code == 421


# -- uploads ---------------------------------------------------------------------------------


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_path_traversal_upload_name_lands_inside(live: LiveClient, server_dir: Path) -> None:
    before = _files(server_dir)
    for name in ("../../evil.txt", "..\\..\\evil.txt", "/etc/evil.txt", "....//evil.txt"):
        response = live.post("/upload", files={"file": (name, b"payload")})
        assert response.status_code == 200
        body = response.json()
        assert body["name"] == "evil.txt"
        assert os.path.dirname(body["saved"]) == "uploads"
    via_field = live.post(
        "/upload", files={"file": ("a.txt", b"x")}, data={"save_as": "../../../escape.txt"}
    )
    assert via_field.json()["saved"] == "uploads/escape.txt"
    new = set(_files(server_dir)) - set(before)
    assert new and all(path.startswith("uploads/") for path in new)
    assert not list(server_dir.parent.glob("evil*")) and not list(server_dir.parent.glob("escape*"))
    assert _files(server_dir / "tmp") == []


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "atilaboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    filler = size - len(head) - len(tail)
    return head + b"x" * filler + tail, f"multipart/form-data; boundary={boundary}"


def test_upload_one_byte_over_the_limit_is_413(live: LiveClient, server_dir: Path) -> None:
    before = _files(server_dir)
    body, content_type = _multipart(MAX_UPLOAD + 1)
    assert len(body) == MAX_UPLOAD + 1
    refused = live.post("/upload", data=body, headers={"Content-Type": content_type})
    assert refused.status_code == 413
    assert _files(server_dir) == before
    exact, _ = _multipart(MAX_UPLOAD)
    accepted = live.post("/upload", data=exact, headers={"Content-Type": content_type})
    assert accepted.status_code == 200 and accepted.json()["name"] == "big.bin"


def test_chunked_upload_over_the_limit_is_413(live: LiveClient, server_dir: Path) -> None:
    before = _files(server_dir)
    body, content_type = _multipart(MAX_UPLOAD * 3)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    refused = live.post("/upload", data=chunks(), headers={"Content-Type": content_type})
    assert refused.status_code == 413
    assert _files(server_dir) == before


def test_malformed_multipart_is_400(live: LiveClient, server_dir: Path) -> None:
    before = _files(server_dir)
    body, content_type = _multipart(1000)
    truncated = body[:-30]
    response = live.post("/upload", data=truncated, headers={"Content-Type": content_type})
    assert response.status_code == 400
    no_boundary = live.post("/upload", data=body, headers={"Content-Type": "multipart/form-data"})
    assert no_boundary.status_code == 400
    assert _files(server_dir) == before


# -- parameters and JSON bodies (issue 15) ----------------------------------------------
# ``timeout=1``: each answer must come within a second, not after a stall.


def _bad_request(response: object, detail: str, param: str | None = None) -> None:
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.headers["Content-Type"] == "application/json"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["message"] == "Bad Request" and body["detail"] == detail
    assert body.get("param") == param


def test_repeated_key_into_an_inspected_int_is_400_naming_it(live: LiveClient) -> None:
    for path, param in (
        ("/params/item?id=1&id=2", "id"),
        ("/params/items?limit=5&limit=6", "limit"),
    ):
        response = live.get(path, timeout=1)
        _bad_request(response, f"parameter {param} is given more than once (2 values)", param)
    assert live.get("/params/item?id=21", timeout=1).json() == {"double": 42}
    assert live.get("/params/items?limit=5", timeout=1).json() == {"next": 6}
    _bad_request(
        live.get("/params/items?limit=0", timeout=1),
        "parameter limit must be greater than or equal to 1",
        "limit",
    )


def test_json_body_nested_100000_levels_is_400(live: LiveClient) -> None:
    depth = 100_000
    deep = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    response = live.post(
        "/params/json", data=deep, headers={"Content-Type": "application/json"}, timeout=1
    )
    _bad_request(response, "JSON body nested deeper than 100 levels")
    fine = b'{"a": ' + b"[" * 99 + b"]" * 99 + b', "b": "' + b"[" * 1000 + b'"}'
    accepted = live.post(
        "/params/json", data=fine, headers={"Content-Type": "application/json"}, timeout=1
    )
    assert accepted.status_code == 200 and accepted.json() == {"keys": ["a", "b"]}
    form = live.post("/params/json", data={"a": "[" * 1000, "b": "{"}, timeout=1)
    assert form.status_code == 200 and form.json() == {"keys": ["a", "b"]}


def test_streamed_body_cut_short_is_400_not_500(live: LiveClient) -> None:
    """2 MiB announced, past the engine's 1 MiB body buffer: the handler thread reads the
    body as it arrives, and the client's half-close is a 400 the handler sees at once."""
    host, port = urlsplit(live.base_url).hostname, urlsplit(live.base_url).port
    head = (
        "POST /params/size HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {2 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=1) as sock:
        sock.sendall(head + b"x" * (1536 * 1024))
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["message"] == "Bad Request" and "request body incomplete" in body["detail"]
    whole = live.post("/params/size", data=b"y" * (2 * 1024 * 1024), timeout=5)
    assert whole.json() == {"size": 2 * 1024 * 1024}
