#!/usr/bin/env python3
"""Load Atila on Skitai, FastAPI on uvicorn and Flask on gunicorn with ``wrk`` in one run.

The three apps (``benchmarks/apps/atila_api.py``, ``fastapi_api.py``,
``flask_api.py``) serve the same two routes, ``GET /plaintext`` and the JSON
``GET /api/items/7?q=abc&limit=10``, with 2 worker processes each (Skitai and
gunicorn with 4 threads per worker; uvicorn runs async handlers on uvloop).
All servers start at once and must answer both routes identically; then each
round loads every route on every server in turn (the server order rotates
between rounds), and a summary per route prints the median requests/s, p99
latency and errors and the median per-round ratios atila/flask (target >= 1.5)
and atila/fastapi (target >= 1.0) from issue 5.

Run it with the project's virtualenv (see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_atila_api.py [--rounds 3] [--duration 10] [--connections 64]
    .venv/bin/python benchmarks/bench_atila_api.py --check-only   # start, compare answers, stop
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys

from harness import (
    ROOT,
    Response,
    Server,
    Target,
    add_arguments,
    gunicorn_command,
    http_get,
    run_benchmark,
    skitai_command,
    uvicorn_command,
)

SERVER_NAMES = ["atila", "fastapi", "flask"]

#: label -> path loaded by wrk.
ROUTES = {
    "plaintext": "/plaintext",
    "api": "/api/items/7?q=abc&limit=10",
}

#: Every server must give these answers (media type, body) before the load starts;
#: JSON bodies are compared decoded (Flask adds a trailing newline).
EXPECTED: dict[str, tuple[str, object]] = {
    "/plaintext": ("text/plain", b"Hello, World!"),
    "/api/items/7?q=abc&limit=10": ("application/json", {"item_id": 7, "q": "abc", "limit": 10}),
    "/api/items/42": ("application/json", {"item_id": 42, "q": "", "limit": 10}),
}

#: Targets from issue 5, checked on every route.
TARGETS = [Target("atila", "flask", 1.5), Target("atila", "fastapi", 1.0)]


def server_commands(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    return {
        "atila": skitai_command(ROOT / "benchmarks" / "apps" / "atila_api.py", args),
        "fastapi": uvicorn_command("benchmarks.apps.fastapi_api:app", args),
        "flask": gunicorn_command("benchmarks.apps.flask_api:app", args),
    }


def answer_problem(path: str, answer: Response) -> str | None:
    """Why ``answer`` to ``GET path`` differs from :data:`EXPECTED`, or None."""
    media_type, body = EXPECTED[path]
    if answer.status != 200:
        return f"status {answer.status}"
    got_type = answer.content_type.split(";")[0].strip().lower()
    if got_type != media_type:
        return f"Content-Type {answer.content_type!r}, expected {media_type}"
    if isinstance(body, bytes):
        got: object = answer.body
    else:
        try:
            got = json.loads(answer.body)
        except ValueError:
            return f"body is not JSON: {answer.body[:60]!r}"
    if got != body:
        return f"body {answer.body[:80]!r}, expected {body!r}"
    return None


def check_answers(servers: list[Server]) -> bool:
    """Ask every server every path of :data:`EXPECTED`; report and return False on a mismatch."""
    same = True
    for server in servers:
        for path in EXPECTED:
            try:
                problem = answer_problem(path, http_get(server.port, path))
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                print(f"{server.name}: GET {path}: {problem}")
                same = False
    if same:
        print(f"all servers answer {len(EXPECTED)} paths identically")
    return same


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument(
        "--routes", nargs="+", choices=list(ROUTES), default=list(ROUTES), help="routes to load"
    )
    parser.add_argument(
        "--check-only", action="store_true", help="start the servers, compare answers, stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    routes = {label: ROUTES[label] for label in args.routes}
    print(
        f"Atila API: {args.workers} workers (x {args.threads} threads for atila and flask); "
        "routes: " + ", ".join(f"{label} {path}" for label, path in routes.items())
    )
    return run_benchmark(
        args,
        server_commands(args),
        routes,
        TARGETS,
        ready_path="/plaintext",
        check=check_answers,
        check_only=args.check_only,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
