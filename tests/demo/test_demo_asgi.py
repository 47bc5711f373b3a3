"""The demo's WSGI and ASGI apps on one engine: Django through its ASGI application
(async views, an async streaming response, the admin), a Starlette service at /svc and
Atila at /, all on one database."""

from __future__ import annotations

import re

from websockets.sync.client import connect

from skitai.testing import LiveClient


def add_photo_in_admin(demo: LiveClient, title: str) -> None:
    session = demo.clone()
    page = session.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    session.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token.group(1), "username": "admin",
              "password": "atila-demo"},
        headers={"Referer": demo.base_url + "/admin/login/"},
    )  # fmt: skip
    form = session.get("/admin/photos/photo/add/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    owner = re.search(r'<option value="(\d+)"[^>]*>admin</option>', form.text)
    assert token is not None and owner is not None, form.text[-2000:]
    added = session.post(
        "/admin/photos/photo/add/",
        data={"csrfmiddlewaretoken": token.group(1), "owner": owner.group(1), "title": title,
              "image_url": "https://example.com/p.jpg", "_save": "Save"},
        headers={"Referer": demo.base_url + "/admin/photos/photo/add/"},
        allow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 302, added.text[-2000:]


def test_async_views_starlette_and_atila_share_the_database(demo: LiveClient) -> None:
    before = demo.get("/admin/async/stats/").json()
    assert before["interface"] == "asgi"
    add_photo_in_admin(demo, "Zebra crossing")
    stats = demo.get("/admin/async/stats/").json()
    assert stats["photos"] == before["photos"] + 1
    assert stats["newest"] == "Zebra crossing"
    titles = demo.get("/admin/async/titles/", stream=True)
    assert titles.headers["Transfer-Encoding"] == "chunked"  # streamed as the query yields
    assert "Zebra crossing" in titles.text.splitlines()
    service = demo.get("/svc/photos").json()
    assert service == {"service": "starlette", "photos": stats["photos"], "root_path": "/svc"}
    assert "Zebra crossing" in demo.get("/").text  # the Atila front page


def test_starlette_websocket_beside_wsgi_apps(demo: LiveClient) -> None:
    with connect(f"ws://127.0.0.1:{demo.port}/svc/shout") as ws:
        ws.send("one server")
        assert ws.recv() == "ONE SERVER"
