"""What the tutorial (docs/tutorial/) says the demo does, beyond the demo's other tests.

* Step 6: a page's WebSocket on ``/live`` hears ``photos:changed`` when a photo is
  added through the API (the demo runs 2 workers: the hub carries the event).
* Step 8: the demo's own pytest-django tests (``demo_project/tests``) pass when run
  with ``python3 -m pytest`` in a fresh copy of the project, as the tutorial says.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from websockets.sync.client import connect

from skitai.testing import LiveClient


def test_a_new_photo_is_announced_to_open_pages(demo: LiveClient) -> None:
    token = demo.post("/api/v1/token", data={"username": "admin", "password": "atila-demo"})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    with connect(demo.base_url.replace("http://", "ws://") + "/live", open_timeout=10) as page:
        assert str(page.recv(timeout=10)).startswith("worker ")
        created = demo.post("/api/v1/me/photos", data={"title": "Live"}, headers=headers)
        assert created.status_code == 201
        assert page.recv(timeout=10) == "photos:changed"


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
