"""The spec's Django examples as written, through live servers, on SQLite and PostgreSQL.

``spec_site/`` is a Django project made by ``django-admin startproject
mydjangoapp`` (its ``wsgi.py`` untouched) plus the spec's Atila app:

* "Using Django Models": ``skitai.alias("@django", skitai.DJANGO, ".../settings.py")``,
  ``django.setup()`` and the models, served by ``app.py`` alone (no Django mount);
* "You can use Django Query Set as SQL generator": ``was.sqlite3("@entity")
  .execute(query).dispatch().data`` with no ``django_bridge.install``;
* "When Django app is mounted": ``serve.py`` mounts the project's ``wsgi.py`` at
  ``/admin``; Django answers there and the alias ``@mydjangoapp`` exists.

The servers start with a clean environment as a user's would (no
``DJANGO_SETTINGS_MODULE`` of this test process); the database comes from
``SPEC_DB_*`` variables the project's settings read.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from skitai.testing import LiveClient, test_client

SITE = Path(__file__).resolve().parent / "spec_site"
PROJECT = SITE / "mydjangoapp"


@pytest.fixture(
    scope="module", params=["sqlite3", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def spec_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The ``SPEC_DB_*`` environment of a migrated, empty database of the spec project."""
    if request.param == "sqlite3":
        path = tmp_path_factory.mktemp("spec_site") / "db.sqlite3"
        env = {"SPEC_DB_ENGINE": "sqlite3", "SPEC_DB_NAME": str(path)}
        yield from _migrated(env)
        return
    server = urlsplit(request.getfixturevalue("pg_dsn"))
    env = {
        "SPEC_DB_ENGINE": "postgresql",
        "SPEC_DB_NAME": f"spec_site_{os.getpid()}",
        "SPEC_DB_HOST": server.hostname or "127.0.0.1",
        "SPEC_DB_PORT": str(server.port or 5432),
        "SPEC_DB_USER": server.username or "postgres",
    }
    _pg_admin(env, f'DROP DATABASE IF EXISTS "{env["SPEC_DB_NAME"]}" WITH (FORCE)')
    _pg_admin(env, f'CREATE DATABASE "{env["SPEC_DB_NAME"]}"')
    try:
        yield from _migrated(env)
    finally:
        _pg_admin(env, f'DROP DATABASE IF EXISTS "{env["SPEC_DB_NAME"]}" WITH (FORCE)')


def _migrated(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``python manage.py migrate`` in the project, then ``env``."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=PROJECT, env={**_clean_environ(), **env}, check=True, timeout=180,
    )  # fmt: skip
    yield env


def _clean_environ() -> dict[str, str]:
    """This process's environment without the demo's Django settings."""
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def _pg_admin(env: dict[str, str], sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(
        host=env["SPEC_DB_HOST"], port=env["SPEC_DB_PORT"], user=env["SPEC_DB_USER"],
        dbname="postgres",
    )  # fmt: skip
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def run_sql(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the spec project's database directly (committed); its rows.

    (``"user"`` is quoted: a keyword on PostgreSQL.)"""
    if env["SPEC_DB_ENGINE"] == "sqlite3":
        with sqlite3.connect(env["SPEC_DB_NAME"]) as conn:
            return conn.execute(sql).fetchall()
    import psycopg2

    conn = psycopg2.connect(
        host=env["SPEC_DB_HOST"], port=env["SPEC_DB_PORT"], user=env["SPEC_DB_USER"],
        dbname=env["SPEC_DB_NAME"],
    )  # fmt: skip
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def _serve(script: str, env: dict[str, str]) -> LiveClient:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        return test_client(str(SITE / script), devel=False, env=env, timeout=60)


@pytest.fixture(scope="module")
def app_alone(spec_db: dict[str, str]) -> Iterator[LiveClient]:
    """``python3 app.py``: the Django models without the Django app mounted."""
    client = _serve("app.py", spec_db)
    yield client
    client.stop()


@pytest.fixture(scope="module")
def mounted(spec_db: dict[str, str]) -> Iterator[LiveClient]:
    """``python3 serve.py``: the project's ``wsgi.py`` at ``/admin``, ``app.py`` at ``/``."""
    client = _serve("serve.py", spec_db)
    yield client
    client.stop()


@pytest.fixture
def photos(spec_db: dict[str, str]) -> dict[str, str]:
    """An empty photo table; the database's environment."""
    run_sql(spec_db, "DELETE FROM photos_photo")
    return spec_db


def add_photos(env: dict[str, str], *rows: tuple[str, str, int]) -> None:
    values = ", ".join(
        f"('{user}', '{title}', {topic}, CURRENT_TIMESTAMP)" for user, title, topic in rows
    )
    run_sql(env, f'INSERT INTO photos_photo ("user", title, topic, create_at) VALUES {values}')


def test_using_django_models(app_alone: LiveClient, photos: dict[str, str]) -> None:
    first = app_alone.get("/django/hello")
    assert first.status_code == 200, first.text
    assert first.json() == {"titles": ["My Photo"]}
    assert app_alone.get("/django/hello").json() == {"titles": ["My Photo", "My Photo"]}
    assert run_sql(photos, 'SELECT "user", title, topic FROM photos_photo') == [
        ("Hans Roh", "My Photo", 0), ("Hans Roh", "My Photo", 0),
    ]  # fmt: skip


def test_queryset_as_sql_generator(app_alone: LiveClient, photos: dict[str, str]) -> None:
    add_photos(photos, ("hans", "b-sunset", 1), ("hans", "a-river", 1), ("kim", "c-city", 2))
    answer = app_alone.get("/hello")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["data"]
    assert [(row["user"], row["title"], row["topic"]) for row in rows] == [
        ("hans", "a-river", 1), ("hans", "b-sunset", 1),
    ]  # fmt: skip
    assert set(rows[0]) == {"id", "user", "title", "topic", "create_at"}
    deferred = app_alone.get("/django/alias")
    assert deferred.status_code == 200, deferred.text
    assert deferred.json() == {"rows": [{"title": "a-river"}, {"title": "b-sunset"}]}


def test_execute_refuses_what_it_cannot_run(app_alone: LiveClient, photos: dict[str, str]) -> None:
    answer = app_alone.get("/not-a-statement")
    assert answer.status_code == 200, answer.text
    error = answer.json()["error"]
    assert "cannot run a mydjangoapp.photos.models.Photo on @django" in error
    assert "execute() takes SQL text" in error
    assert run_sql(photos, "SELECT count(*) FROM photos_photo") == [(0,)]


def test_mounted_django_project(mounted: LiveClient, photos: dict[str, str]) -> None:
    add_photos(photos, ("hans", "in-django", 0))
    django_view = mounted.get("/admin/photos/")
    assert django_view.status_code == 200, django_view.text
    assert django_view.json() == {"titles": ["in-django"], "url": "/admin/photos/"}
    login = mounted.get("/admin/login/")
    assert login.status_code == 200 and "Django administration" in login.text
    assert mounted.get("/admin/", allow_redirects=False).headers["Location"] == (
        "/admin/login/?next=/admin/"
    )
    # the alias the mount registered, named after the project
    through_alias = mounted.get("/mounted")
    assert through_alias.status_code == 200, through_alias.text
    assert through_alias.json() == {"rows": [{"title": "in-django"}]}
    # the main app at / runs the spec's model example next to the mounted project
    assert mounted.get("/django/hello").json() == {"titles": ["My Photo"]}
