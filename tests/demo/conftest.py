"""The demo project from a fresh copy: migrated, with its demo user, served by ``serve.py``.

The copy runs with no Django-related environment variables (the demo's
contract: it works from a copy in any directory with no environment).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skitai.testing import LiveClient, ServerProcess

DEMO = Path(__file__).resolve().parents[2] / "demo_project"
#: Variables a developer's shell (or another test folder) may set that the demo must not need.
_DJANGO_ENVIRON = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH")


def clean_environ() -> dict[str, str]:
    """This process's environment without the Django-related variables."""
    return {k: v for k, v in os.environ.items() if k not in _DJANGO_ENVIRON}


def copy_demo(parent: Path) -> Path:
    """A copy of demo_project in ``parent``, migrated, with the demo user."""
    root = parent / "demo_project"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"))
    for command in (["migrate", "--noinput", "-v0"], ["ensure_demo_user"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=root, env=clean_environ(), check=True
        )
    return root


def start_demo(root: Path) -> LiveClient:
    """``python3 serve.py --port N`` in ``root``; a client once it listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "serve.py", "--port", str(port), "--silent"]
    server = ServerProcess(command, cwd=root, env=clean_environ(), port=port)
    try:
        server.wait_ready(30)
    except BaseException:
        server.stop()
        raise
    return LiveClient(f"http://127.0.0.1:{port}", server)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated copy of the demo project (one per test module)."""
    return copy_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo(demo_root: Path) -> Iterator[LiveClient]:
    """The demo copy served by its ``serve.py`` on a free port."""
    client = start_demo(demo_root)
    yield client
    client.stop()


@pytest.fixture
def serve_demo() -> Iterator[Callable[[Path], LiveClient]]:
    """``serve_demo(root)`` starts ``serve.py`` of a demo copy; stopped after the test."""
    clients: list[LiveClient] = []

    def start(root: Path) -> LiveClient:
        clients.append(start_demo(root))
        return clients[-1]

    yield start
    for client in clients:
        client.stop()


@pytest.fixture
def demo_environ() -> dict[str, str]:
    """The environment commands run in a demo copy get (:func:`clean_environ`)."""
    return clean_environ()
