"""The Flask benchmark app, served by gunicorn (gthread workers).

Two routes, answering exactly what ``atila_api.py`` and ``fastapi_api.py`` answer:

* ``GET /plaintext`` -> ``Hello, World!`` (``text/plain``)
* ``GET /api/items/<int:item_id>?q=<str>&limit=<int>`` -> JSON
  ``{"item_id": 7, "q": "abc", "limit": 10}`` (``q`` defaults to ``""``, ``limit`` to 10)

Run from the repository root::

    gunicorn -k gthread -w 2 --threads 4 -b 127.0.0.1:5000 benchmarks.apps.flask_api:app

(gunicorn writes no access log unless ``--access-logfile`` is given.)
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

app = Flask(__name__)
app.json.sort_keys = False  # type: ignore[attr-defined]  # same key order as the others


@app.get("/plaintext")
def plaintext() -> Response:
    """The 13-byte plain-text body."""
    return Response("Hello, World!", mimetype="text/plain")


@app.get("/api/items/<int:item_id>")
def items(item_id: int) -> Response:
    """A JSON API answer built from one path and two query parameters."""
    q = request.args.get("q", "")
    limit = request.args.get("limit", 10, type=int)
    return jsonify(item_id=item_id, q=q, limit=limit)
