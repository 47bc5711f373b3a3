"""``was.db``, ``then``, ``was.Map``, tasks, coroutines and ``async def`` handlers through
a real Skitai server, against PostgreSQL and an SQLite file."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import pytest

from skitai.testing import LiveClient

SERVE = """
import asyncio
import math
import os
import time

import atila
import skitai
from sqlphile import Q

app = atila.Atila(__name__)

def double(x):
    return x * 2

@app.route("/two")
def two(was):
    with was.db("@pg") as db:
        a = db.execute("SELECT pg_sleep(0.6), 1 AS a")
        b = db.execute("SELECT pg_sleep(0.8), 2 AS b")
        return was.API(a=a.one().a, b=b.one().b)

@app.route("/then")
def then(was, sleep=0.5):
    task = was.db("@pg").execute("SELECT pg_sleep(%s), 'slept' AS word", (float(sleep),))
    return task.then(lambda was, task: was.API(word=task.one().word, meta=task.meta))

@app.route("/fast")
def fast(was):
    return "fast"

def create_cache(res):
    app.store.set("NAMES", [row.name for row in res.data])

@app.mounted
def mounted(was):
    was.db("@pg", callback=create_cache).execute("SELECT name FROM item ORDER BY id")

@app.route("/cache")
def cache(was):
    return was.API(names=app.store.get("NAMES"))

@app.route("/map")
def mapped(was):
    with was.db("@pg") as db:
        root = (db.select("item").order_by("-id").limit(2)
                  .filter(Q(n__gte=2) | Q(name="a")))
        return was.Map(
            was.Thread(time.sleep, args=(0.05,)),
            files=was.Subprocess("echo hello"),
            result=root.clone().execute(),
            record_count__one=root.clone().aggregate("count (id) as cnt").execute(),
            count__one__cnt=root.clone().aggregate("count (id) as cnt").execute(),
            short__cnt=root.clone().aggregate("count (id) as cnt").execute(),
            plain=42,
        )

@app.route("/map/status")
def map_status(was):
    return was.Map("210 Something", result=was.Mask([1, 2]), __maxage=60)

@app.route("/map/etag")
def map_etag(was):
    task = was.db("@pg").execute("SELECT 'v1' AS version, now() AS updated")
    return was.Map(row__one=task, __etag="row.version", __mtime="row.updated")

@app.route("/map/timeout")
def map_timeout(was):
    return was.Map(slow=was.db("@pg").execute("SELECT pg_sleep(2)"), __timeout=0.3)

@app.route("/mapped")
def mapped_tasks(was):
    def hide(rows):
        for row in rows:
            row.name = "****"
        return rows
    tasks = was.Tasks(
        names=was.db("@pg", filter=hide).execute("SELECT name FROM item ORDER BY id"),
        sq=was.Process(math.sqrt, args=(16.0,)),
    )
    return was.Mapped(tasks)

@app.route("/tasks")
def tasks(was):
    tasks = was.Tasks(
        was.Thread(double, args=(21,)),
        files=was.Subprocess("echo hi"),
        result=was.db("@pg").execute("SELECT count(*) AS n FROM item"),
    )
    doubled, files, result = tasks.fetch()
    return was.API(doubled=doubled, files=files, n=result[0].n)

@app.route("/process")
def process(was):
    def respond(was, task):
        return was.API(result=task.fetch(), a=task.meta["a"])
    return was.Process(math.sqrt, args=(4.0,), meta={"a": 1}).then(respond)

@app.route("/thread")
def thread(was):
    def respond(was, task):
        return was.API(result=task.fetch())
    return was.Thread(double, args=(4,)).then(respond)

@app.route("/threadpass")
def threadpass(was):
    def respond(was, a):
        n = was.db("@pg").execute("SELECT count(*) AS n FROM item").one().n
        return was.API(result=a, n=n, path=was.request.path)
    return was.ThreadPass(respond, args=(4.0,))

@app.route("/lite", methods=["GET", "POST"])
def lite(was, name=None):
    with was.db("@lite") as db:
        if was.request.method == "POST":
            db.insert("note").data(name=name).execute().commit()
            return was.API("201 Created")
        return was.API(rows=db.select("note").get("name").order_by("name").execute().fetch())

@app.route("/down")
def down(was):
    return was.API(rows=was.db("@down").execute("SELECT 1").fetch())

@app.route("/slow")
def slow(was):
    return was.API(rows=was.db("@pg", timeout=0.3).execute("SELECT pg_sleep(3)").fetch())

@app.route("/pid")
def pid(was):
    return was.API(pid=was.db("@pg").execute("SELECT pg_backend_pid() AS pid").one().pid)

