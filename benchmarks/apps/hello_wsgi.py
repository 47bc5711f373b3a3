"""The benchmark app: a plain WSGI "Hello, World!" callable.

Every server in ``benchmarks/bench_hello_wsgi.py`` serves this same callable:
gunicorn and granian import ``benchmarks.apps.hello_wsgi:application``; skitai
runs this file as a script::

    python benchmarks/apps/hello_wsgi.py --port 5000 --workers 2 --threads 4 --silent

(``skitai.run`` reads ``--port``, ``--workers`` and ``--threads`` from the
command line itself.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, World!"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with ``200 OK`` and the 13-byte plain-text body."""
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]


if __name__ == "__main__":
    import skitai

    skitai.mount("/", application)
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4)
