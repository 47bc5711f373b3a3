"""The demo project served by skitai: Django admin under /admin, static files, front page."""

from __future__ import annotations

import re

from skitai.testing import LiveClient


def test_front_page_links_to_admin(demo: LiveClient) -> None:
    response = demo.get("/")
    assert response.status_code == 200
    assert 'href="/admin/"' in response.text


def test_admin_redirects_to_login_under_mount_point(demo: LiveClient) -> None:
    response = demo.get("/admin/", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login/?next=/admin/"


def test_admin_static_files_served_by_engine(demo: LiveClient) -> None:
    page = demo.get("/admin/login/")
    assert page.status_code == 200
    css = re.search(r'href="(/static/admin/css/base\.css)"', page.text)
    assert css is not None
    response = demo.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "ETag" in response.headers


def test_admin_login_with_demo_user(demo: LiveClient) -> None:
    session = demo.clone()
    page = session.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = session.post(
        "/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": "admin",
            "password": "atila-demo",
            "next": "/admin/",
        },
        headers={"Referer": demo.base_url + "/admin/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    index = session.get("/admin/")
    assert index.status_code == 200
    assert "/admin/photos/photo/" in index.text


def test_wrong_password_is_refused(demo: LiveClient) -> None:
    session = demo.clone()
    session.cookies.clear()
    page = session.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = session.post(
        "/admin/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": "admin", "password": "nope"},
        headers={"Referer": demo.base_url + "/admin/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.text
