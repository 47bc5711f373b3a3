"""The Atila benchmark app, served by Skitai.

Two routes, answering exactly what ``fastapi_api.py`` and ``flask_api.py`` answer:

* ``GET /plaintext`` -> ``Hello, World!`` (``text/plain``)
* ``GET /api/items/<int:item_id>?q=<str>&limit=<int>`` -> JSON
  ``{"item_id": 7, "q": "abc", "limit": 10}`` (``q`` defaults to ``""``, ``limit`` to 10)

Run it as a script (``skitai.run`` reads the flags from the command line)::

    python benchmarks/apps/atila_api.py --port 5000 --workers 2 --threads 4 --silent
"""

from __future__ import annotations

from typing import Any

import atila

app = atila.Atila(__name__)


@app.route("/plaintext")
def plaintext(was: Any) -> str:
    """The 13-byte plain-text body."""
    was.response["Content-Type"] = "text/plain"
    return "Hello, World!"


@app.route("/api/items/<int:item_id>")
@app.inspect(ints=["limit"])
def items(was: Any, item_id: int, q: str = "", limit: int = 10) -> Any:
    """A JSON API answer built from one path and two query parameters."""
    return was.API(item_id=item_id, q=q, limit=limit)


if __name__ == "__main__":
    import skitai

    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4)
