"""Corequest tests: a PostgreSQL table set up per test module, SQLite files in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[object]:
    """A psycopg2 connection (autocommit) to the session's test database."""
    import psycopg2

    conn = psycopg2.connect(pg_dsn)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()
