#!/usr/bin/env python3
"""Load skitai, gunicorn (gthread) and granian (wsgi) with ``wrk`` in one run.

All three serve ``benchmarks/apps/hello_wsgi.py`` at the same workers x threads.
Each round runs ``wrk`` against every server in turn (the order alternates
between rounds so no server always goes first), then a summary prints the
median requests/s, p99 latency and errors, and the median per-round ratios
skitai/gunicorn and skitai/granian.

Run it with the project's virtualenv (see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_hello_wsgi.py [--rounds 3] [--duration 10] [--connections 64]
    .venv/bin/python benchmarks/bench_hello_wsgi.py --self-test   # check the wrk parser only
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SCRIPT = ROOT / "benchmarks" / "apps" / "hello_wsgi.py"
APP_SPEC = "benchmarks.apps.hello_wsgi:application"
EXPECTED_BODY = b"Hello, World!"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

#: Targets from issue 4, printed next to the measured ratios.
TARGETS = {"gunicorn": 2.0, "granian": 0.5}

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RATE_SUFFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}


@dataclasses.dataclass
class WrkResult:
    """What one ``wrk --latency`` run measured."""

    requests_per_sec: float
    p99_ms: float
    requests: int
    socket_errors: int
    non_2xx: int

    @property
    def errors(self) -> int:
        """Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses."""
        return self.socket_errors + self.non_2xx


class WrkParseError(ValueError):
    """The text is not the output of ``wrk --latency``."""


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise WrkParseError(f"unrecognised duration {text!r}")
    return float(match.group(1)) * _TIME_UNITS[match.group(2)]


def parse_wrk_output(text: str) -> WrkResult:
    """Parse requests/s, p99 latency (ms), request count and errors from ``wrk --latency``."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)([kMG]?)\s*$", text, re.MULTILINE)
    if rate is None:
        raise WrkParseError("no 'Requests/sec:' line (was wrk run to completion?)")
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+(\S+)\s*$", text, re.MULTILINE)
    if p99 is None:
        raise WrkParseError("no 99% latency line (was wrk run with --latency?)")
    total = re.search(r"^\s*(\d+) requests in ", text, re.MULTILINE)
    if total is None:
        raise WrkParseError("no 'N requests in' line")

    socket_errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock is not None:
        socket_errors = sum(int(value) for value in sock.groups())
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0

    return WrkResult(
        requests_per_sec=float(rate.group(1)) * _RATE_SUFFIX[rate.group(2)],
        p99_ms=_duration_ms(p99.group(1)),
        requests=int(total.group(1)),
        socket_errors=socket_errors,
        non_2xx=non_2xx,
    )


SAMPLE_WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  612.40us  18.07ms   91.20%
    Req/Sec    21.38k     1.73k   25.02k    71.50%
  Latency Distribution
     50%    1.39ms
     75%    1.66ms
     90%    2.04ms
     99%    3.81ms
  425390 requests in 10.00s, 50.71MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  42531.67