@app.route("/none")
def none(was):
    return was.db("@pg").execute("SELECT 1 FROM item WHERE false").one()

@app.route("/dispatch")
def dispatch(was):
    result = was.db("@pg").execute("SELECT * FROM nosuch").dispatch(timeout=2)
    return was.API(status=result.status, code=result.status_code)

@app.route("/throw")
def throw(was):
    was.db("@pg").execute("SELECT * FROM nosuch").wait_or_throw("503 Try Later")

@app.route("/sql")
def sql(was):
    q = was.sql.select("item").get("name").filter(n__gte=2).order_by("name")
    mapped = was.db("@pg").sql.items.by_n.feed(n=1).execute()
    return was.API(rows=was.db("@pg").execute(q).fetch(), mapped=mapped.fetch())

@app.route("/coroutine", coroutine=True)
def coroutine(was):
    task1 = yield was.db("@pg").execute("SELECT pg_sleep(0.3), 1 AS a")
    task2 = yield was.Mask("mask")
    tasks = yield was.Tasks(b=was.Thread(double, args=(2,)), c=was.Mask(3))
    return was.API(a=task1.one().a, m=task2.fetch(), **tasks.fetch())

@app.route("/csv")
@app.coroutine
def csv(was):
    yield "ID, NAME\\n"
    current = 0
    while True:
        task = yield (was.db("@pg").select("item").get("id, name")
                        .filter(id__gt=current).order_by("id").limit(2)).execute()
        rows = task.fetch()
        if not rows:
            break
        current = rows[-1].id
        yield "".join('{}, "{}"\\n'.format(row.id, row.name) for row in rows)

@app.route("/async")
async def async_handler(was, sleep=0.3):
    a = was.db("@pg").execute("SELECT pg_sleep(%s), 1 AS a", (float(sleep),))
    b = was.db("@pg").execute("SELECT pg_sleep(%s), 2 AS b", (float(sleep),))
    await asyncio.gather(a, b)
    await asyncio.sleep(0.01)
    return was.API(a=(await a).one().a, b=b.one().b, path=was.request.path)

if __name__ == "__main__":
    skitai.alias("@pg", skitai.DB_PGSQL, os.environ["TEST_PG_DSN"], max_conns=4)
    skitai.alias("@lite", skitai.DB_SQLITE3, "lite.db")
    skitai.alias("@down", skitai.DB_PGSQL, "127.0.0.1:1/nodb/postgres")
    app.setup_sqlphile(skitai.DB_PGSQL)
    skitai.mount("/", app)
    skitai.run(workers=1, threads=1)
"""

SQLMAP = """<sqlmap version="1.0">
<sql name="by_n">
SELECT name FROM item WHERE n > {n} ORDER BY name
</sql>
</sqlmap>
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: Any, pg_dsn: str) -> Any:
    import sqlite3
    import textwrap

    import psycopg2

    from skitai.testing import test_client

    conn = psycopg2.connect(pg_dsn)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS item")
        cursor.execute("CREATE TABLE item (id serial PRIMARY KEY, name text, n int)")
        cursor.execute("INSERT INTO item (name, n) VALUES ('a', 1), ('b', 2), ('c', 3)")
    conn.close()
    site = tmp_path_factory.mktemp("was_live")
    (site / "serve.py").write_text(textwrap.dedent(SERVE))
    (site / "sqlmaps").mkdir()
    (site / "sqlmaps" / "items.sql").write_text(SQLMAP)
    with sqlite3.connect(site / "lite.db") as lite:
        lite.execute("CREATE TABLE note (id integer PRIMARY KEY, name text)")
    client = test_client(str(site / "serve.py"), devel=False, env={"TEST_PG_DSN": pg_dsn})
    yield client
    client.stop()


def test_two_queries_take_the_time_of_the_slower(live: LiveClient) -> None:
    started = time.monotonic()
    response = live.get("/two")
    elapsed = time.monotonic() - started
    assert response.json() == {"a": 1, "b": 2}
    assert 0.8 <= elapsed < 1.25  # not 1.4


def test_then_frees_the_only_handler_thread(live: LiveClient) -> None:
    # threads=1: while /then waits for PostgreSQL, the thread serves /fast.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        waiting = [
            pool.submit(live.clone().get, "/then", params={"sleep": "0.8"}) for _ in range(3)
        ]
        time.sleep(0.2)
        fast = live.clone().get("/fast")
        fast_elapsed = time.monotonic() - started
        results = [f.result() for f in waiting]
        total = time.monotonic() - started
    assert fast.text == "fast" and fast_elapsed < 0.7
    assert [r.json() for r in results] == [{"word": "slept", "meta": {}}] * 3
    assert total < 1.5  # three 0.8 s waits at once on one handler thread


