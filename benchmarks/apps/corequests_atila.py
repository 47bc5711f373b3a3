"""The Atila side of ``bench_corequests.py``: ``GET /bench`` in one of four forms.

The route issues the original Skitai benchmark's two queries on table ``foo``
and answers ``{"txs": [10 rows], "record_count": n}``.  ``--form`` picks how:

* ``pool``: blocking ``fetch()`` on the handler thread (the queries still run
  concurrently on the event loop);
* ``map``: ``was.Map`` (no handler thread waits);
* ``coroutine``: an ``@app.coroutine`` generator yielding ``was.Tasks``;
* ``async``: an ``async def`` handler awaiting both queries on the loop.

The database is ``$BENCH_PG_DSN``; each worker keeps up to ``$BENCH_POOL`` (5)
connections::

    python benchmarks/apps/corequests_atila.py --form map --workers 2 --threads 4 --port 5000
"""

from __future__ import annotations

import os
from typing import Any

import atila
import skitai

TXS = (
    "SELECT * FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"
    " ORDER BY created_at DESC LIMIT 10"
)
COUNT = "SELECT count(*) AS cnt FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"

app = atila.Atila(__name__)


@app.route("/plaintext")
def plaintext(was: Any) -> Any:
    """Readiness check."""
    was.response["Content-Type"] = "text/plain"
    return "Hello, World!"


def bench_pool(was: Any) -> Any:
    """Both queries start at once; the handler thread waits for them."""
    with was.db("@bench") as db:
        txs, count = db.execute(TXS), db.execute(COUNT)
        return was.API(txs=txs.fetch(), record_count=count.one().cnt)


def bench_map(was: Any) -> Any:
    """``was.Map``: the response is built once both are done."""
    with was.db("@bench") as db:
        return was.Map(txs=db.execute(TXS), record_count__cnt=db.execute(COUNT))


def bench_coroutine(was: Any) -> Any:
    """A generator coroutine: the thread is free while the queries run."""
    with was.db("@bench") as db:
        tasks = yield was.Tasks(txs=db.execute(TXS), count=db.execute(COUNT))
    return was.API(txs=tasks["txs"].fetch(), record_count=tasks["count"].one().cnt)


async def bench_async(was: Any) -> Any:
    """``async def`` on the worker's event loop."""
    db = was.db("@bench")
    txs, count = db.execute(TXS), db.execute(COUNT)
    await txs
    await count
    return was.API(txs=txs.fetch(), record_count=count.one().cnt)


FORMS = {"pool": bench_pool, "map": bench_map, "coroutine": bench_coroutine, "async": bench_async}

if __name__ == "__main__":
    skitai.add_option("--form", choices=list(FORMS), default="pool", help="handler form")
    form = skitai.options().form
    app.route("/bench", coroutine=form == "coroutine")(FORMS[form])
    pool = int(os.environ.get("BENCH_POOL", "5"))
    skitai.alias("@bench", skitai.DB_PGSQL, os.environ["BENCH_PG_DSN"], max_conns=pool)
    skitai.mount("/", app)
    skitai.run()
