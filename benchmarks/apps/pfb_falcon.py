"""py-frameworks-bench's scenarios on Falcon's ASGI app (see ``pfb_common.py``), for uvicorn."""

from __future__ import annotations

import time

import falcon
import falcon.asgi
from pfb_common import HTML, store


class Ok:
    """One of the ten extra routes."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, **_: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "ok"


class Html:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("x-time", f"{time.time()}")
        resp.text = HTML


class Api:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""

    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user: int, record: int
    ) -> None:
        if req.get_header("authorization") is None:
            resp.status = falcon.HTTP_401
            resp.text = "ERROR"
            return
        resp.media = {
            "params": {"user": user, "record": record},
            "query": dict(req.params),
            "data": await req.get_media(),
        }


class Upload:
    """Store the multipart ``file`` part; answer its path."""

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        path = None
        if req.content_type and req.content_type.startswith("multipart/form-data"):
            form = await req.get_media()
            async for part in form:
                if part.name == "file":
                    path = store(await part.stream.read())
        resp.content_type = falcon.MEDIA_TEXT
        if path is None:
            resp.status = falcon.HTTP_400
            resp.text = "ERROR"
        else:
            resp.text = path


app = falcon.asgi.App()
for _n in range(5):
    app.add_route(f"/route-{_n}", Ok())
    app.add_route(f"/route-dyn-{_n}/{{part}}", Ok())
app.add_route("/html", Html())
app.add_route("/api/users/{user:int}/records/{record:int}", Api())
app.add_route("/upload", Upload())
