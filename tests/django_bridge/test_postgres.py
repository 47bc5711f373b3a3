"""The django_bridge tests again, on the real PostgreSQL server.

pytest-django serves one database configuration per session, so this test
runs this folder (all but itself) in a child pytest with ``DATABASE_URL``
pointing at the ``pg_dsn`` server: Django, the Atila services and the live
engine then all use a PostgreSQL test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_database_backend_follows_database_url() -> None:
    expected = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_suite_on_postgresql(pg_dsn: str) -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("already running on DATABASE_URL")
    demo = str(ROOT / "demo_project")
    path = os.pathsep.join(p for p in (demo, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DATABASE_URL": pg_dsn, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(HERE), "-m", "not postgres",
            "-p", "no:cacheprovider", "-q", "--create-db",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "failed" not in result.stdout, tail
