#!/usr/bin/env python3
"""A plain WSGI hello over HTTP/2 cleartext (h2c): skitai vs hypercorn vs granian, with h2load.

Every server serves ``benchmarks/apps/hello_wsgi.py``'s callable with the same
number of worker processes and no access log: skitai runs the script, hypercorn
imports it (WSGI, its asyncio workers), granian in WSGI mode with ``--http 2``.
Load: ``h2load -c 64 -m 10`` (64 connections, 10 concurrent streams each) with
prior knowledge, for ``--duration`` seconds per run; rounds rotate the order.
The summary gives median requests/s and the ratios against issue 18's target
(skitai >= 2x hypercorn); granian's figure is reported.

h2load reports no percentiles: the "p99" column holds h2load's *mean* time per
request, and is labelled so in the output.

    .venv/bin/python benchmarks/bench_h2.py [--workers 2] [--rounds 3] [--duration 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys

from harness import (
    PORT,
    ROOT,
    Output,
    Target,
    WrkResult,
    add_arguments,
    find_executable,
    run_benchmark,
    run_tool,
    skitai_command,
)

SERVER_NAMES = ["skitai", "hypercorn", "granian"]
APP_SCRIPT = ROOT / "benchmarks" / "apps" / "hello_wsgi.py"
APP_SPEC = "benchmarks.apps.hello_wsgi:application"
#: Target from issue 18.
TARGETS = [Target("skitai", "hypercorn", 2.0)]
STREAMS_PER_CONNECTION = 10

_FINISHED = re.compile(r"finished in [\d.]+\w+, ([\d.]+) req/s")
_REQUESTS = re.compile(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored")  # fmt: skip  # noqa: E501
_STATUS = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
_REQUEST_TIME = re.compile(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)")


def hypercorn_command(args: argparse.Namespace) -> list[str] | None:
    """hypercorn (asyncio workers) serving the WSGI app, W workers (None: not installed)."""
    hypercorn = find_executable("hypercorn")
    if hypercorn is None:
        return None
    return [
        hypercorn, "--workers", str(args.workers), "--log-level", "warning",
        "--bind", f"127.0.0.1:{PORT}", APP_SPEC,
    ]  # fmt: skip


def granian_command(args: argparse.Namespace) -> list[str] | None:
    """granian in WSGI mode, HTTP/2, W workers, no access log (None: not installed)."""
    granian = find_executable("granian")
    if granian is None:
        return None
    return [
        granian, "--interface", "wsgi", "--http", "auto", "--workers", str(args.workers),
        "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", "--port", PORT,
        APP_SPEC,
    ]  # fmt: skip


def parse_h2load(text: str) -> WrkResult:
    """The figures of one h2load run (``ValueError`` when the output is not h2load's)."""
    finished, requests = _FINISHED.search(text), _REQUESTS.search(text)
    status, request_time = _STATUS.search(text), _REQUEST_TIME.search(text)
    if finished is None or requests is None or status is None:
        raise ValueError("not h2load output:\n" + text[-1500:])
    mean_ms = 0.0
    if request_time is not None:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[request_time.group(2)]
        mean_ms = float(request_time.group(1)) * scale
    done = int(requests.group(2))
    return WrkResult(
        requests_per_sec=float(finished.group(1)),
        p99_ms=mean_ms,
        requests=done,
        socket_errors=int(requests.group(4)) + int(requests.group(5)),
        non_2xx=int(status.group(3)) + int(status.group(4)),  # 4xx and 5xx
    )


def make_load(args: argparse.Namespace, h2load: str) -> object:
    """``load(url)``: one h2load run against ``url`` as a :class:`WrkResult`."""

    def load(url: str) -> WrkResult | str:
        argv = [
            h2load, "-c", str(args.connections), "-m", str(STREAMS_PER_CONNECTION),
            "-t", str(args.wrk_threads), "-D", str(args.duration), "--warm-up-time", "1", url,
        ]  # fmt: skip
        output = run_tool("h2load", argv, args.duration + 60)
        if not isinstance(output, Output):
            return output
        if "Application protocol: h2c" not in output.text:
            return "h2load did not speak h2c:\n" + output.text[-800:]
        try:
            return parse_h2load(output.text)
        except ValueError as exc:
            return str(exc)

    return load


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    args = parser.parse_args(argv)
    h2load = shutil.which("h2load")
    if h2load is None:
        print("h2load not found: install it (Debian/Ubuntu: apt-get install nghttp2-client)")
        return 1
    print(
        f"h2load -c {args.connections} -m {STREAMS_PER_CONNECTION} -D {args.duration}, "
        f"{args.workers} workers each, {args.rounds} rounds (the p99 column is h2load's mean)"
    )
    commands = {
        "skitai": skitai_command(APP_SCRIPT, args),
        "hypercorn": hypercorn_command(args),
        "granian": granian_command(args),
    }
    return run_benchmark(args, commands, {"hello": "/"}, TARGETS, load=make_load(args, h2load))  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