Transfer/sec:      5.07MB
"""


def self_test() -> None:
    """Check the parser against ``SAMPLE_WRK_OUTPUT``."""
    result = parse_wrk_output(SAMPLE_WRK_OUTPUT)
    assert result.requests_per_sec == 42531.67, result
    assert result.p99_ms == 3.81, result
    assert result.requests == 425390, result
    assert result.errors == 7, result
    print("self-test ok:", result)


# -- servers ---------------------------------------------------------------


@dataclasses.dataclass
class Server:
    """One server under test: how to start it, and its process once started."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL wrk loads."""
        return f"http://127.0.0.1:{self.port}/"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_executable(name: str) -> str | None:
    """``name`` next to this interpreter (the virtualenv), else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


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


def start(server: Server) -> None:
    """Start ``server`` in its own process group, output to its log file."""
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            server.argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _get(port: int) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(server: Server) -> str | None:
    """Wait until ``server`` answers ``GET /`` with the expected body; else say why not."""
    assert server.process is not None
    deadline = time.monotonic() + READY_TIMEOUT
    last_problem = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return f"exited with code {server.process.returncode}"
        try:
            status, body = _get(server.port)
        except (OSError, http.client.HTTPException) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
            continue
        if status == 200 and body == EXPECTED_BODY:
            return None
        return f"unexpected answer: {status} {body[:60]!r}"
    return f"not ready after {READY_TIMEOUT:.0f} s ({last_problem})"


def stop(server: Server) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    process = server.process
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def log_tail(server: Server, lines: int = 15) -> str:
    """The last lines of the server's output, indented."""
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "".join("    " + line + "\n" for line in text.splitlines()[-lines:])


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    """Start every server at once; yield those that became ready; always stop all."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for server in servers:
            start(server)
        ready = []
        for server in servers:
            problem = wait_ready(server)
            if problem is None:
                print(f"{server.name}: ready on port {server.port}")
                ready.append(server)
            else:
                print(f"{server.name}: failed to start: {problem}\n{log_tail(server)}")
                stop(server)
        yield ready
    finally:
        for server in servers:
            stop(server)
        signal.signal(signal.SIGTERM, previous)


# -- measuring -------------------------------------------------------------


def run_wrk(wrk: str, server: Server, args: argparse.Namespace) -> WrkResult | str:
    """One wrk run against ``server``: its result, or why there is none."""
    argv = [
        wrk, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", server.url,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=args.duration + 30, check=False
        )
    except subprocess.TimeoutExpired:
        return "wrk timed out"
    if done.returncode != 0:
        return f"wrk exited {done.returncode}: {done.stderr.strip()[:200]}"
    try:
        return parse_wrk_output(done.stdout)
    except WrkParseError as exc:
        return f"{exc}\n{done.stdout}"


def print_round(number: int, results: dict[str, WrkResult | str]) -> None:
    """One round's table."""
    print(f"\nround {number}")
    print(f"  {'server':<10} {'req/s':>12} {'p99 ms':>9} {'errors':>8}")
    for name, result in results.items():
        if isinstance(result, str):
            print(f"  {name:<10} failed: {result}")
        else:
            print(
                f"  {name:<10} {result.requests_per_sec:>12.1f} {result.p99_ms:>9.2f}"
                f" {result.errors:>8d}"
            )


def successes(rounds: list[dict[str, WrkResult | str]], name: str) -> list[WrkResult]:
    """The successful results of server ``name`` over all rounds."""
    return [r for r in (round_.get(name) for round_ in rounds) if isinstance(r, WrkResult)]


def median_ratio(rounds: list[dict[str, WrkResult | str]], name: str, other: str) -> float | None:
    """Median over rounds of req/s of ``name`` divided by req/s of ``other``."""
    ratios = []
    for round_ in rounds:
        mine, theirs = round_.get(name), round_.get(other)
        if isinstance(mine, WrkResult) and isinstance(theirs, WrkResult):
            ratios.append(mine.requests_per_sec / theirs.requests_per_sec)
    return statistics.median(ratios) if ratios else None


def print_summary(rounds: list[dict[str, WrkResult | str]], names: list[str]) -> None:
    """Medians per server and median per-round ratios of skitai to the others."""
    print("\nsummary (medians over rounds)")
    print(f"  {'server':<10} {'req/s':>12} {'p99 ms':>9} {'errors':>8} {'rounds':>7}")
    for name in names:
        ok = successes(rounds, name)
        if not ok:
            print(f"  {name:<10} no successful round")
            continue
        rps = statistics.median(r.requests_per_sec for r in ok)
        p99 = statistics.median(r.p99_ms for r in ok)
        errors = sum(r.errors for r in ok)
        print(f"  {name:<10} {rps:>12.1f} {p99:>9.2f} {errors:>8d} {len(ok):>7d}")

    for other, target in TARGETS.items():
        ratio = median_ratio(rounds, "skitai", other)
        if ratio is not None:
            verdict = "met" if ratio >= target else "not met"
            print(f"  skitai/{other}: {ratio:.2f}x req/s (target >= {target}x: {verdict})")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per server")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="server threads per worker")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=["skitai", "gunicorn", "granian"],
        default=["skitai", "gunicorn", "granian"],
        help="servers to compare",
    )
    parser.add_argument("--self-test", action="store_true", help="check the wrk parser only")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
        return 1

    print(
        f"hello-world WSGI, {args.workers} workers x {args.threads} threads; "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} rounds"
    )
    with tempfile.TemporaryDirectory(prefix="bench-hello-") as log_dir:
        servers = build_servers(args, Path(log_dir))
        try:
            with running(servers) as ready:
                if not ready:
                    print("no server started")
                    return 1
                rounds: list[dict[str, WrkResult | str]] = []
                for number in range(1, args.rounds + 1):
                    order = ready if number % 2 else list(reversed(ready))
                    measured = {server.name: run_wrk(wrk, server, args) for server in order}
                    results = {server.name: measured[server.name] for server in ready}
                    rounds.append(results)
                    print_round(number, results)
                print_summary(rounds, [server.name for server in ready])
        except KeyboardInterrupt:
            print("\ninterrupted: servers stopped")
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
