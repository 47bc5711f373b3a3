"""Starlette at /svc, FastAPI at /api, a hand-written ASGI app at /raw (and at /tiny with a
1000-byte body limit) beside a WSGI app at /: for tests/skitai/test_asgi_live.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fastapi_app import app as fastapi_app  # noqa: E402
from starlette_app import app as starlette_app  # noqa: E402

import skitai  # noqa: E402


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi at " + environ["PATH_INFO"].encode()]


skitai.mount("/svc", starlette_app)
skitai.mount("/api", fastapi_app)
skitai.mount("/raw", "raw_app:app")
with skitai.preference() as pref:
    pref.max_client_body_size = 1000
    skitai.mount("/tiny", "raw_app:app", pref)
skitai.mount("/", wsgi)
skitai.run(body_timeout=3.0, max_client_body_size=64 * 1024 * 1024)
