"""py-frameworks-bench's scenarios on Sanic (see ``pfb_common.py``), on Sanic's own server."""

from __future__ import annotations

import time

from pfb_common import HTML, store
from sanic import Request, Sanic
from sanic.response import HTTPResponse, html, json, text

app = Sanic("pfb_sanic")


async def ok(request: Request, part: str = "") -> HTTPResponse:
    """One of the ten extra routes."""
    return html("ok")


for _n in range(5):
    app.add_route(ok, f"/route-{_n}", name=f"route{_n}")
    app.add_route(ok, f"/route-dyn-{_n}/<part>", name=f"routedyn{_n}")


@app.get("/html")
async def html_page(request: Request) -> HTTPResponse:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""
    return html(HTML, headers={"x-time": f"{time.time()}"})


@app.put("/api/users/<user:int>/records/<record:int>")
async def api(request: Request, user: int, record: int) -> HTTPResponse:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""
    if request.headers.get("authorization") is None:
        return text("ERROR", 401)
    query = {name: values[0] for name, values in request.args.items()}
    return json({"params": {"user": user, "record": record}, "query": query,
                 "data": request.json})  # fmt: skip


@app.post("/upload")
async def upload(request: Request) -> HTTPResponse:
    """Store the multipart ``file`` part; answer its path."""
    file = request.files.get("file") if request.files else None
    if file is None:
        return text("ERROR", 400)
    return text(store(file.body))
