"""What every app of ``benchmarks/bench_frameworks.py`` shares: the scenarios' fixed parts.

The three scenarios of py-frameworks-bench (github.com/klen/py-frameworks-bench), written
here for each framework from the scenario descriptions (no upstream code):

* ``html``   -- ``GET /html``: ``<b>HTML OK</b>`` as ``text/html`` with an ``x-time``
  header holding ``time.time()``;
* ``api``    -- ``PUT /api/users/<int:user>/records/<int:record>?query=test`` with a JSON
  body: ``401`` without an ``Authorization`` header, else the JSON object
  ``{"params": {"user": 1, "record": 1}, "query": {"query": "test"}, "data": <body>}``;
* ``upload`` -- ``POST /upload``, a ``multipart/form-data`` body with a 1 KiB ``file``
  part: the file is stored under :func:`upload_dir` and its path answered as
  ``text/plain`` (``400`` without a file).

Each app also has the ten routes upstream adds so that routing has more than three
entries to look through (``/route-<n>`` and ``/route-dyn-<n>/<part>``, n = 0..4).
"""

from __future__ import annotations

import os
import tempfile
import uuid

HTML = "<b>HTML OK</b>"
#: environment variable naming the directory uploads are stored in (the script cleans it)
UPLOAD_DIR_ENV = "PFB_UPLOAD_DIR"


def upload_dir() -> str:
    """Where uploaded files go: ``$PFB_UPLOAD_DIR``, else the system temp directory."""
    return os.environ.get(UPLOAD_DIR_ENV) or tempfile.gettempdir()


def upload_path() -> str:
    """A new unique file path under :func:`upload_dir`."""
    return os.path.join(upload_dir(), uuid.uuid4().hex)


def store(data: bytes) -> str:
    """Write an uploaded file's bytes to a new file; return its path."""
    path = upload_path()
    with open(path, "wb") as target:
        target.write(data)
    return path
