"""The FastAPI WebSocket echo of ``bench_websocket.py``, served by uvicorn.

``/ws/thread`` and ``/ws/loop`` are the same ``async def`` echo (FastAPI has no thread
variant worth comparing); ``/`` answers ``Hello, World!``::

    uvicorn benchmarks.apps.fastapi_websocket:app --loop uvloop --http httptools \\
        --ws websockets-sansio --workers 2 --no-access-log --port 5000
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def index() -> str:
    """Readiness check."""
    return "Hello, World!"


async def _echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app.add_api_websocket_route("/ws/thread", _echo)
app.add_api_websocket_route("/ws/loop", _echo)
