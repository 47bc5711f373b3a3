"""Prepared statements in the PostgreSQL corequest pool, against the real server:
what gets prepared, that results never change because of it, and recovery when a
prepared form goes stale or vanishes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from skitai.corequests import DB_PGSQL, AliasError, AliasTable, Corequests
from skitai.corequests.pg_prepare import server_form


@pytest.fixture
def hub(pg_dsn: str, pg: Any, make_hub: Callable[[AliasTable], Corequests]) -> Corequests:
    with pg.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pitem")
        cursor.execute("CREATE TABLE pitem (id serial PRIMARY KEY, name text UNIQUE, n int)")
        cursor.execute("INSERT INTO pitem (name, n) VALUES ('a', 1), ('ab', 2), ('c', 3)")
    table = AliasTable()
    # one connection per alias: the prepared statements seen are that connection's
    table.add("@one", DB_PGSQL, pg_dsn, max_conns=1)
    table.add("@small", DB_PGSQL, pg_dsn, max_conns=1, statement_cache=2)
    table.add("@off", DB_PGSQL, pg_dsn, max_conns=1, statement_cache=0)
    return make_hub(table)


def prepared_on(hub: Corequests, alias: str) -> list[str]:
    """The statements prepared on ``alias``'s only connection (this query runs once,
    so it is never prepared itself), without the ``; DEALLOCATE`` of an eviction."""
    rows = hub.query(alias, "SELECT statement FROM pg_prepared_statements").fetch()
    return sorted(row.statement.split("\n; DEALLOCATE")[0] for row in rows)


def test_placeholders_become_server_parameters() -> None:
    assert server_form("SELECT * FROM t WHERE a = %s AND b = %s", (1, 2)) == (
        "SELECT * FROM t WHERE a = $1 AND b = $2", 2, None,
    )  # fmt: skip
    assert server_form("UPDATE t SET a = %(v)s WHERE a > %(v)s OR b LIKE 'x%%'", {"v": 1}) == (
        "UPDATE t SET a = $1 WHERE a > $1 OR b LIKE 'x%'",
        1,
        ("v",),
    )
    # without parameters psycopg2 leaves '%' alone, and so do we
    assert server_form("select 1 where 'a%' like 'a%';", None) == (
        "select 1 where 'a%' like 'a%'", 0, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT 1; SELECT 2", None),  # several statements
        ("CREATE TABLE x (a int)", None),  # not a preparable kind
        ("SELECT %s, %s", (1,)),  # placeholders and values do not match
        ("SELECT %(a)s, %s", {"a": 1}),  # mixed styles
        ("SELECT %d", (1,)),  # a format psycopg2 refuses too
    ],
)
def test_statements_that_are_never_prepared(sql: str, params: Any) -> None:
    assert server_form(sql, params) is None


def test_a_repeated_statement_is_prepared_and_answers_the_same(hub: Corequests) -> None:
    sql = "SELECT n FROM pitem WHERE name = %s"
    answers = [hub.query("@one", sql, (name,)).one().n for name in ("a", "ab", "c", "a")]
    assert answers == [1, 2, 3, 1]
    assert prepared_on(hub, "@one") == ["PREPARE skitai_1 AS SELECT n FROM pitem WHERE name = $1"]


def test_a_statement_seen_once_is_not_prepared(hub: Corequests) -> None:
    assert hub.query("@one", "SELECT n FROM pitem WHERE name = 'c'").one().n == 3
    assert prepared_on(hub, "@one") == []


def test_named_parameters_and_literal_percent(hub: Corequests) -> None:
    sql = "SELECT name FROM pitem WHERE name LIKE 'a%%' AND n >= %(low)s AND n <= %(low)s + 1"
    for _ in range(3):
        rows = hub.query("@one", sql, {"low": 1}).fetch()
        assert sorted(row.name for row in rows) == ["a", "ab"]
    plain = "SELECT count(*) AS k FROM pitem WHERE name LIKE 'a%'"
    assert [hub.query("@one", plain).one().k for _ in range(3)] == [2, 2, 2]
    assert prepared_on(hub, "@one") == [
        "PREPARE skitai_1 AS SELECT name FROM pitem"
        " WHERE name LIKE 'a%' AND n >= $1 AND n <= $1 + 1",
        "PREPARE skitai_2 AS SELECT count(*) AS k FROM pitem WHERE name LIKE 'a%'",
    ]


def test_prepared_writes_report_rowcount_and_returning(hub: Corequests, pg: Any) -> None:
    update = "UPDATE pitem SET n = n + %s WHERE name = %s"
    for _ in range(3):
        task = hub.query("@one", update, (10, "a"))
        task.commit()
        assert task.dispatch().rowcount == 1
    insert = "INSERT INTO pitem (name, n) VALUES (%s, %s) RETURNING id, name"
    ids = [hub.query("@one", insert, (f"new{i}", i)).one() for i in range(3)]
    assert [row.name for row in ids] == ["new0", "new1", "new2"]
    with pg.cursor() as cursor:
        cursor.execute("SELECT n FROM pitem WHERE name = 'a'")
        assert cursor.fetchone()[0] == 31
        cursor.execute("SELECT count(*) FROM pitem WHERE name LIKE 'new%'")
        assert cursor.fetchone()[0] == 3


def test_statements_the_server_cannot_prepare_run_as_text(hub: Corequests) -> None:
    in_tuple = "SELECT name FROM pitem WHERE n IN %s ORDER BY n"
    untyped = "SELECT name FROM pitem WHERE %s IS NULL AND n = 2"  # $1 has no type
    for _ in range(3):
        assert [r.name for r in hub.query("@one", in_tuple, ((1, 3),)).fetch()] == ["a", "c"]
        assert hub.query("@one", untyped, (None,)).one().name == "ab"
    assert prepared_on(hub, "@one") == []


def test_a_statement_whose_table_changed_is_run_again(hub: Corequests, pg: Any) -> None:
    sql = "SELECT * FROM pitem WHERE id = %s"
    for _ in range(2):
        assert hub.query("@one", sql, (1,)).one() == {"id": 1, "name": "a", "n": 1}
    with pg.cursor() as cursor:
        cursor.execute("ALTER TABLE pitem ADD COLUMN extra int DEFAULT 7")
    for _ in range(3):  # stale once (run as text), then prepared anew
        assert hub.query("@one", sql, (1,)).one() == {"id": 1, "name": "a", "n": 1, "extra": 7}
    assert prepared_on(hub, "@one") == ["PREPARE skitai_2 AS SELECT * FROM pitem WHERE id = $1"]


def test_statements_deallocated_behind_the_pools_back(hub: Corequests) -> None:
    sql = "SELECT n FROM pitem WHERE name = %s"
    for _ in range(2):
        assert hub.query("@one", sql, ("c",)).one().n == 3
    hub.query("@one", "DEALLOCATE ALL").commit()
    for _ in range(3):
        assert hub.query("@one", sql, ("ab",)).one().n == 2
    assert prepared_on(hub, "@one") == ["PREPARE skitai_2 AS SELECT n FROM pitem WHERE name = $1"]


def test_the_cache_keeps_the_most_recent_statements(hub: Corequests) -> None:
    # the trailing comments must not swallow the DEALLOCATE of an eviction
    statements = [f"SELECT n + {i} AS v FROM pitem WHERE name = %s -- no. {i}" for i in range(4)]
    for i, sql in enumerate(statements):
        for _ in range(3):
            assert hub.query("@small", sql, ("c",)).one().v == 3 + i
    assert prepared_on(hub, "@small") == [
        "PREPARE skitai_3 AS SELECT n + 2 AS v FROM pitem WHERE name = $1 -- no. 2",
        "PREPARE skitai_4 AS SELECT n + 3 AS v FROM pitem WHERE name = $1 -- no. 3",
    ]


def test_statement_cache_zero_prepares_nothing(hub: Corequests) -> None:
    for _ in range(3):
        assert hub.query("@off", "SELECT n FROM pitem WHERE name = %s", ("a",)).one().n == 1
    assert prepared_on(hub, "@off") == []


def test_a_negative_statement_cache_is_refused(pg_dsn: str) -> None:
    with pytest.raises(AliasError, match="statement_cache"):
        AliasTable().add("@x", DB_PGSQL, pg_dsn, statement_cache=-1)
