"""What every benchmark script shares: wrk, servers, rounds and the summary.

A benchmark script (``bench_*.py`` beside this module) describes its servers
and the paths to load; this module

* parses ``wrk --latency`` output (:func:`parse_wrk_output` -> :class:`WrkResult`),
* starts every server at once, waits until each answers its readiness check,
  and always stops them all (:func:`servers.running`, re-exported here with the
  rest of :mod:`servers` so that a script needs only this import),
* runs the rounds: every path against every server, the server order rotated
  each round so that no server always goes first (:func:`run_rounds`),
* prints one table per round and a summary of medians and median per-round
  ratios against targets (:func:`print_round`, :func:`print_summary`), with
  the share of CPU other processes took during each run (:mod:`machine`).

Server start/stop lives in :mod:`servers`, the CPU accounting in :mod:`machine`.
The scripts import this module as ``harness``: running ``python benchmarks/bench_x.py``
puts ``benchmarks/`` on ``sys.path``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from machine import CpuWatch, wait_until_quiet
from servers import (  # re-exported: the scripts import everything from here
    PORT,
    ROOT,
    Response,
    Server,
    build_servers,
    find_executable,
    free_port,
    gunicorn_command,
    http_get,
    running,
    skitai_command,
    uvicorn_command,
)

__all__ = [
    "PORT",
    "ROOT",
    "SAMPLE_WRK_OUTPUT",
    "Response",
    "Round",
    "Server",
    "Target",
    "WrkOptions",
    "WrkParseError",
    "Output",
    "WrkResult",
    "add_arguments",
    "build_servers",
    "find_executable",
    "free_port",
    "gunicorn_command",
    "http_get",
    "median_ratio",
    "parse_wrk_output",
    "print_round",
    "print_summary",
    "round_order",
    "run_tool",
    "run_benchmark",
    "run_rounds",
    "run_wrk",
    "running",
    "self_test",
    "skitai_command",
    "successes",
    "uvicorn_command",
    "wrk_options",
]


_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RATE_SUFFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}

# -- wrk output --------------------------------------------------------------


@dataclasses.dataclass
class WrkResult:
    """What one ``wrk --latency`` run measured."""

    requests_per_sec: float
    p99_ms: float
    requests: int
    socket_errors: int
    non_2xx: int
    #: Share (%) of the machine's CPU other processes used during the run (None: unknown).
    other_cpu: float | None = None
    #: CPU seconds the loaded server (all its processes) used during the run.
    server_cpu: float | None = None

    @property
    def cpu_us_per_request(self) -> float | None:
        """Server CPU microseconds per request (None: not measured)."""
        if self.server_cpu is None or self.requests <= 0:
            return None
        return 1e6 * self.server_cpu / self.requests

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


# -- measuring ---------------------------------------------------------------

#: One round of one path: server name -> its result, or why there is none.
Round = dict[str, WrkResult | str]


@dataclasses.dataclass
class WrkOptions:
    """How wrk loads each server."""

    threads: int = 2
    connections: int = 64
    duration: int = 10
    #: request headers wrk sends (``"Name: value"``), e.g. a session cookie
    headers: tuple[str, ...] = ()
    #: a wrk Lua script (``-s``): the method and body of each request
    script: str | None = None

    def describe(self) -> str:
        """The wrk flags, as printed in the header."""
        return f"wrk -t{self.threads} -c{self.connections} -d{self.duration}s --latency"


def add_arguments(parser: argparse.ArgumentParser, server_names: list[str]) -> None:
    """The options every script has: wrk's (``--rounds``, ``--duration``, ``--connections``,
    ``--wrk-threads``) and the servers' (``--workers``, ``--threads``, ``--servers``)."""
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per server")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--quiet-below", type=float, default=15.0, metavar="PCT",
        help="before each wrk run, wait until other processes use at most PCT%% of the CPU",
    )  # fmt: skip
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, metavar="SEC",
        help="longest wait for a quiet machine before each run (0: never wait)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--servers", nargs="+", choices=server_names, default=server_names,
        help="servers to compare",
    )  # fmt: skip


def wrk_options(args: argparse.Namespace) -> WrkOptions:
    """The :class:`WrkOptions` chosen with :func:`add_arguments`."""
    return WrkOptions(
        threads=args.wrk_threads, connections=args.connections, duration=args.duration,
        headers=tuple(getattr(args, "headers", ())),
    )  # fmt: skip


def run_wrk(wrk: str, url: str, options: WrkOptions) -> WrkResult | str:
    """One wrk run against ``url``: its result, or why there is none."""
    argv = [
        wrk, f"-t{options.threads}", f"-c{options.connections}", f"-d{options.duration}s",
        "--latency", url,
    ]  # fmt: skip
    for header in options.headers:
        argv[1:1] = ["-H", header]
    if options.script is not None:
        argv[1:1] = ["-s", options.script]
    output = run_tool("wrk", argv, options.duration + 30)
    if not isinstance(output, Output):
        return output
    try:
        return parse_wrk_output(output.text)
    except WrkParseError as exc:
        return f"{exc}\n{output.text}"


