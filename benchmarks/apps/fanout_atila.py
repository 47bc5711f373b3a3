"""The Atila chat room of ``bench_fanout.py``: ``WS_GROUPCHAT`` on the event loop.

* ``/room``: whatever a member sends goes to every member, on every worker (and,
  with ``--broker``, every engine);
* ``/`` answers ``Hello, World!`` (the harness's readiness check)::

    python benchmarks/apps/fanout_atila.py --port 5000 --workers 2 [--broker redis://...]
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


@app.route("/room")
@app.websocket(skitai.WS_GROUPCHAT | skitai.WS_NOTHREAD, 600)
def room(was: Any, message: str) -> str:
    """Fan the message out to the room."""
    return message


if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(workers=2, threads=4, name="bench-fanout")
