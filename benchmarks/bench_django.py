#!/usr/bin/env python3
"""The demo project on Skitai vs Django on gunicorn: the admin changelist and the photos API.

A copy of ``demo_project`` is made in a temporary directory (SQLite inside it,
or with ``--postgres`` a fresh PostgreSQL database), migrated, given
a superuser, 50 photos, a logged-in admin session and a JWT.  Two servers
share its SQLite database, 2 worker processes x 4 threads each:

* ``skitai`` — the copy's ``serve.py``: Django admin at ``/admin`` and the
  Atila ``/api/v1`` (Django ORM), as the demo runs;
* ``gunicorn`` — the copy's Django WSGI app on gunicorn ``gthread`` with
  ``benchmarks/apps/django_bench_urls.py``: the same admin at ``/admin/`` and
  the photos list API as a plain Django view.

Both sides run the demo's settings (``demo/settings.py``: persistent database
connections, ``CONN_MAX_AGE`` 600), verify the same JWT, load the same active
user with one query, run the same ``values(...)`` photo query and answer the
same rows (``created`` in ISO 8601); the check compares every field.

wrk sends the session cookie and the bearer token with every request.  Routes
and targets (issue 10): ``/admin/photos/photo/`` (the changelist) skitai /
gunicorn >= 1.0, ``/api/v1/<uid>/photos`` skitai / gunicorn >= 2.0; also
``/api/v2/<uid>/photos`` (Atila's QuerySet-corequest form; gunicorn answers
it with the same plain view) >= 2.0.

    .venv/bin/python benchmarks/bench_django.py [--rounds 3] [--duration 10] [--connections 64]
    .venv/bin/python benchmarks/bench_django.py --check-only
    .venv/bin/python benchmarks/bench_django.py --postgres postgresql://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness import (
    PORT,
    ROOT,
    Server,
    Target,
    add_arguments,
    find_executable,
    run_benchmark,
    skitai_command,
)

SERVER_NAMES = ["skitai", "gunicorn"]
PHOTOS = 50
_PREPARE = (
    f"PHOTOS = {PHOTOS}\n"
    + """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
import django_bridge
from photos.models import Photo

user = User.objects.create_superuser("bench", "bench@example.com", "bench-pass-1")
Photo.objects.bulk_create(
    Photo(owner=user, title=f"photo {i}", image_url=f"https://example.com/{i}.jpg")
    for i in range(PHOTOS)
)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key, django_bridge.issue_token(user, 86400), user.pk)
"""
)


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the PostgreSQL server; return its URL."""
    import psycopg2

    parts = urlsplit(server_url)
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password or None, dbname="postgres",
    )  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def prepare_demo(directory: Path) -> tuple[Path, str, str, int]:
    """A migrated demo copy with the bench data: ``(root, session key, token, user id)``."""
    root = directory / "demo_project"
    shutil.copytree(
        ROOT / "demo_project", root, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__")
    )
    (root / "static" / "plaintext").write_text("Hello, World!")  # the harness's readiness check
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=root, check=True)
    out = (
        subprocess.run(
            [*manage, "shell", "-c", _PREPARE], cwd=root, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
        .split()
    )
    return root, out[0], out[1], int(out[2])


def server_commands(args: argparse.Namespace, root: Path) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    commands: dict[str, list[str] | None] = {
        "skitai": skitai_command(root / "serve.py", args),
        "gunicorn": None,
    }
    gunicorn = find_executable("gunicorn")
    if gunicorn is not None:
        commands["gunicorn"] = [
            gunicorn, "-k", "gthread", "-w", str(args.workers), "--threads", str(args.threads),
            "--chdir", str(root), "--pythonpath", f"{root},{ROOT}", "--log-level", "warning",
            "--env", "DJANGO_SETTINGS_MODULE=benchmarks.apps.django_bench_settings",
            "demo.wsgi:application", "-b", f"127.0.0.1:{PORT}",
        ]  # fmt: skip
    return commands


def _get(port: int, path: str, headers: list[str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=dict(h.split(": ", 1) for h in headers))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def make_check(headers: list[str], api_path: str) -> object:
    """The equivalence check: the changelist lists the photos, the APIs list the same rows."""

    def check(servers: list[Server]) -> bool:
        ok = True
        listings = {}
        for server in servers:
            status, body = _get(server.port, "/admin/photos/photo/", headers)
            if status != 200 or b"photo 49" not in body:
                print(f"{server.name}: changelist answered {status}")
                ok = False
            status, body = _get(server.port, api_path, headers)
            if status != 200:
                print(f"{server.name}: {api_path} answered {status}")
                ok = False
                continue
            rows = json.loads(body)["rows"]
            listings[server.name] = [
                (r["id"], r["uid"], r["title"], r["image_url"], r["created"]) for r in rows
            ]
        if ok and len({json.dumps(v) for v in listings.values()}) != 1:
            print("the photo lists differ")
            ok = False
        if ok:
            print(f"both servers show the changelist and the same {PHOTOS} rows")
        return ok

    return check


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument("--check-only", action="store_true", help="start, compare, stop")
    parser.add_argument(
        "--postgres", metavar="DSN_URL",
        help="run both on PostgreSQL: a server URL such as postgresql://postgres@127.0.0.1:5432 "
        "(the database atila_bench_django is created afresh)",
    )  # fmt: skip
    parser.add_argument(
        "--changelist-connections", type=int, default=8, metavar="N",
        help="wrk connections for the admin changelist (a page of tens of milliseconds: "
        "64 clients would only measure wrk's 2-second timeouts)",
    )  # fmt: skip
    parser.add_argument(
        "--routes", nargs="+", choices=["changelist", "api", "api-corequests"],
        default=["changelist", "api", "api-corequests"],
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    if args.postgres:
        # read by the demo's settings in every process started from here
        os.environ["DATABASE_URL"] = fresh_database(args.postgres, "atila_bench_django")
    with tempfile.TemporaryDirectory(prefix="bench-django-") as directory:
        root, session_key, token, uid = prepare_demo(Path(directory))
        args.headers = [f"Cookie: sessionid={session_key}", f"Authorization: Bearer {token}"]
        api_path = f"/api/v1/{uid}/photos"
        routes = {
            "changelist": ("/admin/photos/photo/", 1.0),
            "api": (api_path, 2.0),
            "api-corequests": (f"/api/v2/{uid}/photos", 2.0),
        }
        status = 0
        for label in args.routes:
            path, ratio = routes[label]
            print(f"\n{label} {path}: {args.workers} workers x {args.threads} threads; "
                  "skitai (serve.py) vs Django on gunicorn gthread")  # fmt: skip
            route_args = argparse.Namespace(**vars(args))
            if label == "changelist":
                route_args.connections = args.changelist_connections
            status |= run_benchmark(
                route_args, server_commands(args, root), {label: path},
                [Target("skitai", "gunicorn", ratio)], ready_path="/plaintext",
                check=make_check(args.headers, api_path), check_only=args.check_only,
            )  # fmt: skip
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