@dataclasses.dataclass
class Output:
    """What a load tool printed on its standard output."""

    text: str


def run_tool(name: str, argv: list[str], timeout: float) -> Output | str:
    """Run a load tool: its output, or why there is none (timed out, failed)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"{name} timed out"
    if done.returncode != 0:
        return f"{name} exited {done.returncode}: {done.stderr.strip()[-300:]}"
    return Output(done.stdout)


def round_order(names: Sequence[str], number: int) -> list[str]:
    """The order servers are loaded in round ``number`` (1-based): rotated by one each
    round, so with as many rounds as servers each one goes first once."""
    if not names:
        return []
    shift = (number - 1) % len(names)
    return [*names[shift:], *names[:shift]]


Measure = Callable[[Server, str], WrkResult | str]


def run_rounds(
    servers: list[Server],
    paths: dict[str, str],
    rounds: int,
    measure: Measure,
    report: Callable[[int, str, Round], None] | None = None,
) -> dict[str, list[Round]]:
    """Load every path of ``paths`` (label -> path) on every server, ``rounds`` times.

    Returns label -> one :data:`Round` per round, keyed in ``servers`` order.
    ``measure(server, path)`` does one load run; ``report(number, label, round)``
    is called after each path of each round.
    """
    results: dict[str, list[Round]] = {label: [] for label in paths}
    by_name = {server.name: server for server in servers}
    for number in range(1, rounds + 1):
        order = round_order(list(by_name), number)
        for label, path in paths.items():
            measured = {name: measure(by_name[name], path) for name in order}
            round_ = {server.name: measured[server.name] for server in servers}
            results[label].append(round_)
            if report is not None:
                report(number, label, round_)
    return results


# -- reporting ---------------------------------------------------------------


def successes(rounds: list[Round], name: str) -> list[WrkResult]:
    """The successful results of server ``name`` over all rounds."""
    return [r for r in (round_.get(name) for round_ in rounds) if isinstance(r, WrkResult)]


def median_ratio(rounds: list[Round], name: str, other: str) -> float | None:
    """Median over rounds of req/s of ``name`` divided by req/s of ``other``."""
    ratios = []
    for round_ in rounds:
        mine, theirs = round_.get(name), round_.get(other)
        if isinstance(mine, WrkResult) and isinstance(theirs, WrkResult):
            if theirs.requests_per_sec > 0:
                ratios.append(mine.requests_per_sec / theirs.requests_per_sec)
    return statistics.median(ratios) if ratios else None


_HEADER = (
    f"  {'server':<10} {'req/s':>10} {'p99 ms':>9} {'errors':>7} {'cpu us/req':>11}"
    f" {'other cpu':>10}"
)


def _row(name: str, results: Sequence[WrkResult]) -> str:
    """One table row: medians of ``results`` (errors summed)."""
    rps = statistics.median(r.requests_per_sec for r in results)
    p99 = statistics.median(r.p99_ms for r in results)
    errors = sum(r.errors for r in results)
    cpu = [r.cpu_us_per_request for r in results if r.cpu_us_per_request is not None]
    cpu_text = f"{statistics.median(cpu):.0f}" if cpu else "-"
    other = [r.other_cpu for r in results if r.other_cpu is not None]
    other_text = f"{statistics.median(other):.0f}%" if other else "-"
    return f"  {name:<10} {rps:>10.1f} {p99:>9.2f} {errors:>7d} {cpu_text:>11} {other_text:>10}"


def print_round(number: int, results: Round, title: str = "") -> None:
    """One round's table (``title``: what was loaded, e.g. the route)."""
    print(f"\nround {number}" + (f" {title}" if title else ""))
    print(_HEADER)
    for name, result in results.items():
        if isinstance(result, str):
            print(f"  {name:<10} failed: {result}")
        else:
            print(_row(name, [result]))


def median_cpu_ratio(rounds: list[Round], name: str, other: str) -> float | None:
    """Median over rounds of ``other``'s CPU per request divided by ``name``'s: how many
    times the CPU ``other`` spends on a request (> 1: ``name`` is cheaper)."""
    ratios = []
    for round_ in rounds:
        mine, theirs = round_.get(name), round_.get(other)
        if isinstance(mine, WrkResult) and isinstance(theirs, WrkResult):
            mine_cpu, theirs_cpu = mine.cpu_us_per_request, theirs.cpu_us_per_request
            if mine_cpu and theirs_cpu is not None:
                ratios.append(theirs_cpu / mine_cpu)
    return statistics.median(ratios) if ratios else None


