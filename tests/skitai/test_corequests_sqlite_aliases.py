"""Alias registration and the SQLite backend of the corequest hub (no framework)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import skitai
from skitai.corequests import (
    DB_PGSQL,
    DB_SQLITE3,
    PROTO_HTTP,
    AliasError,
    AliasTable,
    Corequests,
    TaskGroup,
    completed,
    registry,
)
from skitai.corequests.aliases import pg_dsn


def test_pg_targets() -> None:
    assert pg_dsn("db.local:6543/shop/app/s3cret") == (
        "host=db.local port=6543 dbname=shop user=app password=s3cret"
    )
    assert pg_dsn("127.0.0.1/shop") == "host=127.0.0.1 port=5432 dbname=shop"
    assert pg_dsn("h:1/d/u/it's") == "host=h port=1 dbname=d user=u password='it\\'s'"
    assert pg_dsn("postgresql://u@h/d") == "postgresql://u@h/d"


def test_alias_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = AliasTable()
    with pytest.raises(AliasError):
        table.add("mydb", DB_PGSQL, "h/d")
    with pytest.raises(AliasError):
        table.add("@x", "*oracle", "h/d")
    with pytest.raises(AliasError):
        table.add("@mem", DB_SQLITE3, ":memory:")
    with pytest.raises(AliasError):
        table.get("@nope")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(AliasError, match="DATABASE_URL"):
        table.add("@env", DB_PGSQL)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d")
    assert table.add("@env", DB_PGSQL).location == "postgresql://u@h/d"
    monkeypatch.setenv("MYAPI_URL", "http://api.local:8080/v1/")
    assert table.add("@myapi", PROTO_HTTP).location == "http://api.local:8080/v1"
    lite = table.add("@lite", DB_SQLITE3, str(tmp_path / "x.db"), max_conns=2)
    assert lite.location == str(tmp_path / "x.db") and lite.max_conns == 2
    assert "@lite" in table and len(table) == 3


def test_skitai_facade_registers_in_the_process_table(tmp_path: Path) -> None:
    alias = skitai.alias("@facade_test", skitai.DB_SQLITE3, str(tmp_path / "f.db"))
    assert registry.get("@facade_test") is alias
    assert (skitai.DB_PGSQL, skitai.DB_SQLITE3, skitai.PROTO_HTTP) == (
        "*postgresql",
        "*sqlite3",
        "http",
    )


@pytest.fixture
def hub(tmp_path: Path, make_hub: Callable[[AliasTable], Corequests]) -> Corequests:
    table = AliasTable()
    table.add("@lite", DB_SQLITE3, str(tmp_path / "lite.db"), max_conns=2)
    return make_hub(table)


def test_sqlite_queries_and_transactions(hub: Corequests) -> None:
    hub.query("@lite", "CREATE TABLE t (id integer PRIMARY KEY, name text UNIQUE)").commit()
    hub.query("@lite", "INSERT INTO t (name) VALUES (?)", ("it's",)).commit()
    rows = hub.query("@lite", "SELECT id, name FROM t").fetch()
    assert rows == [{"id": 1, "name": "it's"}] and rows[0].name == "it's"
    with pytest.raises(Exception, match="UNIQUE"):
        hub.query(
            "@lite", ["INSERT INTO t (name) VALUES ('b')", "INSERT INTO t (name) VALUES ('it''s')"]
        ).commit()
    assert hub.query("@lite", "SELECT count(*) AS n FROM t").one().n == 1  # rolled back
    result = hub.query("@lite", "SELECT * FROM nosuch").dispatch()
    assert result.status_code == 500 and "nosuch" in str(result.expt)


def test_sqlite_runs_off_the_loop(hub: Corequests) -> None:
    hub.query("@lite", "CREATE TABLE s (x)").commit()
    slow = hub.thread(time.sleep, (0.3,))
    started = time.monotonic()
    for _ in range(5):
        hub.query("@lite", "SELECT 1").commit()
    assert time.monotonic() - started < 0.3
    slow.commit()


def test_task_group_and_masks(hub: Corequests) -> None:
    group = TaskGroup(completed(1), named=completed("x"))
    assert group.fetch() == [1, "x"]
    assert TaskGroup(a=completed(1), b=hub.thread(pow, (2, 5))).fetch() == {"a": 1, "b": 32}
    assert group["named"].fetch() == "x" and len(group) == 2
    assert hub.subprocess("echo out").fetch() == "out\n"
    failed = hub.subprocess("echo oops >&2; exit 3").dispatch()
    assert failed.status_code == 500 and "oops" in str(failed.expt)


SLOW_SQLITE = (  # counts to a billion: minutes, unless interrupted
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)"
    " SELECT count(*) AS c FROM n"
)


def test_sqlite_statement_past_its_timeout_is_interrupted(hub: Corequests) -> None:
    started = time.monotonic()
    result = hub.query("@lite", SLOW_SQLITE, timeout=0.3).dispatch()
    elapsed = time.monotonic() - started
    assert result.status_code == 504 and "interrupted" in str(result.expt)
    assert elapsed < 1.0  # stopped at its deadline, not left running on the executor
    # both executor threads are free again: the next statements run at once
    assert [hub.query("@lite", "SELECT 2 AS x").one().x for _ in range(4)] == [2, 2, 2, 2]


def test_sqlite_from_the_loop_and_with_a_callback(hub: Corequests) -> None:
    import asyncio
    import threading

    seen: list[Any] = []
    called = threading.Event()

    def callback(result: Any) -> None:
        seen.append((result, threading.current_thread().name))
        called.set()

    hub.query("@lite", "SELECT 3 AS x", callback=callback).commit()

    async def on_loop() -> int:
        task = hub.query("@lite", "SELECT 4 AS x")
        return (await task).one().x

    assert asyncio.run_coroutine_threadsafe(on_loop(), hub.loop).result(5) == 4
    assert called.wait(5)
    ((result, thread_name),) = seen
    assert result.fetch() == [{"x": 3}]
    assert not thread_name.startswith("skitai-sqlite")  # callbacks run on the loop thread
