"""The demo's WSGI and ASGI apps on one engine: Django through its ASGI application
(async views, an async streaming response, the admin), a Starlette service at /svc and
Atila at /, all on one database."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

from websockets.sync.client import connect

from skitai.testing import LiveClient, ServerProcess


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


def readme_example() -> str:
    """The "WSGI and ASGI apps on one server" example of README.md, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("**WSGI and ASGI apps on one server.**", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_serves_django_starlette_and_atila(demo_root: Path) -> None:
    script = demo_root / "serve_readme.py"
    script.write_text(readme_example())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, script.name, "--port", str(port), "--silent"]
    # as the demo's own fixture starts it: no Django variables from this test process
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    server = ServerProcess(command, cwd=demo_root, env=env, port=port)
    client = LiveClient(f"http://127.0.0.1:{port}", server)
    try:
        server.wait_ready(30)
        assert client.get("/admin/async/stats/").json()["interface"] == "asgi"
        assert client.get("/admin/login/").status_code == 200
        assert client.get("/static/admin/css/base.css").status_code == 200
        assert client.get("/svc/photos").json()["root_path"] == "/svc"
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/me").status_code == 401  # Atila, asking for a token
    finally:
        client.stop()
