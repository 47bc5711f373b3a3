"""The Flask render benchmark app, served by gunicorn (gthread workers).

* ``GET /plaintext`` -> ``Hello, World!`` (readiness check)
* ``GET /table`` -> ``templates/table.html`` rendered by ``render_template`` with
  the 50 rows of ``table_data.py`` (the same template and data as ``atila_render.py``)

Run from the repository root::

    gunicorn -k gthread -w 2 --threads 4 -b 127.0.0.1:5000 benchmarks.apps.flask_render:app
"""

from __future__ import annotations

from flask import Flask, Response, render_template

from benchmarks.apps.table_data import ROWS, TITLE

app = Flask(__name__)


@app.get("/plaintext")
def plaintext() -> Response:
    """The 13-byte plain-text body."""
    return Response("Hello, World!", mimetype="text/plain")


@app.get("/table")
def table() -> str:
    """The 50-row table page."""
    return render_template("table.html", title=TITLE, rows=ROWS)
