"""The spec's "Using SQL Map with SQLPhile" and "Map / Mapped Response" examples with
an SQLite file, through the in-process client (corequests on the standalone hub)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import atila
import skitai
from skitai.testing import Client


@pytest.fixture
def client(tmp_path: Path) -> Client:
    path = tmp_path / "spec.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE user (id integer PRIMARY KEY, name text, password text);"
            "INSERT INTO user VALUES (4, 'hans', 'secret'), (5, 'roh', 'secret');"
            "CREATE TABLE cities (id integer PRIMARY KEY, name text);"
            "INSERT INTO cities (name) VALUES ('virginia'), ('Virginia Beach');"
            "CREATE TABLE test (id integer PRIMARY KEY, v text);"
            "INSERT INTO test (v) VALUES ('a'), ('b');"
        )
    skitai.alias("@db", skitai.DB_SQLITE3, str(path))
    skitai.alias("@sqlite3", skitai.DB_SQLITE3, str(path))
    app = atila.Atila("spec_sqlmap")
    app.setup_sqlphile(skitai.DB_SQLITE3)

    @app.route("/")
    def index(was: Any) -> Any:
        q = was.sql.select("user").get("id, name").filter(id=4)
        req = was.db("@db").execute(q)
        result = req.dispatch()
        return was.API(rows=result.data, status=result.status)

    @app.route("/cities")
    def query(was: Any) -> Any:
        dbo = was.db("@db")
        req = dbo.select("cities").get("id, name").filter(name__like="virginia").execute()
        result = req.dispatch()
        response = req.dispatch(timeout=2)
        dbo.insert("cities").data(name="New York").execute().wait_or_throw("500 Server Error")
        count = dbo.select("cities").aggregate("count(*) AS n").execute().one().n
        return was.API(rows=result.data, same=response.data == result.data, count=count)

    @app.route("/map")
    def mapped(was: Any) -> Any:
        task = was.db("@sqlite3").execute("select * from test")
        return was.Map(result=task)

    @app.route("/then")
    def then(was: Any) -> Any:
        task = was.db("@sqlite3").execute("select * from test")
        return task.then(lambda x=was, y=task: x.API(result=y.fetch()))

    @app.route("/hidden")
    def hidden(was: Any) -> Any:
        def hide_password(rows: list[Any]) -> list[Any]:
            for row in rows:
                row.password = "****"
            return rows

        return was.Map(
            files=was.Subprocess("echo a b", filter=lambda x: x.replace(" ", "_")),
            result=was.db("@db", filter=hide_password).execute("select * from user"),
        )

    return Client(app)


def test_sql_map_examples(client: Client) -> None:
    assert client.get("/").json() == {"rows": [{"id": 4, "name": "hans"}], "status": 3}
    assert client.get("/cities").json() == {
        "rows": [{"id": 1, "name": "virginia"}],
        "same": True,
        "count": 3,
    }


def test_map_examples(client: Client) -> None:
    expected = {"result": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]}
    assert client.get("/map").json() == expected
    assert client.get("/then").json() == expected
    assert client.get("/hidden").json() == {
        "files": "a_b\n",
        "result": [
            {"id": 4, "name": "hans", "password": "****"},
            {"id": 5, "name": "roh", "password": "****"},
        ],
    }
