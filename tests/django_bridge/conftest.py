"""Django for the django_bridge tests: the demo project's settings, test databases a
live engine can share.

* ``demo_project`` goes on ``sys.path`` and ``DJANGO_SETTINGS_MODULE`` is
  ``demo.settings`` (pytest-django picks it up); ``DATABASE_URL`` switches
  the database to PostgreSQL (``test_postgres.py`` reruns this folder so).
* The SQLite test database is a file (not Django's in-memory default) so
  the ``live_engine`` fixture's forked engine sees the same data.
* ``atila_app`` is the demo's ``/api/v1`` app; passwords are hashed with MD5
  (fast) in the tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

import django_bridge

DEMO = Path(__file__).resolve().parents[2] / "demo_project"
if str(DEMO) not in sys.path:
    sys.path.insert(0, str(DEMO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_bridge.setup()


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> None:
    """Test users' passwords hashed cheaply (PBKDF2 would dominate the run time)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A file SQLite test database (shared with the live engine's processes)."""
    from django.conf import settings

    for alias, database in settings.DATABASES.items():
        if database["ENGINE"].endswith("sqlite3"):
            path = tmp_path_factory.mktemp("db") / f"test_{alias}.sqlite3"
            database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture
def atila_app() -> Any:
    """The demo's API app (``/api/v1``)."""
    from webapi.v1 import app

    return app
