"""The benchmark app: a plain ASGI 3 "Hello, World!" callable (no framework).

Every server in ``benchmarks/bench_asgi.py`` serves this same callable: uvicorn
and granian import ``benchmarks.apps.hello_asgi:app``; skitai runs this file as
a script::

    python benchmarks/apps/hello_asgi.py --port 5000 --workers 2 --silent

(``skitai.run`` reads ``--port`` and ``--workers`` from the command line itself.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

BODY = b"Hello, World!"
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
RESPONSE = {"type": "http.response.body", "body": BODY}


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Answer every HTTP request with ``200 OK`` and the 13-byte plain-text body."""
    if scope["type"] != "http":  # lifespan: nothing to set up
        return
    await send(START)
    await send(RESPONSE)


if __name__ == "__main__":
    import skitai

    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2)
