"""Django admin and the Atila services on one live engine, one database, one login."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from photos.models import Photo

from skitai.testing import LiveClient


@pytest.fixture
def admin_user(transactional_db: None) -> User:
    return User.objects.create_superuser("boss", "boss@example.com", "boss-pass-1")


def admin_login(client: LiveClient, username: str, password: str) -> LiveClient:
    """Log in through the admin's login form; return the session (cookies kept)."""
    session = client.clone()
    page = session.get("/admin/login/")
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = session.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
        headers={"Referer": client.base_url + "/admin/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def test_admin_login_page_and_static(live_engine: LiveClient) -> None:
    assert live_engine.get("/admin/", allow_redirects=False).headers["Location"] == (
        "/admin/login/?next=/admin/"
    )
    page = live_engine.get("/admin/login/")
    assert page.status_code == 200
    css = live_engine.get("/static/admin/css/base.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_photo_added_in_admin_is_seen_by_the_api_and_the_page(
    live_engine: LiveClient, admin_user: User
) -> None:
    session = admin_login(live_engine, "boss", "boss-pass-1")
    form = session.get("/admin/photos/photo/add/")
    assert form.status_code == 200, form.text[-3000:]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    added = session.post(
        "/admin/photos/photo/add/",
        data={
            "csrfmiddlewaretoken": token.group(1),
            "owner": str(admin_user.pk),
            "title": "Added in the admin",
            "image_url": "https://example.com/a.jpg",
            "_save": "Save",
        },
        headers={"Referer": live_engine.base_url + "/admin/photos/photo/add/"},
        allow_redirects=False,
    )
    assert added.status_code == 302, added.text[:1000]
    assert Photo.objects.get().title == "Added in the admin"  # the test's own connection

    issued = live_engine.post("/api/v1/token", data={"username": "boss", "password": "boss-pass-1"})
    assert issued.status_code == 200
    bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
    rows = live_engine.get(f"/api/v1/{admin_user.pk}/photos", headers=bearer).json()["rows"]
    assert [row["title"] for row in rows] == ["Added in the admin"]

    page = live_engine.get("/")
    assert page.status_code == 200
    assert "Added in the admin" in page.text
    assert 'href="/admin/"' in page.text


def test_single_sign_on_admin_session_in_atila(live_engine: LiveClient, admin_user: User) -> None:
    assert live_engine.get("/api/v1/me").status_code == 401
    session = admin_login(live_engine, "boss", "boss-pass-1")
    me = session.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "boss"
    assert 'Signed in as <strong id="username">boss</strong>' in session.get("/").text

    posted = session.post("/api/v1/me/photos", data={"title": "via session"})
    assert posted.status_code == 201
    assert Photo.objects.filter(owner=admin_user, title="via session").exists()

    logout_page = session.get("/admin/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', logout_page.text)
    assert token is not None
    out = session.post(
        "/admin/logout/", data={"csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": live_engine.base_url + "/admin/"}, allow_redirects=False,
    )  # fmt: skip
    assert out.status_code in (200, 302)
    assert session.get("/api/v1/me").status_code == 401


def test_api_rules_through_the_engine(live_engine: LiveClient, admin_user: User) -> None:
    alice = User.objects.create_user("alice", "alice@example.com", "alice-pass-1")
    Photo.objects.create(owner=admin_user, title="boss photo")
    token = live_engine.post(
        "/api/v1/token", json={"username": "alice", "password": "alice-pass-1"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert live_engine.get(f"/api/v1/{admin_user.pk}/photos", headers=headers).status_code == 403
    assert live_engine.delete("/api/v1/notme/photos", headers=headers).status_code == 421
    assert (
        live_engine.post("/api/v1/me/photos", data={"title": "mine"}, headers=headers).status_code
        == 201
    )
    rows = live_engine.get(f"/api/v1/{alice.pk}/photos", headers=headers).json()["rows"]
    assert [row["title"] for row in rows] == ["mine"]
    tampered = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert live_engine.get("/api/v1/me/photos", headers=tampered).status_code == 401
