"""The Atila render benchmark app, served by Skitai.

* ``GET /plaintext`` -> ``Hello, World!`` (readiness check)
* ``GET /table`` -> ``templates/table.html`` rendered by ``was.render`` with the
  50 rows of ``table_data.py`` (the same template and data as ``flask_render.py``)

Run it as a script (``skitai.run`` reads the flags from the command line)::

    python benchmarks/apps/atila_render.py --port 5000 --workers 2 --threads 4 --silent
"""

from __future__ import annotations

import os
import sys
from typing import Any

# run as a script: make ``benchmarks.apps.table_data`` importable from the repository root
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import atila  # noqa: E402
from benchmarks.apps.table_data import ROWS, TITLE  # noqa: E402

app = atila.Atila(__name__)


@app.route("/plaintext")
def plaintext(was: Any) -> str:
    """The 13-byte plain-text body."""
    was.response["Content-Type"] = "text/plain"
    return "Hello, World!"


@app.route("/table")
def table(was: Any) -> str:
    """The 50-row table page."""
    return was.render("table.html", title=TITLE, rows=ROWS)


if __name__ == "__main__":
    import skitai

    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4)
