"""What the tutorial (docs/tutorial/) says the demo does, beyond the demo's other tests.

* Step 6: a page's WebSocket on ``/live`` hears ``photos:changed`` when a photo is
  added through the API (the demo runs 2 workers: the hub carries the event).
* Step 8: the demo's own pytest-django tests (``demo_project/tests``) pass when run
  with ``python3 -m pytest`` in a fresh copy of the project, as the tutorial says.
* All of it, command by command: a new virtualenv with this checkout installed, Django's
  ``startproject``/``startapp``, the tutorial's files, migrations, the server, the tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.sync.client import connect

from skitai.testing import LiveClient, ServerProcess

DEMO = Path(__file__).resolve().parents[2] / "demo_project"


def assert_new_photo_announced(demo: LiveClient) -> None:
    """A page's ``/live`` socket hears ``photos:changed`` for a photo added through the API."""
    token = demo.post("/api/v1/token", data={"username": "admin", "password": "atila-demo"})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    with connect(demo.base_url.replace("http://", "ws://") + "/live", open_timeout=10) as page:
        assert str(page.recv(timeout=10)).startswith("worker ")
        created = demo.post("/api/v1/me/photos", data={"title": "Live"}, headers=headers)
        assert created.status_code == 201
        assert page.recv(timeout=10) == "photos:changed"


def test_a_new_photo_is_announced_to_open_pages(demo: LiveClient) -> None:
    assert_new_photo_announced(demo)


def test_the_demo_tests_pass_with_pytest_django(
    demo_root: Path, demo_environ: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=demo_root,
        env=demo_environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


#: The tutorial's files, copied over what ``startproject``/``startapp`` generated, in
#: the order its pages show them (demo/views.py, demo/asgi.py, webapi/svc.py: the demo's
#: extras that its urls.py and serve.py name).
TUTORIAL_FILES = (
    "photos/models.py", "photos/admin.py", "demo/settings.py", "demo/urls.py",
    "demo/views.py", "demo/asgi.py", "photos/management/__init__.py",
    "photos/management/commands/__init__.py",
    "photos/management/commands/ensure_demo_user.py",
    "webapi/__init__.py", "webapi/rules.py", "webapi/v1.py", "webapi/v2.py",
    "webapi/pages.py", "webapi/templates/index.html", "webapi/svc.py", "static/robots.txt",
    "serve.py", "pytest.ini", "tests/conftest.py", "tests/test_photos_api.py",
)  # fmt: skip


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_the_tutorial_in_a_fresh_virtualenv(tmp_path: Path, demo_environ: dict[str, str]) -> None:
    """Tutorial step 1 to 8, command by command, in a new virtualenv with this checkout."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, demo_environ)
    python, bin_dir = str(venv / "bin" / "python"), venv / "bin"
    checkout = Path(__file__).resolve().parents[2]
    # step 1: the index's "atila-stack[django,templates]" is this checkout here
    _run(
        [python, "-m", "pip", "install", "-q", f"{checkout}[django,templates]", "starlette",
         "pytest", "pytest-django"],
        tmp_path, demo_environ,
    )  # fmt: skip
    project = tmp_path / "demo_project"
    project.mkdir()
    _run([str(bin_dir / "django-admin"), "startproject", "demo", "."], project, demo_environ)
    _run([python, "manage.py", "startapp", "photos"], project, demo_environ)
    # steps 2 to 8: the files the pages show
    for name in TUTORIAL_FILES:
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO / name, target)
    for command in (["makemigrations", "photos"], ["migrate"], ["ensure_demo_user"]):
        _run([python, "manage.py", *command], project, demo_environ)
    # step 7: serve it; the admin, the API, the page and the live notification answer
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ServerProcess(
        [python, "serve.py", "--port", str(port), "--silent"], cwd=project, env=demo_environ,
        port=port,
    )  # fmt: skip
    try:
        server.wait_ready(30)
        client = LiveClient(f"http://127.0.0.1:{port}", server)
        assert client.get("/admin/login/").status_code == 200
        assert_new_photo_announced(client)
        assert "Live" in client.get("/").text
    finally:
        server.stop()
    # step 8
    assert "4 passed" in _run([python, "-m", "pytest", "-q"], project, demo_environ)
