"""``manage.py runskitai`` and reading ``serve.py``'s mounts."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from django_bridge.serve_script import collect_mounts, find_serve_script
from skitai.testing import LiveClient, ServerProcess

DEMO = Path(__file__).resolve().parents[2] / "demo_project"


def test_serve_script_found_beside_settings() -> None:
    assert find_serve_script() == DEMO / "serve.py"


def test_collected_mounts_of_the_demo(skitai_mounts: Any) -> None:
    points = [
        (mount.point, "static" if mount.static is not None else mount.interface)
        for mount in skitai_mounts.engine.mounts
    ]
    assert points == [
        ("/admin", "asgi"), ("/svc", "asgi"), ("/static/admin", "static"), ("/api/v1", "wsgi"),
        ("/api/v2", "wsgi"), ("/", "wsgi"), ("/", "static"),
    ]  # fmt: skip
    assert skitai_mounts.options["port"] == 5000
    assert skitai_mounts.options["name"] == "atila-demo"


def test_collect_mounts_needs_skitai_run(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text("import skitai\nskitai.mount('/', lambda env, start: [])\n")
    with pytest.raises(RuntimeError, match=r"did not call skitai\.run"):
        collect_mounts(script)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated copy of the demo project with its demo user."""
    root = tmp_path_factory.mktemp("runskitai") / "demo_project"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"))
    for command in (["migrate", "--noinput", "-v0"], ["ensure_demo_user"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=root, check=True)
    return root


@pytest.fixture
def runskitai(demo_copy: Path) -> Iterator[LiveClient]:
    port = _free_port()
    command = [sys.executable, "manage.py", "runskitai", "--port", str(port), "--silent"]
    server = ServerProcess(command, cwd=demo_copy, env=None, port=port)
    try:
        server.wait_ready(30)
        yield LiveClient(f"http://127.0.0.1:{port}", server)
    finally:
        server.stop()


def test_runskitai_serves_django_and_atila(runskitai: LiveClient) -> None:
    assert runskitai.get("/admin/login/").status_code == 200
    assert runskitai.get("/api/v1/me").status_code == 401
    token = runskitai.post(
        "/api/v1/token", data={"username": "admin", "password": "atila-demo"}
    ).json()["token"]
    me = runskitai.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "admin"
    assert runskitai.get("/").status_code == 200


def test_runskitai_without_serve_py(demo_copy: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "runskitai", "--script", str(tmp_path / "nope.py")],
        cwd=demo_copy, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "server script not found" in result.stderr


def test_mounting_django_registers_the_project_alias(skitai_mounts: Any) -> None:
    from django.conf import settings

    from skitai.corequests import registry

    project = registry.get("@demo")
    assert project.kind in ("*sqlite3", "*postgresql")
    assert registry.get("@django").target == project.target or settings.DATABASES


def test_runskitai_reload_restarts_on_code_change(demo_copy: Path) -> None:
    port = _free_port()
    command = [sys.executable, "manage.py", "runskitai", "--reload", "--port", str(port), "-s"]
    server = ServerProcess(command, cwd=demo_copy, env=None, port=port)
    try:
        server.wait_ready(30)
        client = LiveClient(f"http://127.0.0.1:{port}", server)
        assert client.get("/api/v1/reloaded").status_code == 404
        v1 = demo_copy / "webapi" / "v1.py"
        original = v1.read_text()
        v1.write_text(
            original + '\n\n@app.route("/reloaded")\ndef reloaded(was):\n    return "yes"\n'
        )
        try:
            deadline = time.monotonic() + 30
            answer = None
            while time.monotonic() < deadline:
                try:
                    answer = client.get("/api/v1/reloaded", timeout=2)
                except requests.ConnectionError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    break
                time.sleep(0.3)
            assert answer is not None and answer.text == "yes"
        finally:
            v1.write_text(original)
    finally:
        server.stop()
