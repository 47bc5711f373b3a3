#!/usr/bin/env python3
"""The original Skitai benchmark: two PostgreSQL queries per request, Atila's four
corequest forms against Django/gunicorn, FastAPI/asyncpg and a raw asyncpg ceiling.

Table ``foo`` (10,000 rows) is created in ``$BENCH_PG_DSN`` (default: database
``atila_bench`` on the local server, created when missing).  Every server
answers ``GET /bench`` with ``{"txs": [10 latest rows matching from_wallet_id=8 or
detail='ReturnTx'], "record_count": <count of them>}``:

| server | what |
| --- | --- |
| atila-pool, -map, -coroutine, -async | ``apps/corequests_atila.py --form ...`` on Skitai |
| django | ``apps/corequests_django`` (the ORM) on gunicorn gthread |
| fastapi | ``apps/corequests_fastapi.py`` (asyncpg) on uvicorn |
| raw | ``apps/corequests_raw.py``: asyncio + uvloop + httptools + asyncpg, no framework |

All with ``--workers`` processes (2) and ``$BENCH_POOL`` (5) database connections
per worker.  One run per connection count of ``--connection-counts`` (50 and 256).
Targets from issue 9: the best Atila form >= 0.9x the raw ceiling, >= 1.6x Django,
>= 1.2x FastAPI.

    .venv/bin/python benchmarks/bench_corequests.py [--rounds 3] [--duration 10]
    .venv/bin/python benchmarks/bench_corequests.py --check-only
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys

from harness import (
    PORT,
    ROOT,
    Server,
    Target,
    add_arguments,
    gunicorn_command,
    http_get,
    run_benchmark,
    skitai_command,
    uvicorn_command,
)

FORMS = ["pool", "map", "coroutine", "async"]
SERVER_NAMES = [f"atila-{form}" for form in FORMS] + ["django", "fastapi", "raw"]
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/atila_bench"
ROWS = 10_000

TARGETS = [
    Target(f"atila-{form}", other, ratio)
    for form in FORMS
    for other, ratio in (("raw", 0.9), ("django", 1.6), ("fastapi", 1.2))
]


def prepare_database(dsn: str) -> None:
    """Create the database and table ``foo`` with :data:`ROWS` rows when missing."""
    import psycopg2
    from psycopg2 import sql

    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.OperationalError:
        admin_dsn = dsn.rsplit("/", 1)[0] + "/postgres"
        name = dsn.rsplit("/", 1)[1].split("?")[0]
        admin = psycopg2.connect(admin_dsn)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.close()
        conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('foo') IS NOT NULL")
        exists = cursor.fetchone()[0]
        if exists:
            cursor.execute("SELECT count(*) FROM foo")
            exists = cursor.fetchone()[0] == ROWS
        if not exists:
            cursor.execute("DROP TABLE IF EXISTS foo")
            cursor.execute(
                "CREATE TABLE foo (id serial PRIMARY KEY, from_wallet_id int NOT NULL,"
                " detail text NOT NULL, amount numeric(12, 2) NOT NULL,"
                " created_at timestamptz NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO foo (from_wallet_id, detail, amount, created_at)"
                " SELECT g % 20, CASE WHEN g % 10 = 0 THEN 'ReturnTx' ELSE 'Tx' || g END,"
                " (g % 1000) + 0.25, timestamptz '2026-01-01' + g * interval '1 minute'"
                f" FROM generate_series(1, {int(ROWS)}) AS g"
            )
            for column in ("from_wallet_id", "detail", "created_at"):
                cursor.execute(f"CREATE INDEX ON foo ({column})")
            cursor.execute("ANALYZE foo")
    conn.close()


def server_commands(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    apps = ROOT / "benchmarks" / "apps"
    commands: dict[str, list[str] | None] = {
        f"atila-{form}": [*skitai_command(apps / "corequests_atila.py", args), "--form", form]
        for form in FORMS
    }
    commands["django"] = gunicorn_command(
        "benchmarks.apps.corequests_django.wsgi:application", args
    )
    commands["fastapi"] = uvicorn_command("benchmarks.apps.corequests_fastapi:app", args)
    commands["raw"] = [
        sys.executable, str(apps / "corequests_raw.py"), "--workers", str(args.workers),
        "--port", PORT,
    ]  # fmt: skip
    return commands


def _summary(answer: bytes) -> tuple[list[int], int]:
    data = json.loads(answer)
    return [row["id"] for row in data["txs"]], int(data["record_count"])


def check_answers(servers: list[Server]) -> bool:
    """Every server must give the same ten rows (by id) and the same count."""
    expected = None
    same = True
    for server in servers:
        try:
            answer = http_get(server.port, "/bench")
            got = _summary(answer.body) if answer.status == 200 else f"status {answer.status}"
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            got = f"{type(exc).__name__}: {exc}"
        expected = got if expected is None else expected
        if got != expected or isinstance(got, str):
            print(f"{server.name}: GET /bench: {got}, expected {expected}")
            same = False
    if same:
        print(f"all servers answer /bench identically ({expected[1]} matching rows)")  # type: ignore[index]
    return same


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument(
        "--connection-counts", type=int, nargs="+", default=[50, 256],
        help="one run per wrk connection count",
    )  # fmt: skip
    parser.add_argument(
        "--check-only", action="store_true", help="start the servers, compare answers, stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Prepare the database and run the benchmark once per connection count."""
    args = parse_args(argv)
    dsn = os.environ.setdefault("BENCH_PG_DSN", DEFAULT_DSN)
    os.environ.setdefault("BENCH_POOL", "5")
    prepare_database(dsn)
    code = 0
    for connections in [args.connection_counts[0]] if args.check_only else args.connection_counts:
        args.connections = connections
        print(f"\n== /bench: {connections} connections, {args.workers} workers per server")
        code |= run_benchmark(
            args, server_commands(args), {"bench": "/bench"}, TARGETS,
            ready_path="/plaintext", check=check_answers, check_only=args.check_only,
        )  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
