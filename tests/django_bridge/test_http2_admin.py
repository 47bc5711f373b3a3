"""Django's admin and the Atila API of the demo over HTTP/2 (h2c with prior knowledge, httpx)."""

from __future__ import annotations

import re

import httpx
import pytest
from django.contrib.auth.models import User

from skitai.testing import LiveClient


@pytest.fixture
def admin_user(transactional_db: None) -> User:
    return User.objects.create_superuser("boss2", "boss2@example.com", "boss-pass-2")


def test_admin_login_over_h2c(live_engine: LiveClient, admin_user: User) -> None:
    with httpx.Client(base_url=live_engine.base_url, http1=False, http2=True, timeout=20) as client:
        redirect = client.get("/admin/")
        assert redirect.http_version == "HTTP/2"
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "/admin/login/?next=/admin/"
        page = client.get("/admin/login/")
        assert page.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None
        login = client.post(
            "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": "boss2",
                "password": "boss-pass-2",
            },
            headers={"Referer": live_engine.base_url + "/admin/login/"},
        )
        assert login.status_code == 302 and login.headers["location"] == "/admin/"
        home = client.get("/admin/")
        assert home.status_code == 200 and "boss2" in home.text
        css = client.get("/static/admin/css/base.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
