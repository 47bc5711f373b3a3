"""The shared benchmark harness (``benchmarks/harness.py``: wrk parsing, rounds, ratios)
and the scripts built on it (``bench_hello_wsgi.py``, ``bench_atila_api.py``), without
starting servers; ``machine.py`` (CPU used by other processes) against this process."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
MODULES = ("machine", "servers", "harness", "bench_hello_wsgi", "bench_atila_api")


@pytest.fixture(scope="module")
def scripts() -> Iterator[dict[str, ModuleType]]:
    """The benchmark modules, imported the way running a script does (benchmarks/ on the path)."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield {name: importlib.import_module(name) for name in MODULES}
    finally:
        sys.path.remove(str(BENCH_DIR))
        for name in MODULES:
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def bench(scripts: dict[str, ModuleType]) -> ModuleType:
    """``bench_hello_wsgi``: its public names (parser, ratios) come from the harness."""
    return scripts["bench_hello_wsgi"]


@pytest.fixture(scope="module")
def harness(scripts: dict[str, ModuleType]) -> ModuleType:
    return scripts["harness"]


CLEAN_RUN = """\
Running 2s test @ http://127.0.0.1:40123/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.15us  201.33us   9.80ms   88.10%
    Req/Sec    51.20k     3.10k   56.00k    80.00%
  Latency Distribution
     50%  580.00us
     75%  690.00us
     90%  810.00us
     99%    1.21ms
  203846 requests in 2.00s, 24.30MB read
Requests/sec: 101923.00
Transfer/sec:     12.15MB
"""

SLOW_RUN_WITH_ERRORS = """\
Running 10s test @ http://127.0.0.1:40124/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   210.00ms  300.00ms   1.99s    90.00%
    Req/Sec   150.00     40.00    300.00     70.00%
  Latency Distribution
     50%  100.00ms
     75%  200.00ms
     90%  600.00ms
     99%    1.50s
  3000 requests in 10.00s, 360.00KB read
  Socket errors: connect 5, read 10, write 0, timeout 20
  Non-2xx or 3xx responses: 7
Requests/sec:    299.70
Transfer/sec:     36.00KB
"""


def test_clean_run(bench: ModuleType) -> None:
    result = bench.parse_wrk_output(CLEAN_RUN)
    assert result.requests_per_sec == pytest.approx(101923.0)
    assert result.p99_ms == pytest.approx(1.21)
    assert result.requests == 203846
    assert result.errors == 0


def test_errors_and_second_units(bench: ModuleType) -> None:
    result = bench.parse_wrk_output(SLOW_RUN_WITH_ERRORS)
    assert result.requests_per_sec == pytest.approx(299.7)
    assert result.p99_ms == pytest.approx(1500.0)
    assert result.socket_errors == 35
    assert result.non_2xx == 7
    assert result.errors == 42


def test_microsecond_p99(bench: ModuleType) -> None:
    text = CLEAN_RUN.replace("99%    1.21ms", "99%  950.50us")
    assert bench.parse_wrk_output(text).p99_ms == pytest.approx(0.9505)


def test_without_latency_flag_is_rejected(bench: ModuleType) -> None:
    text = "".join(line + "\n" for line in CLEAN_RUN.splitlines() if "%  " not in line)
    with pytest.raises(bench.WrkParseError, match="--latency"):
        bench.parse_wrk_output(text)


def test_truncated_output_is_rejected(bench: ModuleType) -> None:
    with pytest.raises(bench.WrkParseError, match="Requests/sec"):
        bench.parse_wrk_output(CLEAN_RUN.split("Requests/sec")[0])


