"""The engine's corequest hub against the real PostgreSQL server (no framework):
pooling, concurrency, timeouts, a database that is down or drops connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from skitai.corequests import (
    DB_PGSQL,
    STATUS_FAILED,
    STATUS_NORMAL,
    STATUS_TIMEOUT,
    AliasTable,
    BackendUnavailable,
    Corequests,
    CorequestTimeout,
    HTTPStatusError,
    Row,
    WouldBlock,
)


@pytest.fixture
def hub(pg_dsn: str, pg: Any, make_hub: Callable[[AliasTable], Corequests]) -> Corequests:
    with pg.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS item")
        cursor.execute("CREATE TABLE item (id serial PRIMARY KEY, name text UNIQUE, n int)")
        cursor.execute("INSERT INTO item (name, n) VALUES ('a', 1), ('b', 2), ('c', 3)")
    table = AliasTable()
    table.add("@db", DB_PGSQL, pg_dsn, max_conns=3)
    table.add("@one", DB_PGSQL, pg_dsn, max_conns=1)
    table.add("@down", DB_PGSQL, "127.0.0.1:1/nodb/postgres")
    return make_hub(table)


def test_rows_are_dicts_with_attributes(hub: Corequests) -> None:
    rows = hub.query("@db", "SELECT id, name FROM item ORDER BY id").fetch()
    assert rows == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    assert isinstance(rows[0], Row) and rows[0].name == "a"
    rows[0].name = "changed"
    assert rows[0]["name"] == "changed"
    with pytest.raises(AttributeError):
        _ = rows[0].missing


def test_parameters_are_never_pasted(hub: Corequests) -> None:
    evil = "x'); DROP TABLE item; --"
    hub.query("@db", "INSERT INTO item (name, n) VALUES (%s, %s)", (evil, 9)).commit()
    row = hub.query("@db", "SELECT name FROM item WHERE n = %s", (9,)).one()
    assert row.name == evil
    assert len(hub.query("@db", "SELECT * FROM item").fetch()) == 4


def test_one_and_its_errors(hub: Corequests) -> None:
    assert hub.query("@db", "SELECT n FROM item WHERE name = 'b'").one() == {"n": 2}
    with pytest.raises(HTTPStatusError) as none:
        hub.query("@db", "SELECT n FROM item WHERE name = 'zz'").one()
    assert none.value.status == "404 Not Found"
    with pytest.raises(HTTPStatusError) as many:
        hub.query("@db", "SELECT n FROM item").one()
    assert many.value.status == "409 Conflict"


def test_two_queries_run_concurrently(hub: Corequests) -> None:
    started = time.monotonic()
    slow = hub.query("@db", "SELECT pg_sleep(0.6), 1 AS a")
    slower = hub.query("@db", "SELECT pg_sleep(0.8), 2 AS b")
    assert slow.one().a == 1 and slower.one().b == 2
    elapsed = time.monotonic() - started
    assert 0.8 <= elapsed < 1.2  # the slower one, not the sum (1.4)


def test_max_conns_limits_concurrency(hub: Corequests) -> None:
    started = time.monotonic()
    tasks = [hub.query("@one", "SELECT pg_sleep(0.3)") for _ in range(3)]
    for task in tasks:
        task.commit()
    assert time.monotonic() - started >= 0.85  # one connection: one after the other
    assert hub.pool("@one").size == 1


def test_an_idle_connection_is_reused(hub: Corequests) -> None:
    # A readiness event that comes after its statement read the data must not make
    # the pool take a healthy idle connection for a dead one.
    pids = {hub.query("@one", "SELECT pg_backend_pid() AS pid").one().pid for _ in range(5)}
    assert len(pids) == 1


def test_sql_error_is_the_drivers_and_dispatch_keeps_it(hub: Corequests) -> None:
    with pytest.raises(psycopg2.errors.UndefinedTable):
        hub.query("@db", "SELECT * FROM nosuch").fetch()
    result = hub.query("@db", "SELECT * FROM nosuch").dispatch()
    assert result.status == STATUS_FAILED and result.status_code == 500
    assert isinstance(result.expt, psycopg2.errors.UndefinedTable)
    with pytest.raises(HTTPStatusError) as thrown:
        hub.query("@db", "SELECT * FROM nosuch").wait_or_throw("503 Try Later")
    assert thrown.value.status == "503 Try Later"
    # the connection that saw the error is still usable
    assert hub.query("@db", "SELECT 1 AS x").one().x == 1


def test_unique_violation(hub: Corequests) -> None:
    with pytest.raises(psycopg2.errors.UniqueViolation):
        hub.query("@db", "INSERT INTO item (name, n) VALUES ('a', 5)").commit()


def test_statement_list_is_one_transaction(hub: Corequests) -> None:
    hub.query(
        "@db",
        ["INSERT INTO item (name, n) VALUES ('d', 4)", "UPDATE item SET n = 40 WHERE name = 'd'"],
    ).commit()
    assert hub.query("@db", "SELECT n FROM item WHERE name = 'd'").one().n == 40
    failing = [
        "INSERT INTO item (name, n) VALUES ('e', 5)",
        "INSERT INTO item (name, n) VALUES ('a', 6)",
    ]
    with pytest.raises(psycopg2.errors.UniqueViolation):
        hub.query("@db", failing).commit()
    assert hub.query("@db", "SELECT * FROM item WHERE name = 'e'").fetch() == []


def test_timeout_is_504_and_cancels_the_query(hub: Corequests, pg: Any) -> None:
    result = hub.query("@db", "SELECT pg_sleep(5), 'sleepy' AS tag", timeout=0.3).dispatch()
    assert result.status == STATUS_TIMEOUT and result.status_code == 504
    with pytest.raises(CorequestTimeout):
        hub.query("@db", "SELECT pg_sleep(5)", timeout=0.2).fetch()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with pg.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'"
                " AND state = 'active'"
            )
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.05)
    else:
        pytest.fail("the timed-out statement still runs on the server")
    assert hub.query("@db", "SELECT 1 AS x").one().x == 1


def test_database_down_is_503(hub: Corequests) -> None:
    result = hub.query("@down", "SELECT 1").dispatch()
    assert result.status_code == 503
    with pytest.raises(BackendUnavailable) as down:
        hub.query("@down", "SELECT 1").fetch()
    assert down.value.status == "503 Service Unavailable"
    assert "@down" in str(down.value)


def test_dropped_connections_reconnect(hub: Corequests, pg: Any) -> None:
    tasks = [hub.query("@db", "SELECT pg_sleep(0.1), pg_backend_pid() AS pid") for _ in range(3)]
    before = {task.one().pid for task in tasks}
    assert len(before) == 3
    with pg.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", (list(before),))
    time.sleep(0.2)
    after = {hub.query("@db", "SELECT pg_backend_pid() AS pid").one().pid for _ in range(4)}
    assert after.isdisjoint(before)
    assert hub.pool("@db").size <= 3


def test_filter_callback_meta_and_then(hub: Corequests) -> None:
    seen: list[Any] = []
    done = threading.Event()

    def callback(result: Any) -> None:
        seen.append(result.data)
        done.set()

    def names(rows: list[Row]) -> list[str]:
        return [row.name for row in rows]

    task = hub.query(
        "@db", "SELECT name FROM item ORDER BY id", filter=names, callback=callback, meta={"k": 1}
    )
    assert task.fetch() == ["a", "b", "c"]
    assert done.wait(2) and seen == [["a", "b", "c"]]
    assert task.meta == {"k": 1} and task.dispatch().meta == {"k": 1}
    then = task.then(lambda who, t: (who, t.fetch()))
    assert then.resolve("me") == ("me", ["a", "b", "c"])
    result = task.dispatch()
    assert result.status == STATUS_NORMAL and result.status_code == 200 and result.rowcount == 3


def test_await_on_the_loop_and_no_blocking_there(hub: Corequests) -> None:
    async def handler() -> Any:
        task = hub.query("@db", "SELECT count(*) AS n FROM item")
        with pytest.raises(WouldBlock):
            task.fetch()
        return (await task).one().n

    assert hub.coroutine(handler()).raw(5) == 3
