#!/usr/bin/env python3
"""ASGI apps on skitai vs uvicorn (uvloop + httptools) vs granian (ASGI mode), one run.

Two apps, each served by all three servers with the same number of worker
processes and no access log:

* ``hello``: ``benchmarks/apps/hello_asgi.py``, a bare ASGI 3 callable answering
  ``Hello, World!`` at ``/``;
* ``fastapi``: ``benchmarks/apps/fastapi_api.py``, FastAPI's JSON route
  ``/api/items/7?q=abc&limit=10`` (and ``/plaintext``, for the readiness check).

Each round loads every server in turn with ``wrk`` (the order rotates), then a
summary prints medians and the median per-round ratios against issue 17's
targets: skitai >= 1.3x uvicorn and >= 0.7x granian.

    .venv/bin/python benchmarks/bench_asgi.py [--apps hello fastapi] [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys

from bench_atila_api import check_answers
from harness import (
    PORT,
    ROOT,
    Target,
    add_arguments,
    find_executable,
    run_benchmark,
    skitai_command,
    uvicorn_command,
)

SERVER_NAMES = ["skitai", "uvicorn", "granian"]
APPS = ROOT / "benchmarks" / "apps"
#: app label -> (skitai script, import spec for uvicorn/granian, paths to load, ready path)
APP_CHOICES = {
    "hello": (APPS / "hello_asgi.py", "benchmarks.apps.hello_asgi:app", {"hello": "/"}, "/"),
    "fastapi": (
        APPS / "fastapi_skitai.py",
        "benchmarks.apps.fastapi_api:app",
        {"json": "/api/items/7?q=abc&limit=10"},
        "/plaintext",
    ),
}
#: Targets from issue 17.
TARGETS = [Target("skitai", "uvicorn", 1.3), Target("skitai", "granian", 0.7)]


def granian_command(app_spec: str, args: argparse.Namespace) -> list[str] | None:
    """granian in ASGI mode with W workers, no access log (None: not installed)."""
    granian = find_executable("granian")
    if granian is None:
        return None
    return [
        granian, "--interface", "asgi", "--workers", str(args.workers), "--no-access-log",
        "--log-level", "warning", "--host", "127.0.0.1", app_spec, "--port", PORT,
    ]  # fmt: skip


def server_commands(app: str, args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server for ``app`` (``None``: not installed)."""
    script, spec, _, _ = APP_CHOICES[app]
    return {
        "skitai": skitai_command(script, args),
        "uvicorn": uvicorn_command(spec, args),
        "granian": granian_command(spec, args),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument(
        "--apps", nargs="+", choices=list(APP_CHOICES), default=list(APP_CHOICES),
        help="apps to serve (one run each)",
    )  # fmt: skip
    parser.add_argument(
        "--check-only", action="store_true", help="start the servers, compare answers, stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark for each app; return the process exit code (the worst)."""
    args = parse_args(argv)
    code = 0
    for app in args.apps:
        _, _, paths, ready = APP_CHOICES[app]
        print(f"\n== ASGI {app}: {args.workers} workers each, " + ", ".join(paths.values()))
        code = max(
            code,
            run_benchmark(
                args,
                server_commands(app, args),
                paths,
                TARGETS,
                ready_path=ready,
                check=check_answers if app == "fastapi" else None,
                check_only=args.check_only,
            ),
        )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
