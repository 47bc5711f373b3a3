"""py-frameworks-bench's scenarios on FastAPI (see ``pfb_common.py``), for uvicorn."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pfb_common import HTML, store

app = FastAPI()

for _n in range(5):
    app.get(f"/route-{_n}", response_class=HTMLResponse)(lambda: "ok")
    app.get(f"/route-dyn-{_n}/{{part}}", response_class=HTMLResponse)(lambda part: "ok")


@app.get("/html", response_class=HTMLResponse)
async def html() -> Response:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""
    return HTMLResponse(HTML, headers={"x-time": f"{time.time()}"})


@app.put("/api/users/{user}/records/{record}")
async def api(request: Request, user: int, record: int) -> Any:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""
    if request.headers.get("authorization") is None:
        return Response("ERROR", status_code=401)
    return {
        "params": {"user": user, "record": record},
        "query": dict(request.query_params),
        "data": await request.json(),
    }


@app.post("/upload", response_class=PlainTextResponse)
async def upload(file: UploadFile | None = None) -> Response:
    """Store the multipart ``file`` part; answer its path."""
    if file is None:
        return Response("ERROR", status_code=400)
    return PlainTextResponse(store(await file.read()))