def test_embedded_sample_self_test(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    bench.self_test()
    assert "self-test ok" in capsys.readouterr().out


def test_median_ratio_over_rounds(bench: ModuleType) -> None:
    def result(rps: float) -> object:
        return bench.WrkResult(rps, 1.0, 100, 0, 0)

    rounds = [
        {"skitai": result(200.0), "gunicorn": result(100.0)},
        {"skitai": result(300.0), "gunicorn": result(100.0)},
        {"skitai": "wrk exited 1", "gunicorn": result(100.0)},
        {"skitai": result(250.0), "gunicorn": result(100.0)},
    ]
    assert bench.median_ratio(rounds, "skitai", "gunicorn") == pytest.approx(2.5)
    assert bench.median_ratio(rounds, "skitai", "granian") is None
    assert len(bench.successes(rounds, "skitai")) == 3


def test_round_order_rotates(harness: ModuleType) -> None:
    names = ["a", "b", "c"]
    orders = [harness.round_order(names, number) for number in (1, 2, 3, 4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert harness.round_order([], 1) == []


def test_run_rounds_loads_every_path_on_every_server(harness: ModuleType) -> None:
    servers = [harness.Server(name, [], 1, Path("/dev/null")) for name in ("a", "b")]
    calls: list[tuple[str, str]] = []
    reported: list[tuple[int, str]] = []

    def measure(server: object, path: str) -> object:
        calls.append((server.name, path))  # type: ignore[attr-defined]
        return harness.WrkResult(100.0 if server.name == "a" else 50.0, 1.0, 10, 0, 0)  # type: ignore[attr-defined]

    results = harness.run_rounds(
        servers,
        {"one": "/1", "two": "/2"},
        2,
        measure,
        lambda n, label, r: reported.append((n, label)),
    )
    assert calls == [("a", "/1"), ("b", "/1"), ("a", "/2"), ("b", "/2"),
                     ("b", "/1"), ("a", "/1"), ("b", "/2"), ("a", "/2")]  # fmt: skip
    assert reported == [(1, "one"), (1, "two"), (2, "one"), (2, "two")]
    assert [list(r) for r in results["one"]] == [["a", "b"], ["a", "b"]]  # servers order kept
    assert harness.median_ratio(results["two"], "a", "b") == pytest.approx(2.0)


def test_summary_marks_targets(harness: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    def result(rps: float) -> object:
        return harness.WrkResult(rps, 2.0, 100, 0, 1)

    rounds = [{"atila": result(300.0), "flask": result(100.0), "fastapi": result(400.0)}] * 3
    targets = [harness.Target("atila", "flask", 1.5), harness.Target("atila", "fastapi", 1.0),
               harness.Target("atila", "granian", 1.0)]  # fmt: skip
    met = harness.print_summary(rounds, ["atila", "flask", "fastapi"], targets, "api")
    assert met == [True, False, False]
    out = capsys.readouterr().out
    assert "summary api" in out
    assert "atila/flask: 3.00x req/s (target >= 1.5x: met)" in out
    assert "atila/fastapi: 0.75x req/s (target >= 1.0x: NOT MET)" in out
    assert "atila/granian: not measured" in out


def test_atila_api_answer_check(scripts: dict[str, ModuleType], harness: ModuleType) -> None:
    check = scripts["bench_atila_api"].answer_problem
    json_path = "/api/items/7?q=abc&limit=10"
    ok = harness.Response(200, "application/json", b'{"item_id":7,"limit":10,"q":"abc"}\n')
    assert check(json_path, ok) is None
    wrong = harness.Response(200, "application/json", b'{"item_id":7,"q":"abc","limit":"10"}')
    assert "expected" in check(json_path, wrong)
    text = harness.Response(200, "text/plain; charset=utf-8", b"Hello, World!")
    assert check("/plaintext", text) is None
    assert "Content-Type" in check(
        "/plaintext", harness.Response(200, "text/html", b"Hello, World!")
    )
    assert check("/plaintext", harness.Response(500, "text/plain", b"")) == "status 500"


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="CPU accounting reads /proc")
def test_cpu_watch_counts_own_work_as_ours(scripts: dict[str, ModuleType]) -> None:
    machine = scripts["machine"]
    assert machine.session_ticks({os.getsid(0)})[os.getsid(0)] > 0
    with machine.CpuWatch([]) as watch:
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:  # this process's CPU is the benchmark's own
            pass
    assert watch.other_percent is not None
    assert 0.0 <= watch.other_percent <= 100.0
    assert watch.session_seconds == {}


def test_cpu_per_request_and_its_ratio(harness: ModuleType) -> None:
    def result(rps: float, cpu_seconds: float) -> object:
        return harness.WrkResult(rps, 1.0, 1000, 0, 0, other_cpu=5.0, server_cpu=cpu_seconds)

    assert result(1.0, 0.05).cpu_us_per_request == pytest.approx(50.0)
    assert harness.WrkResult(1.0, 1.0, 1000, 0, 0).cpu_us_per_request is None
    rounds = [
        {"atila": result(300.0, 0.05), "flask": result(100.0, 0.20)},
        {"atila": result(300.0, 0.05), "flask": result(100.0, 0.15)},
        {"atila": result(300.0, 0.05), "flask": "wrk exited 1"},
    ]
    assert harness.median_cpu_ratio(rounds, "atila", "flask") == pytest.approx(3.5)


def test_build_servers_puts_the_port_in(
    scripts: dict[str, ModuleType], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers = scripts["servers"]
    args = argparse.Namespace(workers=2, threads=4)
    commands = {
        "skitai": servers.skitai_command(Path("app.py"), args),
        "other": ["serve", "-b", f"127.0.0.1:{servers.PORT}"],
        "missing": None,
    }
    built = servers.build_servers(["skitai", "other", "missing"], commands, tmp_path, "/ping")
    assert [server.name for server in built] == ["skitai", "other"]
    skitai, other = built
    assert skitai.argv[-2:] == ["--port", str(skitai.port)]
    assert "--silent" in skitai.argv and "--workers" in skitai.argv
    assert other.argv == ["serve", "-b", f"127.0.0.1:{other.port}"]
    assert other.ready_path == "/ping" and other.log_path == tmp_path / "other.log"
    assert "missing: not installed" in capsys.readouterr().out
