"""``/svc``: a Starlette service mounted beside Django and Atila on the same engine.

An ASGI app: the engine calls it on its event loop.  It reads the same database
through Django's ORM (its async API), so the three apps share one set of data.
"""

from __future__ import annotations

from photos.models import Photo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


async def photos(request: Request) -> JSONResponse:
    """The photo count and the mount point the service sees."""
    count = await Photo.objects.acount()
    return JSONResponse(
        {"service": "starlette", "photos": count, "root_path": request.scope["root_path"]}
    )


async def shout(websocket: WebSocket) -> None:
    """Answers each text message in upper case."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text.upper())


app = Starlette(routes=[Route("/photos", photos), WebSocketRoute("/shout", shout)])
