"""SQLite corequests on a dedicated executor (sqlite3 has no asynchronous API).

Each alias gets its own thread pool of ``max_conns`` threads, each thread its
own connection in autocommit mode; a list of statements runs as one
transaction.  A statement is handed straight to the executor by the thread
that starts it (the event loop is not involved: a hop through it would cost
more than a typical SQLite query).  A statement still running at its
deadline is interrupted (SQLite's progress handler) and answers ``504``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .aliases import Alias
from .errors import CorequestTimeout
from .results import DataSet

#: Seconds a statement waits for another connection's write lock.
BUSY_TIMEOUT = 5.0
#: SQLite virtual-machine instructions between two deadline checks.
_CHECK_EVERY = 10_000


class SqliteExecutor:
    """The threads and connections of one SQLite alias (one worker)."""

    def __init__(self, alias: Alias) -> None:
        self.alias = alias
        self._executor = ThreadPoolExecutor(
            max_workers=alias.max_conns, thread_name_prefix=f"skitai-sqlite{alias.name}"
        )
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.alias.location,
                timeout=BUSY_TIMEOUT,
                isolation_level=None,
                detect_types=sqlite3.PARSE_DECLTYPES,
                check_same_thread=False,
            )
            self._local.conn = conn
            self._local.deadline = float("inf")
            local = self._local
            conn.set_progress_handler(lambda: time.monotonic() > local.deadline, _CHECK_EVERY)
            with self._lock:
                self._connections.append(conn)
        return conn

    def submit(self, sql: str | Sequence[str], params: Any, timeout: float | None) -> Future[Any]:
        """Run ``sql`` on the executor (from any thread); the future's error is
        :class:`CorequestTimeout` when it is not done ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout if timeout is not None else float("inf")
        return self._executor.submit(self._execute, sql, params, deadline)

    def _execute(self, sql: str | Sequence[str], params: Any, deadline: float) -> DataSet:
        if time.monotonic() > deadline:  # waited its whole time in the executor's queue
            raise CorequestTimeout(f"query on {self.alias.name} not started in time")
        conn = self._connection()
        self._local.deadline = deadline
        try:
            return self._statements(conn, sql, params)
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline and "interrupted" in str(exc):
                raise CorequestTimeout(
                    f"query on {self.alias.name} not finished in time (interrupted)"
                ) from None
            raise
        finally:
            self._local.deadline = float("inf")

    def _statements(
        self, conn: sqlite3.Connection, sql: str | Sequence[str], params: Any
    ) -> DataSet:
        cursor = conn.cursor()
        try:
            if isinstance(sql, str):
                cursor.execute(sql, params if params is not None else ())
            else:
                cursor.execute("BEGIN")
                try:
                    for statement in sql:
                        cursor.execute(str(statement))
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            if cursor.description is None:
                return DataSet(None, [], cursor.rowcount)
            names = [column[0] for column in cursor.description]
            return DataSet(names, cursor.fetchall(), cursor.rowcount)
        finally:
            cursor.close()

    async def run(self, sql: str | Sequence[str], params: Any, timeout: float | None) -> DataSet:
        """:meth:`submit`, awaited on the event loop."""
        return await asyncio.wrap_future(self.submit(sql, params, timeout))

    def close(self) -> None:
        """Stop the threads and close the connections."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


__all__ = ["SqliteExecutor"]
