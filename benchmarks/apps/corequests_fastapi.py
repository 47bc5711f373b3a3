"""The FastAPI + asyncpg side of ``bench_corequests.py`` (uvicorn, uvloop, httptools).

``GET /bench`` runs the two queries of ``corequests_atila.py`` concurrently on
two pooled asyncpg connections (``$BENCH_POOL`` per worker, default 5) and
answers ``{"txs": [...], "record_count": n}``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

TXS = (
    "SELECT * FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"
    " ORDER BY created_at DESC LIMIT 10"
)
COUNT = "SELECT count(*) AS cnt FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"
pool: Any = None


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global pool
    size = int(os.environ.get("BENCH_POOL", "5"))
    pool = await asyncpg.create_pool(os.environ["BENCH_PG_DSN"], min_size=1, max_size=size)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    """Readiness check."""
    return "Hello, World!"


async def _fetch(query: str) -> Any:
    async with pool.acquire() as conn:
        return await conn.fetch(query)


@app.get("/bench")
async def bench() -> dict[str, Any]:
    """Both queries at once."""
    txs, count = await asyncio.gather(_fetch(TXS), _fetch(COUNT))
    return {"txs": [dict(row) for row in txs], "record_count": count[0]["cnt"]}
