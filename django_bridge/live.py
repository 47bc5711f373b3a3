"""A live Skitai engine for tests, bound to the test database of the current process.

:class:`LiveEngine` forks the test process: the child serves the mounts of
an :class:`~skitai.engine.Engine` (those of the project's ``serve.py``, see
:mod:`django_bridge.serve_script`) with the engine's own supervisor and
workers, so requests go through the real server, while Django's settings —
already switched to the test database by pytest-django — come along with the
fork.  The database must therefore be reachable from another process:
PostgreSQL, or SQLite with a file test database (``DATABASES[...]["TEST"]
["NAME"]``); an in-memory SQLite test database is refused with a clear error.
Data the test writes must be committed to be seen (pytest-django's
``transactional_db``).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

from skitai.config import Config
from skitai.engine import Engine
from skitai.testing import LiveClient

__all__ = ["LiveEngine", "LiveEngineError", "check_shared_database"]

#: Seconds to wait for the engine to accept connections.
START_TIMEOUT = 30.0
#: Seconds a stopping engine gets before it is killed.
STOP_TIMEOUT = 10.0


class LiveEngineError(RuntimeError):
    """The live engine cannot start (or cannot see the test database)."""


def check_shared_database() -> None:
    """Raise :class:`LiveEngineError` when a test database lives only in this process."""
    from django.db import connections

    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise LiveEngineError(
                f"database {connection.alias!r} is an in-memory SQLite database, which a live "
                "engine cannot share: give it a file test database "
                '(DATABASES[alias]["TEST"]["NAME"] = "/tmp/....sqlite3")'
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveEngine:
    """Serve ``engine``'s mounts from a forked child process on an ephemeral port."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        self.engine = engine
        self.options = options
        self.pid: int | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> LiveClient:
        """Fork and serve; return a client once the port accepts connections."""
        from django.db import connections

        check_shared_database()
        self.port = _free_port()
        config = Config(**{**self.options, "ip": "127.0.0.1", "port": self.port})
        connections.close_all()  # the child must not share this process's connections
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            self._child(config)
        self.pid = pid
        self._wait_ready(timeout)
        return LiveClient(self.base_url)

    def _child(self, config: Config) -> None:  # pragma: no cover - runs in the child
        status = 1
        try:
            os.setsid()
            status = self.engine.serve(config)
        except BaseException:  # noqa: BLE001 - report anything, then leave the fork
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.pid is not None
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.pid = None
                raise LiveEngineError(f"live engine exited while starting (status {status})")
            try:
                with socket.create_connection(("127.0.0.1", self.port or 0), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LiveEngineError(f"live engine not accepting connections after {timeout}s")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the engine (it drains its requests), SIGKILL its group after ``timeout``."""
        pid, self.pid = self.pid, None
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
