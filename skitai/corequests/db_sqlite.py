"""SQLite corequests on a dedicated executor (sqlite3 has no asynchronous API).

Each alias gets its own thread pool of ``max_conns`` threads, each thread its
own connection in autocommit mode; a list of statements runs as one
transaction.  The event loop only waits for the executor's future.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .aliases import Alias
from .errors import CorequestTimeout
from .results import DataSet

#: Seconds a statement waits for another connection's write lock.
BUSY_TIMEOUT = 5.0


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
            with self._lock:
                self._connections.append(conn)
        return conn

    def _execute(self, sql: str | Sequence[str], params: Any) -> DataSet:
        conn = self._connection()
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
        """Run ``sql`` on the executor; ``504`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._execute, sql, params)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise CorequestTimeout(
                f"query on {self.alias.name} not finished in {timeout} seconds"
            ) from None

    def close(self) -> None:
        """Stop the threads and close the connections."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


__all__ = ["SqliteExecutor"]
