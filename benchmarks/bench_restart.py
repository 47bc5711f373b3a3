#!/usr/bin/env python3
"""Rolling restart under load: skitai vs gunicorn (gthread), failed requests side by side.

Both serve ``benchmarks/apps/hello_wsgi.py`` with the same workers x threads.
In each round, for each server in turn (the order rotates between rounds),
``wrk`` keeps ``--connections`` keep-alive connections busy for ``--duration``
seconds and, ``--signal-at`` seconds in, the server's master gets ``SIGHUP``:
a rolling restart for both.  The script checks that every worker was replaced
during the run, then prints what wrk counted as failed (connect, read, write,
timeout, non-2xx) per server and round, and the totals.  Exits 1 when skitai
failed any request or a restart did not happen.

    .venv/bin/python benchmarks/bench_restart.py [--rounds 3] [--duration 6] [--signal-at 2]

Requests/s are printed too but are not the point: they include the restart.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    ROOT,
    Server,
    WrkParseError,
    WrkResult,
    add_arguments,
    build_servers,
    gunicorn_command,
    http_get,
    parse_wrk_output,
    round_order,
    running,
    skitai_command,
)

APP_SCRIPT = ROOT / "benchmarks" / "apps" / "hello_wsgi.py"
APP_SPEC = "benchmarks.apps.hello_wsgi:application"
SERVER_NAMES = ["skitai", "gunicorn"]
#: Longest wait for every worker of a server to be replaced and answering again.
RESTART_TIMEOUT = 30.0
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclasses.dataclass
class RestartRun:
    """One wrk run with a SIGHUP in the middle."""

    result: WrkResult
    connect: int
    read: int
    write: int
    timeout: int
    #: every worker alive before the signal was gone, and as many new ones up, by the end
    restarted: bool

    @property
    def failed(self) -> int:
        """Requests wrk counted as failed: socket errors plus non-2xx/3xx answers."""
        return self.result.errors


def worker_pids(master: int) -> set[int]:
    """Child processes of ``master`` (its workers), as ``pgrep -P`` lists them."""
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def wait_restarted(server: Server, before: set[int], deadline: float) -> bool:
    """Wait until none of ``before`` is left, as many workers run and the server answers."""
    assert server.process is not None
    while time.monotonic() < deadline:
        now = worker_pids(server.process.pid)
        if len(now) >= len(before) and not now & before:
            try:
                if http_get(server.port, "/").status == 200:
                    return True
            except OSError:
                pass
        time.sleep(0.05)
    return False


def restart_under_load(
    wrk: str, server: Server, args: argparse.Namespace, out_dir: Path
) -> RestartRun | str:
    """One wrk run on ``server`` with SIGHUP to its master ``args.signal_at`` seconds in."""
    assert server.process is not None
    before = worker_pids(server.process.pid)
    argv = [
        wrk, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", server.url("/"),
    ]  # fmt: skip
    output_path = out_dir / f"{server.name}.wrk"
    with output_path.open("w") as output:
        load = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(args.signal_at)  # wrk prints nothing before it ends: a timed signal
            os.kill(server.process.pid, signal.SIGHUP)
            restarted = wait_restarted(server, before, time.monotonic() + RESTART_TIMEOUT)
            load.wait(args.duration + 30)
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
    text = output_path.read_text()
    if load.returncode != 0:
        return f"wrk exited {load.returncode}: {text[-300:]}"
    try:
        result = parse_wrk_output(text)
    except WrkParseError as exc:
        return f"{exc}\n{text}"
    match = _SOCKET_ERRORS.search(text)
    connect, read, write, timeout = (int(g) for g in match.groups()) if match else (0, 0, 0, 0)
    return RestartRun(result, connect, read, write, timeout, restarted)


_HEADER = (
    f"  {'server':<10} {'requests':>9} {'req/s':>9} {'restarted':>10} {'connect':>8}"
    f" {'read':>6} {'write':>6} {'timeout':>8} {'non-2xx':>8} {'failed':>7}"
)


def print_run(name: str, run: RestartRun | str) -> None:
    """One table row."""
    if isinstance(run, str):
        print(f"  {name:<10} no result: {run}")
        return
    r = run.result
    restarted = "yes" if run.restarted else "NO"
    print(
        f"  {name:<10} {r.requests:>9d} {r.requests_per_sec:>9.0f} {restarted:>10}"
        f" {run.connect:>8d} {run.read:>6d} {run.write:>6d} {run.timeout:>8d} {r.non_2xx:>8d}"
        f" {run.failed:>7d}"
    )  # fmt: skip


def print_summary(names: list[str], runs: dict[str, list[RestartRun | str]]) -> bool:
    """Failed requests per round side by side; True when skitai lost nothing."""
    print("\nsummary: failed requests per round (SIGHUP during load)")
    for name in names:
        cells = [str(r.failed) if isinstance(r, RestartRun) else "-" for r in runs[name]]
        total = sum(r.failed for r in runs[name] if isinstance(r, RestartRun))
        print(f"  {name:<10} {' '.join(f'{c:>6}' for c in cells)}   total {total}")
    skitai = runs.get("skitai", [])
    ok = bool(skitai) and all(
        isinstance(r, RestartRun) and r.restarted and r.failed == 0 for r in skitai
    )
    print(
        f"  skitai: zero failed requests with every worker replaced: {'met' if ok else 'NOT MET'}"
    )
    return ok


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options (those of every benchmark, plus ``--signal-at``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument("--signal-at", type=float, default=2.0, help="seconds into wrk for SIGHUP")
    parser.set_defaults(duration=6, connections=32)
    args = parser.parse_args(argv)
    if args.signal_at >= args.duration:
        parser.error("--signal-at must be less than --duration")
    return args


def main(argv: list[str]) -> int:
    """Run the comparison; return the process exit code."""
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
        return 1
    commands = {
        "skitai": skitai_command(APP_SCRIPT, args),
        "gunicorn": gunicorn_command(APP_SPEC, args),
    }
    print(
        f"SIGHUP {args.signal_at:g} s into wrk -t{args.wrk_threads} -c{args.connections}"
        f" -d{args.duration}s; {args.workers} workers x {args.threads} threads;"
        f" {args.rounds} rounds"
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        servers = build_servers(args.servers, commands, Path(tmp))
        try:
            with running(servers) as ready:
                if not ready:
                    print("no server started")
                    return 1
                names = [server.name for server in ready]
                runs: dict[str, list[RestartRun | str]] = {name: [] for name in names}
                by_name = {server.name: server for server in ready}
                for number in range(1, args.rounds + 1):
                    print(f"\nround {number}\n{_HEADER}")
                    for name in round_order(names, number):
                        run = restart_under_load(wrk, by_name[name], args, Path(tmp))
                        runs[name].append(run)
                        print_run(name, run)
                ok = print_summary(names, runs)
        except KeyboardInterrupt:
            print("\ninterrupted: servers stopped")
            return 130
    return 0 if ok else 1


__all__ = ["RestartRun", "main", "restart_under_load", "worker_pids"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
