"""Suite-wide fixtures and the PostgreSQL policy.

* ``pg_dsn`` — a fresh PostgreSQL database for the test session, on the local
  server (127.0.0.1:5432, user ``postgres``); the test is skipped when the server
  is unreachable.  Any test using it is marked ``postgres`` automatically.
* ``ATILA_STACK_REQUIRE_PG=1`` (set by ``.ci/run``) turns the skip of a
  ``postgres``-marked test into a failure, so CI can never pass without the
  database tests having run.
* ``free_port`` — an unused TCP port on 127.0.0.1 for a real server.
* ``pg`` — a psycopg2 connection (autocommit) to the ``pg_dsn`` database.
* ``serve`` — start a server script written from source on an ephemeral port
  and get a :class:`skitai.testing.LiveClient` on it.
* ``redis_server`` — a ``redis-server`` of the test's own (free port, tmp dir, no
  persistence) that the test may stop and start again; skipped when Redis is not
  installed, a failure under ``CI=true`` or ``ATILA_STACK_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from skitai.testing import LiveClient, test_client

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_ADMIN_DB = "postgres"
REQUIRE_PG_ENV = "ATILA_STACK_REQUIRE_PG"


def pg_required() -> bool:
    """Whether skipping a PostgreSQL test must fail the run."""
    return os.environ.get(REQUIRE_PG_ENV, "") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses ``pg_dsn`` as ``postgres`` (so the policy applies)."""
    for item in items:
        if "pg_dsn" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "postgres"
        ):
            item.add_marker(pytest.mark.postgres)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under ``ATILA_STACK_REQUIRE_PG=1``, report a skipped ``postgres`` test as failed."""
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and pg_required()
        and item.get_closest_marker("postgres") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL required but unavailable: {_skip_reason(report)}"
    return report


def _pg_reachable() -> str | None:
    """``None`` when the PostgreSQL port accepts connections, else why not."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1.0):
            return None
    except OSError as exc:
        return f"cannot connect to {PG_HOST}:{PG_PORT}: {exc}"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """DSN (``postgresql://`` URL) of a fresh database, created once per test session.

    The database is named ``atila_stack_test_<pid>`` and dropped at session end.
    """
    problem = _pg_reachable()
    if problem is not None:
        pytest.skip(problem)
    psycopg2 = pytest.importorskip("psycopg2")

    dbname = f"atila_stack_test_{os.getpid()}"
    try:
        admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"cannot log in to PostgreSQL as {PG_USER}: {exc}".strip())
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{dbname}"')
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., LiveClient]]:
    """Start a server script written from source; stopped at the end of the test.

    ``serve(source, *args, files={...})`` writes ``source`` (dedented) as
    ``serve.py`` in ``tmp_path`` plus any extra ``files`` (relative path ->
    text), starts it with ``--port N`` and the extra command line ``args``,
    waits until it listens and returns a :class:`LiveClient` on it.
    """
    clients: list[LiveClient] = []

    def start(source: str, *args: str, files: dict[str, str] | None = None) -> LiveClient:
        for name, text in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        script = tmp_path / "serve.py"
        script.write_text(textwrap.dedent(source))
        client = test_client(str(script), devel=False, args=args)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.stop()


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[Any]:
    """A psycopg2 connection (autocommit) to the session's test database (``pg_dsn``)."""
    import psycopg2

    conn = psycopg2.connect(pg_dsn)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def redis_required() -> bool:
    """Whether a missing ``redis-server`` must fail the run (CI)."""
    return os.environ.get("CI") == "true" or os.environ.get("ATILA_STACK_REQUIRE_REDIS") == "1"


class RedisServer:
    """A ``redis-server`` of the test's own: a free port, no persistence, a tmp directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        """Start it (again, on the same port) and wait until it answers PING."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop it (its data goes with it)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A running :class:`RedisServer`, stopped at the end of the test."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if redis_required():
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


def _run_schemathesis(
    workdir: Path, document_url: str, *args: str, config: Path | None = None
) -> str:
    command = [sys.executable, "-m", "schemathesis.cli"]
    if config is not None:
        command += ["--config-file", str(config)]
    command += ["run", document_url, "--no-color", "--generation-database", "none"]
    command += ["--seed", "1", "--workers", "1", *args]
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=400, check=False
    )  # in ``workdir``: schemathesis keeps a cache in the working directory
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    return report


@pytest.fixture
def schemathesis_run(tmp_path: Path) -> Callable[..., str]:
    """``schemathesis_run(document_url, *cli_args, config=None)``: schemathesis's own CLI
    (``st run``, every check on) against a live server; its report.  The test fails
    with the report when schemathesis finds a failure."""
    pytest.importorskip("schemathesis")
    return functools.partial(_run_schemathesis, tmp_path)
