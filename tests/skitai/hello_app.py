"""A served "Hello, World!" WSGI app for live tests that load the engine.

Run as a script by ``test_restart_under_load.py`` through ``skitai.test_client``
(which adds ``--port``); the test passes ``--workers``.  ``/`` answers a 13-byte
``text/plain`` body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, World!"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with ``200 OK`` and :data:`BODY`."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


if __name__ == "__main__":
    import skitai

    skitai.mount("/", application)
    skitai.run(ip="127.0.0.1", workers=2, threads=4)
