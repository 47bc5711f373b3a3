"""The FastAPI benchmark app, served by uvicorn (uvloop + httptools).

Two routes, answering exactly what ``atila_api.py`` and ``flask_api.py`` answer:

* ``GET /plaintext`` -> ``Hello, World!`` (``text/plain``)
* ``GET /api/items/{item_id}?q=<str>&limit=<int>`` -> JSON
  ``{"item_id": 7, "q": "abc", "limit": 10}`` (``q`` defaults to ``""``, ``limit`` to 10)

Both handlers are ``async def`` (FastAPI's fast path: no thread pool hop)::

    uvicorn benchmarks.apps.fastapi_api:app --loop uvloop --http httptools \\
        --workers 2 --no-access-log --port 5000          # from the repository root
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    """The 13-byte plain-text body."""
    return "Hello, World!"


@app.get("/api/items/{item_id}")
async def items(item_id: int, q: str = "", limit: int = 10) -> dict[str, int | str]:
    """A JSON API answer built from one path and two query parameters."""
    return {"item_id": item_id, "q": q, "limit": limit}
