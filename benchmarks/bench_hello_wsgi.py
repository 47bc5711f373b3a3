#!/usr/bin/env python3
"""Load skitai, gunicorn (gthread) and granian (wsgi) with ``wrk`` in one run.

All three serve ``benchmarks/apps/hello_wsgi.py`` at the same workers x threads.
Each round runs ``wrk`` against every server in turn (the order rotates
between rounds so no server always goes first), then a summary prints the
median requests/s, p99 latency and errors, and the median per-round ratios
skitai/gunicorn and skitai/granian.

Run it with the project's virtualenv (see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_hello_wsgi.py [--rounds 3] [--duration 10] [--connections 64]
    .venv/bin/python benchmarks/bench_hello_wsgi.py --self-test   # check the wrk parser only
"""

from __future__ import annotations

import argparse
import sys

from harness import (
    PORT,
    ROOT,
    SAMPLE_WRK_OUTPUT,
    Target,
    WrkParseError,
    WrkResult,
    add_arguments,
    find_executable,
    gunicorn_command,
    median_ratio,
    parse_wrk_output,
    run_benchmark,
    self_test,
    skitai_command,
    successes,
)

__all__ = [
    "SAMPLE_WRK_OUTPUT",
    "WrkParseError",
    "WrkResult",
    "main",
    "median_ratio",
    "parse_wrk_output",
    "self_test",
    "successes",
]

APP_SCRIPT = ROOT / "benchmarks" / "apps" / "hello_wsgi.py"
APP_SPEC = "benchmarks.apps.hello_wsgi:application"
SERVER_NAMES = ["skitai", "gunicorn", "granian"]

#: Targets from issue 4, printed next to the measured ratios.
TARGETS = [Target("skitai", "gunicorn", 2.0), Target("skitai", "granian", 0.5)]


def server_commands(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    commands = {
        "skitai": skitai_command(APP_SCRIPT, args),
        "gunicorn": gunicorn_command(APP_SPEC, args),
        "granian": None,
    }
    granian = find_executable("granian")
    if granian is not None:
        commands["granian"] = [
            granian, "--interface", "wsgi", "--workers", str(args.workers),
            "--blocking-threads", str(args.threads), "--no-access-log", "--log-level", "warning",
            "--host", "127.0.0.1", APP_SPEC, "--port", PORT,
        ]  # fmt: skip
    return commands


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument("--self-test", action="store_true", help="check the wrk parser only")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    print(f"hello-world WSGI, {args.workers} workers x {args.threads} threads")
    return run_benchmark(args, server_commands(args), {"/": "/"}, TARGETS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
