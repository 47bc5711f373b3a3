"""Where an Atila handler runs, measured: one JSON route in four forms, one server.

Every route answers ``GET .../<item_id>?q=abc&limit=10`` with
``{"item_id": 7, "q": "abc", "limit": 10}`` (the ``api`` route of ``atila_api.py``):

* ``/async/7``: an ``async def`` handler, dispatched on the event loop (no thread);
* ``/def/7``: a plain ``def`` handler, routed on the loop, run on a handler thread;
* ``/nothread/7``: a ``def`` handler with ``nothread=True``, all on the loop;
* ``/old/async/7``, ``/old/def/7``: the same app behind a plain WSGI function,
  which has no ``call_on_loop``: every request takes the thread path, as before
  Atila ran on the loop (the async handler's coroutine still runs on the loop).

Run it as a script (``skitai.run`` reads the flags from the command line)::

    python benchmarks/apps/atila_onloop.py --port 5000 --workers 2 --threads 4 --silent
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import atila

app = atila.Atila(__name__)


@app.route("/def/<int:item_id>")
@app.inspect(ints=["limit"])
def items_def(was: Any, item_id: int, q: str = "", limit: int = 10) -> Any:
    """On a handler thread."""
    return was.API(item_id=item_id, q=q, limit=limit)


@app.route("/async/<int:item_id>")
@app.inspect(ints=["limit"])
async def items_async(was: Any, item_id: int, q: str = "", limit: int = 10) -> Any:
    """On the event loop."""
    return was.API(item_id=item_id, q=q, limit=limit)


@app.route("/nothread/<int:item_id>", nothread=True)
@app.inspect(ints=["limit"])
def items_nothread(was: Any, item_id: int, q: str = "", limit: int = 10) -> Any:
    """On the event loop, without a coroutine."""
    return was.API(item_id=item_id, q=q, limit=limit)


def thread_path(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The app as a plain WSGI callable: the engine never calls it on the loop."""
    return app(environ, start_response)


if __name__ == "__main__":
    import skitai

    skitai.mount("/old", thread_path)
    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4)
