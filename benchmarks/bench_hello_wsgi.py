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
import tempfile
from pathlib import Path

from harness import (
    ROOT,
    SAMPLE_WRK_OUTPUT,
    Round,
    Server,
    Target,
    WrkParseError,
    WrkResult,
    add_wrk_arguments,
    find_executable,
    free_port,
    median_ratio,
    parse_wrk_output,
    print_round,
    print_summary,
    require_wrk,
    run_rounds,
    run_wrk,
    running,
    self_test,
    successes,
    wrk_options,
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
    """Command line of each server without its port (``None``: not installed)."""
    workers, threads = str(args.workers), str(args.threads)
    commands: dict[str, list[str] | None] = {
        "skitai": [
            sys.executable, str(APP_SCRIPT), "--workers", workers, "--threads", threads,
            "--port",
        ],
        "gunicorn": None,
        "granian": None,
    }  # fmt: skip
    gunicorn = find_executable("gunicorn")
    if gunicorn is not None:
        commands["gunicorn"] = [
            gunicorn, "-k", "gthread", "-w", workers, "--threads", threads,
            "--chdir", str(ROOT), "--log-level", "warning", APP_SPEC, "-b",
        ]  # fmt: skip
    granian = find_executable("granian")
    if granian is not None:
        commands["granian"] = [
            granian, "--interface", "wsgi", "--workers", workers, "--blocking-threads", threads,
            "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", APP_SPEC,
            "--port",
        ]  # fmt: skip
    return commands


def build_servers(args: argparse.Namespace, log_dir: Path) -> list[Server]:
    """The servers to compare; a missing executable is reported and left out."""
    commands = server_commands(args)
    servers = []
    for name in args.servers:
        argv = commands[name]
        if argv is None:
            print(f"{name}: not installed, skipped (pip install -e .[bench])")
            continue
        port = free_port()
        bind = f"127.0.0.1:{port}" if name == "gunicorn" else str(port)
        servers.append(Server(name, [*argv, bind], port, log_dir / f"{name}.log"))
    return servers


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_wrk_arguments(parser)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="server threads per worker")
    parser.add_argument(
        "--servers", nargs="+", choices=SERVER_NAMES, default=SERVER_NAMES,
        help="servers to compare",
    )  # fmt: skip
    parser.add_argument("--self-test", action="store_true", help="check the wrk parser only")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    wrk = require_wrk()
    if wrk is None:
        return 1
    options = wrk_options(args)
    print(
        f"hello-world WSGI, {args.workers} workers x {args.threads} threads; "
        f"{options.describe()}, {args.rounds} rounds"
    )
    with tempfile.TemporaryDirectory(prefix="bench-hello-") as log_dir:
        servers = build_servers(args, Path(log_dir))
        try:
            with running(servers) as ready:
                if not ready:
                    print("no server started")
                    return 1

                def report(number: int, label: str, round_: Round) -> None:
                    print_round(number, round_)

                results = run_rounds(
                    ready,
                    {"/": "/"},
                    args.rounds,
                    lambda server, path: run_wrk(wrk, server.url(path), options),
                    report,
                )
                print_summary(results["/"], [server.name for server in ready], TARGETS)
        except KeyboardInterrupt:
            print("\ninterrupted: servers stopped")
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
