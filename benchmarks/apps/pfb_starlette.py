"""py-frameworks-bench's scenarios on Starlette (see ``pfb_common.py``), for uvicorn."""

from __future__ import annotations

import time

from pfb_common import HTML, store
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def ok(request: Request) -> Response:
    """One of the ten extra routes."""
    return HTMLResponse("ok")


async def html(request: Request) -> Response:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""
    return HTMLResponse(HTML, headers={"x-time": f"{time.time()}"})


async def api(request: Request) -> Response:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""
    if request.headers.get("authorization") is None:
        return Response("ERROR", status_code=401)
    return JSONResponse(
        {
            "params": request.path_params,
            "query": dict(request.query_params),
            "data": await request.json(),
        }
    )


async def upload(request: Request) -> Response:
    """Store the multipart ``file`` part; answer its path."""
    form = await request.form()
    file = form.get("file")
    if file is None or isinstance(file, str):
        return Response("ERROR", status_code=400)
    return PlainTextResponse(store(await file.read()))


routes = [Route(f"/route-{n}", ok) for n in range(5)]
routes += [Route(f"/route-dyn-{n}/{{part}}", ok) for n in range(5)]
routes += [
    Route("/html", html),
    Route("/api/users/{user:int}/records/{record:int}", api, methods=["PUT"]),
    Route("/upload", upload, methods=["POST"]),
]
app = Starlette(routes=routes)
