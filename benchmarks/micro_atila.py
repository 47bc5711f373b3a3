"""In-process microbenchmark of Atila's per-request CPU (no sockets, no server).

Calls an app's WSGI callable N times per route with a prebuilt environ (what
``skitai.server.wsgi.build_environ`` makes for a ``wrk`` request) and prints
microseconds per request: the median and the best of ``--repeat`` timed runs.
This is the framework's own cost, the part of ``cpu us/req`` in
``bench_atila_api.py`` that Atila controls.

Routes:

* ``plaintext`` -- ``GET /plaintext`` of ``apps/atila_api.py``;
* ``api``       -- ``GET /api/items/7?q=abc&limit=10`` of ``apps/atila_api.py``
  (``@app.inspect(ints=["limit"])``, ``was.API``);
* ``post``      -- ``POST /api/items`` with a 33-byte JSON body, on an app defined
  here (``@app.inspect(ints=["limit"])``, ``was.API("201 Created", ...)``);
* ``null``      -- a bare WSGI callable: the cost of this harness itself.

Each call copies the environ (a server builds a fresh one per request) and, for
``post``, gives it a fresh ``wsgi.input``; the body is joined and closed as a
server would.  Every answer is checked before timing.

    .venv/bin/python benchmarks/micro_atila.py                 # all routes
    .venv/bin/python benchmarks/micro_atila.py -n 50000 --repeat 7 --routes api post
    .venv/bin/python benchmarks/micro_atila.py --profile api   # cProfile, top 30
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "apps"))

from atila_api import app as api_app  # noqa: E402

import atila  # noqa: E402

post_app = atila.Atila("micro_atila_post")


@post_app.route("/api/items", methods=["POST"])
@post_app.inspect(ints=["limit"])
def create_item(was: Any, name: str, limit: int = 10) -> Any:
    """A JSON POST route: two body parameters, one converted."""
    return was.API("201 Created", name=name, limit=limit)


def _null_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


POST_BODY = json.dumps({"name": "widget", "limit": "10"}).encode()


def base_environ(method: str, path: str, query: str = "", body: bytes | None = None) -> dict:
    """An environ shaped like skitai's ``build_environ`` for a wrk request."""
    target = path + ("?" + query if query else "")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_URI": target,
        "RAW_URI": target,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1:5000",
    }
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = "application/json"
    return environ


#: name -> (app, environ, body bytes, expected status, expected body)
ROUTES: dict[str, tuple[Any, dict[str, Any], bytes | None, str, bytes]] = {
    "null": (_null_app, base_environ("GET", "/"), None, "200 OK", b"ok"),
    "plaintext": (api_app, base_environ("GET", "/plaintext"), None, "200 OK", b"Hello, World!"),
    "api": (
        api_app,
        base_environ("GET", "/api/items/7", "q=abc&limit=10"),
        None,
        "200 OK",
        b'{"item_id":7,"q":"abc","limit":10}',
    ),
    "post": (
        post_app,
        base_environ("POST", "/api/items", body=POST_BODY),
        POST_BODY,
        "201 Created",
        b'{"name":"widget","limit":10}',
    ),
}


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    _start_response.status = status  # type: ignore[attr-defined]
    return None


def make_caller(name: str) -> Callable[[], bytes]:
    """One request to route ``name``: a fresh environ copy, the body joined and closed."""
    app, environ, body, _, _ = ROUTES[name]
    BytesIO = io.BytesIO

    if body is None:

        def call() -> bytes:
            result = app(dict(environ), _start_response)
            data = b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()
            return data

    else:

        def call() -> bytes:
            env = dict(environ)
            env["wsgi.input"] = BytesIO(body)
            result = app(env, _start_response)
            data = b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()
            return data

    return call


def check(name: str) -> None:
    """Stop when route ``name`` does not answer what it should."""
    _, _, _, status, expected = ROUTES[name]
    got = make_caller(name)()
    got_status = _start_response.status  # type: ignore[attr-defined]
    if got_status != status or got != expected:
        raise SystemExit(f"{name}: got {got_status} {got!r}, expected {status} {expected!r}")


def time_route(name: str, n: int, repeat: int) -> list[float]:
    """µs per request of ``repeat`` runs of ``n`` calls each (after a warm-up run)."""
    call = make_caller(name)
    for _ in range(min(n, 2000)):
        call()
    runs: list[float] = []
    gc_was_enabled = gc.isenabled()
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - start) / n * 1e6)
    if gc_was_enabled:
        gc.enable()
    return runs


def profile(name: str, n: int) -> None:
    """cProfile ``n`` calls of route ``name`` and print the top 30 by internal time."""
    import cProfile
    import pstats

    call = make_caller(name)
    for _ in range(1000):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="calls per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per route")
    parser.add_argument("--routes", nargs="+", choices=list(ROUTES), default=list(ROUTES))
    parser.add_argument("--profile", choices=list(ROUTES), help="cProfile one route instead")
    args = parser.parse_args(argv)
    for name in ROUTES:
        check(name)
    if args.profile:
        profile(args.profile, args.n)
        return
    print(f"{'route':<10} {'median us/req':>14} {'best us/req':>12}   (n={args.n} x {args.repeat})")
    for name in args.routes:
        runs = time_route(name, args.n, args.repeat)
        print(f"{name:<10} {statistics.median(runs):>14.2f} {min(runs):>12.2f}")


if __name__ == "__main__":
    main()
