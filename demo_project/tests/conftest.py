"""Test settings for the demo's tests.

* The SQLite test database is a file: the ``@django`` corequest alias (and a live
  engine, if a test starts one) opens connections of its own, which an in-memory
  database cannot share.
* Passwords are hashed with MD5 in the tests: PBKDF2 would dominate the run time.
"""

from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each SQLite test database as a file in a temporary directory."""
    for alias, database in settings.DATABASES.items():
        if database["ENGINE"].endswith("sqlite3"):
            path: Path = tmp_path_factory.mktemp("db") / f"test_{alias}.sqlite3"
            database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> None:
    """Cheap password hashes for test users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
