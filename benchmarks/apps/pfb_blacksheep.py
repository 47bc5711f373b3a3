"""py-frameworks-bench's scenarios on BlackSheep (see ``pfb_common.py``), for uvicorn."""

from __future__ import annotations

import time

from blacksheep import Application, Request, Response, html, json, text
from pfb_common import HTML, store

app = Application()


async def ok(request: Request) -> Response:
    """One of the ten extra routes."""
    return html("ok")


for _n in range(5):
    app.router.add_get(f"/route-{_n}", ok)
    app.router.add_get(f"/route-dyn-{_n}/{{part}}", ok)


@app.router.get("/html")
async def html_page(request: Request) -> Response:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""
    response = html(HTML)
    response.add_header(b"x-time", f"{time.time()}".encode())
    return response


@app.router.put("/api/users/{int:user}/records/{int:record}")
async def api(request: Request, user: int, record: int) -> Response:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""
    if not request.has_header(b"authorization"):
        return text("ERROR", 401)
    query = {name: values[0] for name, values in request.query.items()}
    return json({"params": {"user": user, "record": record}, "query": query,
                 "data": await request.json()})  # fmt: skip


@app.router.post("/upload")
async def upload(request: Request) -> Response:
    """Store the multipart ``file`` part; answer its path."""
    files = await request.files("file")
    if not files:
        return text("ERROR", 400)
    return text(store(files[0].data))
