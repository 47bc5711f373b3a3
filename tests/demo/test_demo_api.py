"""The demo's contract through its own serve.py: tokens, bearer auth, photos, the front page."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import jwt

from skitai.testing import LiveClient


def token_of(demo: LiveClient, username: str = "admin", password: str = "atila-demo") -> str:
    response = demo.post("/api/v1/token", data={"username": username, "password": password})
    assert response.status_code == 200
    return str(response.json()["token"])


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_token_from_form_or_json(demo: LiveClient) -> None:
    form = demo.post("/api/v1/token", data={"username": "admin", "password": "atila-demo"})
    as_json = demo.post("/api/v1/token", json={"username": "admin", "password": "atila-demo"})
    for response in (form, as_json):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        assert list(body) == ["token"]
        claims = jwt.decode(body["token"], options={"verify_signature": False})
        assert isinstance(claims["uid"], int) and claims["exp"] > time.time()
    wrong = demo.post("/api/v1/token", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401


def test_bearer_token_checks(demo: LiveClient) -> None:
    token = token_of(demo)
    uid = jwt.decode(token, options={"verify_signature": False})["uid"]
    ok = demo.get(f"/api/v1/{uid}/photos", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and "rows" in ok.json()
    header, payload, signature = token.split(".")
    forged = b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "uid": uid + 1})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    for bad in (None, f"{header}.{forged}.{signature}", unsigned, token[:-3] + "abc"):
        headers = {"Authorization": f"Bearer {bad}"} if bad else {}
        assert demo.get(f"/api/v1/{uid}/photos", headers=headers).status_code == 401
        assert demo.get("/api/v1/me", headers=headers).status_code == 401


def test_photos_crud_and_front_page(demo: LiveClient) -> None:
    headers = {"Authorization": f"Bearer {token_of(demo)}"}
    created = demo.post("/api/v1/me/photos", json={"title": "Demo <b>photo</b>"}, headers=headers)
    assert created.status_code == 201
    rows = demo.get("/api/v1/me/photos", headers=headers).json()["rows"]
    assert [row["title"] for row in rows] == ["Demo <b>photo</b>"]
    assert demo.get("/api/v2/me/photos", headers=headers).json()["rows"] == rows
    page = demo.get("/")
    assert "Demo &lt;b&gt;photo&lt;/b&gt;" in page.text  # escaped by Jinja2
    assert demo.delete("/api/v1/me/photos", headers=headers).status_code == 205
    assert demo.get("/api/v1/me/photos", headers=headers).json()["rows"] == []


def test_admin_photo_seen_by_api_and_page(demo: LiveClient) -> None:
    session = demo.clone()
    session.cookies.clear()
    login = session.get("/admin/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert csrf is not None
    session.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf.group(1), "username": "admin", "password": "atila-demo"},
        headers={"Referer": demo.base_url + "/admin/login/"},
    )
    me = session.get("/api/v1/me")  # the admin's session cookie works for Atila
    assert me.status_code == 200
    form = session.get("/admin/photos/photo/add/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert csrf is not None
    added = session.post(
        "/admin/photos/photo/add/",
        data={
            "csrfmiddlewaretoken": csrf.group(1), "owner": str(me.json()["id"]),
            "title": "From the admin", "image_url": "", "_save": "Save",
        },
        headers={"Referer": demo.base_url + "/admin/photos/photo/add/"},
        allow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 302
    headers = {"Authorization": f"Bearer {token_of(demo)}"}
    titles = [row["title"] for row in demo.get("/api/v1/me/photos", headers=headers).json()["rows"]]
    assert "From the admin" in titles
    assert "From the admin" in demo.get("/").text
    assert 'Signed in as <strong id="username">admin</strong>' in session.get("/").text


def test_database_inside_the_copy_survives_a_restart(
    demo_root: Path, serve_demo: Callable[[Path], LiveClient]
) -> None:
    first = serve_demo(demo_root)
    assert (demo_root / "db.sqlite3").is_file()
    headers = {"Authorization": f"Bearer {token_of(first)}"}
    assert first.post("/api/v1/me/photos", data={"title": "kept"}, headers=headers).ok
    first.stop()
    again = serve_demo(demo_root)
    rows = again.get("/api/v1/me/photos", headers=headers).json()["rows"]
    assert "kept" in [row["title"] for row in rows]
