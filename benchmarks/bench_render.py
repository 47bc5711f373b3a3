#!/usr/bin/env python3
"""Load a 50-row HTML table page rendered by Atila on Skitai and by Flask on gunicorn.

Both apps (``benchmarks/apps/atila_render.py`` with ``was.render`` and
``benchmarks/apps/flask_render.py`` with ``render_template``) render the same
Jinja2 template (``benchmarks/apps/templates/table.html``, autoescaped) with
the same 50 rows (``benchmarks/apps/table_data.py``), with 2 worker processes
x 4 threads each (gunicorn: ``-k gthread``).  Both servers start at once and
must answer ``GET /table`` with byte-identical pages; then each round loads
``/table`` on both servers in turn (the order rotates between rounds), and
the summary prints median requests/s, p99 latency, errors and the median
per-round ratio atila/flask (target >= 1.3, issue 8).

Run it with the project's virtualenv (see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_render.py [--rounds 3] [--duration 10] [--connections 64]
    .venv/bin/python benchmarks/bench_render.py --check-only   # start, compare pages, stop
"""

from __future__ import annotations

import argparse
import http.client
import sys

from harness import (
    PORT,
    ROOT,
    Server,
    Target,
    add_arguments,
    find_executable,
    http_get,
    run_benchmark,
)

SERVER_NAMES = ["atila", "flask"]
ROUTES = {"table": "/table"}
TARGETS = [Target("atila", "flask", 1.3)]
#: Rows the page must show (``<tr class=`` per row).
ROW_COUNT = 50


def server_commands(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    workers, threads = str(args.workers), str(args.threads)
    commands: dict[str, list[str] | None] = {
        "atila": [
            sys.executable, str(ROOT / "benchmarks" / "apps" / "atila_render.py"),
            "--workers", workers, "--threads", threads, "--silent", "--port", PORT,
        ],
        "flask": None,
    }  # fmt: skip
    gunicorn = find_executable("gunicorn")
    if gunicorn is not None:
        commands["flask"] = [
            gunicorn, "-k", "gthread", "-w", workers, "--threads", threads,
            "--chdir", str(ROOT), "--log-level", "warning", "benchmarks.apps.flask_render:app",
            "-b", f"127.0.0.1:{PORT}",
        ]  # fmt: skip
    return commands


def check_pages(servers: list[Server]) -> bool:
    """Every server answers ``/table`` with a 200 HTML page of 50 rows, all byte-identical."""
    pages: dict[str, bytes] = {}
    ok = True
    for server in servers:
        try:
            answer = http_get(server.port, ROUTES["table"])
        except (OSError, http.client.HTTPException) as exc:
            print(f"{server.name}: GET /table: {type(exc).__name__}: {exc}")
            ok = False
            continue
        rows = answer.body.count(b"<tr class=")
        if answer.status != 200 or not answer.content_type.startswith("text/html"):
            print(f"{server.name}: GET /table: {answer.status} {answer.content_type!r}")
            ok = False
        elif rows != ROW_COUNT or b"&lt;Sons&gt;" not in answer.body:
            print(f"{server.name}: GET /table: {rows} rows, escaped names missing")
            ok = False
        pages[server.name] = answer.body
    if ok and len(set(pages.values())) > 1:
        sizes = ", ".join(f"{name} {len(body)} bytes" for name, body in pages.items())
        print(f"the pages differ: {sizes}")
        ok = False
    if ok:
        size = len(next(iter(pages.values()), b""))
        print(f"all servers answer /table with the same {size}-byte page ({ROW_COUNT} rows)")
    return ok


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument(
        "--check-only", action="store_true", help="start the servers, compare pages, stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    print(
        f"50-row table page (Jinja2): {args.workers} workers x {args.threads} threads; "
        "atila on skitai, flask on gunicorn gthread"
    )
    return run_benchmark(
        args,
        server_commands(args),
        ROUTES,
        TARGETS,
        ready_path="/plaintext",
        check=check_pages,
        check_only=args.check_only,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
