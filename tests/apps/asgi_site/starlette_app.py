"""A Starlette app for tests/skitai/test_asgi_live.py: scope facts, streaming both ways,
lifespan state and a WebSocket echo."""

import hashlib
import os
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

#: lifespan shutdown writes here, so the test can see that it ran
SHUTDOWN_MARK = os.environ.get("ASGI_SHUTDOWN_MARK", "")


@asynccontextmanager
async def lifespan(app):
    yield {"started_by": "starlette lifespan", "pid": os.getpid()}
    if SHUTDOWN_MARK:
        with open(SHUTDOWN_MARK, "a") as mark:
            mark.write(f"starlette {os.getpid()}\n")


async def scope_facts(request: Request) -> JSONResponse:
    scope = request.scope
    return JSONResponse(
        {
            "path": scope["path"],
            "root_path": scope["root_path"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query_string": scope["query_string"].decode("latin-1"),
            "route_path": request.url.path,
            "url": str(request.url),
            "scheme": scope["scheme"],
            "http_version": scope["http_version"],
            "client": list(scope["client"]),
            "server": list(scope["server"]),
            "headers_lowercase_bytes": all(
                isinstance(n, bytes) and n == n.lower() for n, _ in scope["headers"]
            ),
            "state": request.state.started_by,
            "state_pid": request.state.pid,
            "skitai": sorted(scope["extensions"]["skitai"]),
        }
    )


async def upload(request: Request) -> JSONResponse:
    digest = hashlib.sha256()
    size = chunks = 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
        chunks += 1
    return JSONResponse({"size": size, "sha256": digest.hexdigest(), "chunks": chunks})


async def download(request: Request) -> StreamingResponse:
    count = int(request.query_params.get("chunks", "3"))
    size = int(request.query_params.get("size", "10"))

    async def body():
        for i in range(count):
            yield bytes([65 + i % 26]) * size

    return StreamingResponse(body(), media_type="application/octet-stream")


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello from starlette")


async def echo(websocket: WebSocket) -> None:
    offered = websocket.scope["subprotocols"]
    await websocket.accept(
        subprotocol="chat" if "chat" in offered else None, headers=[(b"x-accepted", b"yes")]
    )
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await websocket.close(code=4000, reason="bye")
                return
            if message.get("text") is not None:
                await websocket.send_text("echo " + message["text"])
            else:
                await websocket.send_bytes(message["bytes"][::-1])
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/", hello),
        Route("/scope", scope_facts),
        Route("/upload", upload, methods=["POST", "PUT"]),
        Route("/download", download),
        WebSocketRoute("/ws", echo),
    ],
    lifespan=lifespan,
)