def test_mounted_hook_with_callback(live: LiveClient) -> None:
    # spec "App Lifecycle Hook": was.db(..., callback=...) in @app.mounted
    deadline = time.monotonic() + 5
    while live.get("/cache").json()["names"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.get("/cache").json() == {"names": ["a", "b", "c"]}


def test_map_naming_rules(live: LiveClient) -> None:
    body = live.get("/map").json()
    assert body["files"] == "hello\n"
    assert [row["name"] for row in body["result"]] == ["c", "b"]
    assert body["record_count"] == {"cnt": 3}
    assert body["count"] == 3 and body["short"] == 3 and body["plain"] == 42
    assert set(body) == {"files", "result", "record_count", "count", "short", "plain"}


def test_map_status_headers_and_timeout(live: LiveClient) -> None:
    response = live.get("/map/status")
    assert response.status_code == 210 and response.json() == {"result": [1, 2]}
    assert response.headers["Cache-Control"] == "max-age=60"
    tagged = live.get("/map/etag")
    assert tagged.status_code == 200 and tagged.json()["row"]["version"] == "v1"
    assert tagged.headers["ETag"] and tagged.headers["Last-Modified"]
    again = live.get("/map/etag", headers={"If-None-Match": tagged.headers["ETag"]})
    assert again.status_code == 304
    started = time.monotonic()
    assert live.get("/map/timeout").status_code == 504
    assert time.monotonic() - started < 1.5


def test_mapped_tasks_with_filter_and_process(live: LiveClient) -> None:
    assert live.get("/mapped").json() == {"names": [{"name": "****"}] * 3, "sq": 4.0}


def test_tasks_thread_process_threadpass(live: LiveClient) -> None:
    assert live.get("/tasks").json() == {"doubled": 42, "files": "hi\n", "n": 3}
    assert live.get("/process").json() == {"result": 2.0, "a": 1}
    assert live.get("/thread").json() == {"result": 8}
    assert live.get("/threadpass").json() == {"result": 4.0, "n": 3, "path": "/threadpass"}


def test_sqlite_alias(live: LiveClient) -> None:
    assert live.post("/lite", data={"name": "O'Neil"}).status_code == 201
    assert live.post("/lite", data={"name": "b"}).status_code == 201
    assert live.get("/lite").json() == {"rows": [{"name": "O'Neil"}, {"name": "b"}]}


def test_failures_carry_their_status(live: LiveClient) -> None:
    down = live.get("/down", headers={"Accept": "application/json"})
    assert down.status_code == 503
    assert "@down is unavailable" in down.json()["detail"]
    started = time.monotonic()
    assert live.get("/slow").status_code == 504
    assert time.monotonic() - started < 2
    assert live.get("/none").status_code == 404
    assert live.get("/dispatch").json() == {"status": 1, "code": 500}
    assert live.get("/throw").status_code == 503


def test_dropped_connections_recover(live: LiveClient, pg: Any) -> None:
    first = live.get("/pid").json()["pid"]
    with pg.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    time.sleep(0.2)
    responses = [live.get("/pid") for _ in range(5)]
    assert all(r.status_code == 200 for r in responses)
    assert first not in {r.json()["pid"] for r in responses}


def test_sql_builder_and_sqlmaps(live: LiveClient) -> None:
    assert live.get("/sql").json() == {
        "rows": [{"name": "b"}, {"name": "c"}],
        "mapped": [{"name": "b"}, {"name": "c"}],
    }


def test_generator_coroutine(live: LiveClient) -> None:
    assert live.get("/coroutine").json() == {"a": 1, "m": "mask", "b": 4, "c": 3}


def test_coroutine_streams_rows(live: LiveClient) -> None:
    response = live.get("/csv")
    assert response.status_code == 200
    assert response.text == 'ID, NAME\n1, "a"\n2, "b"\n3, "c"\n'


def test_async_def_handler(live: LiveClient) -> None:
    started = time.monotonic()
    assert live.get("/async", params={"sleep": "0.5"}).json() == {"a": 1, "b": 2, "path": "/async"}
    assert time.monotonic() - started < 0.9  # both queries at once (not 1.0)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        results = list(
            pool.map(lambda _: live.clone().get("/async", params={"sleep": "0.5"}), range(4))
        )
    assert all(r.status_code == 200 for r in results)
    assert time.monotonic() - started < 1.6  # 4 handlers on one thread: not 4 x 1.0 s
