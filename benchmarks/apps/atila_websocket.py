"""The Atila WebSocket echo of ``bench_websocket.py``.

* ``/ws/thread``: ``WS_CHANNEL`` (each message on the handler pool, in order);
* ``/ws/loop``: ``WS_CHANNEL | WS_NOTHREAD`` (on the event loop);
* ``/`` answers ``Hello, World!`` (the harness's readiness check)::

    python benchmarks/apps/atila_websocket.py --port 5000 --workers 2 --threads 4 --silent
"""

from __future__ import annotations

from typing import Any

import atila
import skitai

app = atila.Atila(__name__)


@app.route("/")
def index(was: Any) -> str:
    """Readiness check."""
    return "Hello, World!"


@app.route("/ws/thread")
@app.websocket(skitai.WS_CHANNEL, 600)
def echo_thread(was: Any, message: str) -> str:
    """Echo from a handler thread."""
    return message


@app.route("/ws/loop")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 600)
def echo_loop(was: Any, message: str) -> str:
    """Echo on the event loop."""
    return message


if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(port=5000)