@dataclasses.dataclass
class Target:
    """A goal: median req/s ratio ``server``/``other`` at least ``ratio``."""

    server: str
    other: str
    ratio: float

    def verdict(self, rounds: list[Round]) -> tuple[float | None, bool]:
        """The measured median ratio (None: not measurable) and whether it meets the goal."""
        measured = median_ratio(rounds, self.server, self.other)
        return measured, measured is not None and measured >= self.ratio


def print_summary(
    rounds: list[Round], names: list[str], targets: Sequence[Target], title: str = ""
) -> list[bool]:
    """Medians per server and the median per-round ratios of ``targets``.

    Returns, per target, whether it was met (a target whose servers did not
    both run is reported and counts as not met).
    """
    print("\nsummary" + (f" {title}" if title else "") + " (medians over rounds)")
    print(_HEADER + f" {'rounds':>7}")
    for name in names:
        ok = successes(rounds, name)
        print(f"{_row(name, ok)} {len(ok):>7d}" if ok else f"  {name:<10} no successful round")

    met = []
    for target in targets:
        ratio, ok = target.verdict(rounds)
        label = f"{target.server}/{target.other}"
        if ratio is None:
            print(f"  {label}: not measured (target >= {target.ratio}x: not met)")
        else:
            verdict = "met" if ok else "NOT MET"
            cpu = median_cpu_ratio(rounds, target.server, target.other)
            cpu_text = "" if cpu is None else f"; {target.other} CPU/request: {cpu:.2f}x"
            print(f"  {label}: {ratio:.2f}x req/s (target >= {target.ratio}x: {verdict}){cpu_text}")
        met.append(ok)
    return met


def run_benchmark(
    args: argparse.Namespace,
    commands: dict[str, list[str] | None],
    paths: dict[str, str],
    targets: Sequence[Target],
    *,
    ready_path: str = "/",
    ready_body: bytes = b"Hello, World!",
    check: Callable[[list[Server]], bool] | None = None,
    check_only: bool = False,
    load: Callable[[str], WrkResult | str] | None = None,
) -> int:
    """The whole run; returns the process exit code.

    Builds and starts the servers ``args.servers`` from ``commands``, runs
    ``check(ready servers)`` when given (False aborts), then ``args.rounds``
    rounds of every path of ``paths`` (label -> path) with the wrk options of
    ``args`` (:func:`add_arguments`), a table per round and path, and a
    summary per path with ``targets``.  ``check_only`` stops after the check.
    ``load(url)`` replaces wrk for protocols it does not speak (WebSocket): one
    load run, as a :class:`WrkResult` (or why there is none).
    """
    options = wrk_options(args)
    if load is None:
        wrk = shutil.which("wrk")
        if wrk is None and not check_only:
            print("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
            return 1
        print(f"{options.describe()}, {args.rounds} rounds")

        def load(url: str) -> WrkResult | str:
            assert wrk is not None
            return run_wrk(wrk, url, options)

    def titled(label: str) -> str:
        return "" if len(paths) == 1 else f"{label} {paths[label]}"

    def report(number: int, label: str, round_: Round) -> None:
        print_round(number, round_, titled(label))

    def measure(server: Server, path: str) -> WrkResult | str:
        assert load is not None
        sessions = [s.process.pid for s in servers if s.process is not None]
        if getattr(args, "quiet_wait", 0) > 0:
            waited, share = wait_until_quiet(sessions, args.quiet_below, args.quiet_wait)
            if share is not None and share > args.quiet_below:
                print(f"  ({server.name}: other processes still use {share:.0f}% of the CPU"
                      f" after {waited:.0f} s; measuring anyway)")  # fmt: skip
        with CpuWatch(sessions) as watch:
            result = load(server.url(path))
        if isinstance(result, WrkResult):
            result.other_cpu = watch.other_percent
            if server.process is not None:
                result.server_cpu = watch.session_seconds.get(server.process.pid)
        return result

    with tempfile.TemporaryDirectory(prefix="bench-") as log_dir:
        servers = build_servers(args.servers, commands, Path(log_dir), ready_path, ready_body)
        try:
            with running(servers) as ready:
                if not ready:
                    print("no server started")
                    return 1
                if check is not None and not check(ready):
                    return 1
                if check_only:
                    return 0
                results = run_rounds(ready, paths, args.rounds, measure, report)
                names = [server.name for server in ready]
                met = []
                for label, rounds in results.items():
                    met += print_summary(rounds, names, targets, titled(label))
                if targets:
                    print(f"\ntargets met: {sum(met)} of {len(met)}")
        except KeyboardInterrupt:
            print("\ninterrupted: servers stopped")
            return 130
    return 0
