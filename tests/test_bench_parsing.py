"""The wrk output parser of ``benchmarks/bench_hello_wsgi.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_hello_wsgi.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_hello_wsgi", BENCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


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
