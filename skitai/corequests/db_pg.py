"""PostgreSQL corequests: psycopg2 in asynchronous mode on the worker's event loop.

:class:`PgPool` keeps up to ``max_conns`` connections per alias and worker.
A query borrows one, sends the statement, and waits for the socket with
``loop.add_reader``/``add_writer`` — no thread is involved; a connection's
socket stays registered for reading while it lives (no reader added and
removed per statement), so a pooled connection that turns readable while
idle is known dead at once.  psycopg2's
asynchronous connections are always in autocommit mode: each statement (or
list of statements, run as one transaction) is committed as it completes.

Failures, as the client sees them:

* the database cannot be reached → :class:`BackendUnavailable` (``503``);
* an idle pooled connection that died (server restarted, backend terminated)
  is noticed before it is used — the server's termination notice or the closed
  socket makes it readable — and replaced by a new connection;
* a connection lost *during* a statement → :class:`BackendDropped` (``502``);
  the statement is never re-run (the server may have executed it);
* the statement runs past its timeout → it is cancelled on the server and
  :class:`CorequestTimeout` (``504``) is raised;
* an SQL error → the driver's own exception (``psycopg2.errors.*``).
"""

from __future__ import annotations

import asyncio
import logging
import select
from collections import deque
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.extensions as ext

from .aliases import Alias
from .errors import BackendDropped, BackendUnavailable, CorequestTimeout
from .pg_prepare import Prepared, StatementCache, StatementPolicy
from .results import DataSet

logger = logging.getLogger("skitai.corequests.pg")

#: Seconds to wait for a new connection before answering 503.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for a cancelled statement to stop before dropping its connection.
CANCEL_TIMEOUT = 2.0
#: SQLSTATEs of an ``EXECUTE`` whose prepared statement went stale or vanished:
#: nothing ran, so the statement is run again as plain text.
_STALE_PLAN = "0A000"  # cached plan must not change result type
_NO_STATEMENT = "26000"  # prepared statement does not exist (DISCARD ALL, ...)

Statement = str | Sequence[str]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _is_disconnect(exc: BaseException, conn: Any) -> bool:
    """True when ``exc`` means the connection is gone (not an SQL error)."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if conn.closed:
        return True
    return isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) is None


class AsyncConnection:
    """One asynchronous psycopg2 connection driven by the event loop."""

    def __init__(
        self, raw: Any, loop: asyncio.AbstractEventLoop, policy: StatementPolicy | None = None
    ) -> None:
        self.raw = raw
        self.loop = loop
        #: which statements to prepare (``None``: never), and those prepared here
        self.policy = policy if policy is not None and policy.capacity > 0 else None
        self.statements = StatementCache(policy.capacity if self.policy else 0)
        #: True once it has served a statement
        self.used = False
        #: True while a statement (or a cancel) runs on it
        self.busy = False
        # The socket stays registered with the loop between statements (no
        # add_reader/remove_reader pair per statement); ``_readable`` wakes the
        # statement waiting for it, or notes that an idle connection died.
        self._fd = -1
        self._waiter: asyncio.Future[None] | None = None
        self._dead = False
        self._poller: Any = None

    @classmethod
    async def connect(
        cls, dsn: str, loop: asyncio.AbstractEventLoop, policy: StatementPolicy | None = None
    ) -> AsyncConnection:
        """Open a connection without blocking the loop."""
        raw = psycopg2.connect(dsn, async_=True)
        conn = cls(raw, loop, policy)
        try:
            await conn._poll()
        except BaseException:
            conn.close()
            raise
        return conn

    async def _poll(self) -> None:
        raw = self.raw
        loop = self.loop
        while True:
            state = raw.poll()
            if state == ext.POLL_OK:
                return
            if state == ext.POLL_READ:
                if self._fd < 0:
                    self._fd = raw.fileno()
                    loop.add_reader(self._fd, self._readable)
                waiter = self._waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None
            elif state == ext.POLL_WRITE:
                fd = raw.fileno()
                waiter = loop.create_future()
                loop.add_writer(fd, _wake, waiter)
                try:
                    await waiter
                finally:
                    loop.remove_writer(fd)
            else:  # pragma: no cover - psycopg2 documents only these states
                raise psycopg2.OperationalError(f"bad poll state {state}")

    def _readable(self) -> None:
        """The socket is readable (event loop): wake the waiting statement, if any."""
        waiter = self._waiter
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(None)
            return
        # A readiness event can arrive after the statement it was for already read
        # the data (the loop took its snapshot before that statement's task ran):
        # only a socket that still has input means something.
        if not self._has_input():
            return
        # Nothing waits for it (readiness is level-triggered): stop watching until
        # the next wait; an idle connection that becomes readable has died.
        self._unwatch()
        if not self.busy:
            self._dead = True

    def _has_input(self) -> bool:
        """True when the socket has something to read, or is closed or broken."""
        poller = self._poller
        if poller is None:
            poller = self._poller = select.poll()
            poller.register(self.raw.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))

    def _unwatch(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                self.loop.remove_reader(fd)
            except (RuntimeError, ValueError, OSError):  # loop closed at shutdown
                pass

    async def execute(self, sql: Statement, params: Any = None) -> DataSet:
        """Run ``sql`` (a statement, or a list run as one transaction) and read its rows;
        a statement run often is prepared on the server (:mod:`.pg_prepare`)."""
        self.used = True
        self.busy = True
        if not isinstance(sql, str):
            return await self._run("BEGIN;\n" + ";\n".join(str(s) for s in sql) + ";\nCOMMIT;")
        policy = self.policy
        if policy is not None:
            prepared = self.statements.get(sql)
            if prepared is None and policy.worth_preparing(sql):
                prepared = await self._prepare(sql, params)
            if prepared is not None:
                try:
                    return await self._run(prepared.execute, prepared.arguments(params))
                except psycopg2.Error as exc:
                    if exc.pgcode == _STALE_PLAN:
                        self.statements.forget(sql)
                        await self._deallocate(prepared.name)
                    elif exc.pgcode == _NO_STATEMENT:
                        self.statements.clear()
                    else:
                        raise
                    # the EXECUTE did not run: run the statement itself
        return await self._run(sql, params)

    async def _run(self, sql: str, params: Any = None) -> DataSet:
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            await self._poll()
            if cursor.description is None:
                return DataSet(None, [], cursor.rowcount)
            names = [column.name for column in cursor.description]
            return DataSet(names, cursor.fetchall(), cursor.rowcount)
        except psycopg2.Error:
            await self._end_transaction()
            raise
        finally:
            cursor.close()

    async def _prepare(self, sql: str, params: Any) -> Prepared | None:
        """Prepare ``sql`` on this connection; ``None`` when it cannot be."""
        assert self.policy is not None
        planned = self.statements.plan(sql, params)
        if planned is None:
            self.policy.refuse(sql)
            return None
        prepared, command = planned
        try:
            await self._run(command)
        except psycopg2.Error as exc:
            if _is_disconnect(exc, self.raw):
                raise
            self.policy.refuse(sql)  # e.g. a parameter whose type cannot be inferred
            if exc.pgcode == _NO_STATEMENT:  # the evicted one was gone: start afresh
                self.statements.clear()
                await self._run("DEALLOCATE ALL")
            return None
        self.statements.add(sql, prepared)
        return prepared

    async def _deallocate(self, name: str) -> None:
        try:
            await self._run(f"DEALLOCATE {name}")
        except psycopg2.Error as exc:
            if _is_disconnect(exc, self.raw):
                raise

    async def _end_transaction(self) -> None:
        """After an error inside ``BEGIN ... COMMIT``: roll back, so the next user of
        the connection does not find it in an aborted transaction."""
        raw = self.raw
        if raw.closed or raw.info.transaction_status == ext.TRANSACTION_STATUS_IDLE:
            return
        cursor = raw.cursor()
        try:
            cursor.execute("ROLLBACK")
            await self._poll()
        except psycopg2.Error:
            raw.close()
        finally:
            cursor.close()

    async def cancel(self) -> bool:
        """Cancel the running statement; True when the connection is usable again."""
        self.busy = True
        try:
            await self.loop.run_in_executor(None, self.raw.cancel)
            await asyncio.wait_for(self._poll(), CANCEL_TIMEOUT)
        except psycopg2.extensions.QueryCanceledError:
            return not self.raw.closed
        except (psycopg2.Error, TimeoutError, OSError):
            return False
        return not self.raw.closed

    def stale(self) -> bool:
        """True when an idle connection is dead: the server closed it or sent a
        termination notice (an idle connection has nothing to read)."""
        return self._dead or self.raw.closed or self._has_input()

    def close(self) -> None:
        """Close the connection (never raises)."""
        self._unwatch()
        try:
            self.raw.close()
        except psycopg2.Error:  # pragma: no cover - closing a broken connection
            pass


class PgPool:
    """Up to ``alias.max_conns`` connections to one PostgreSQL alias (one worker)."""

    def __init__(self, alias: Alias, loop: asyncio.AbstractEventLoop) -> None:
        self.alias = alias
        self.loop = loop
        self.size = 0
        self._idle: deque[AsyncConnection] = deque()
        self._waiters: deque[asyncio.Future[AsyncConnection | None]] = deque()
        self._closed = False
        self.statement_policy = StatementPolicy(alias.statement_cache)

    @property
    def idle(self) -> int:
        """Connections open and not in use."""
        return len(self._idle)

    async def _acquire(self) -> AsyncConnection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.stale():
                return conn
            self._discard(conn)
        if self.size < self.alias.max_conns:
            return await self._open()
        waiter: asyncio.Future[AsyncConnection | None] = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            conn = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                self._release(waiter.result())  # type: ignore[arg-type]
            raise
        return conn if conn is not None else await self._open()

    async def _open(self) -> AsyncConnection:
        self.size += 1
        try:
            return await asyncio.wait_for(
                AsyncConnection.connect(self.alias.location, self.loop, self.statement_policy),
                CONNECT_TIMEOUT,
            )
        except BaseException as exc:
            self._slot_freed()
            if isinstance(exc, psycopg2.Error | OSError | TimeoutError):
                logger.warning("cannot connect to %s: %s", self.alias.name, exc)
                raise BackendUnavailable(
                    f"database {self.alias.name} is unavailable: {str(exc).strip()}"
                ) from None
            raise

    def _slot_freed(self) -> None:
        """A connection was closed: let a waiter open a new one."""
        self.size -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, conn: AsyncConnection) -> None:
        conn.busy = False
        if self._closed or conn.raw.closed:
            conn.close()
            self._slot_freed()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: AsyncConnection) -> None:
        conn.close()
        self._slot_freed()

    async def execute(self, sql: Statement, params: Any = None) -> DataSet:
        """Run ``sql`` on a pooled connection (see the module docstring for failures)."""
        conn = await self._acquire()
        try:
            result = await conn.execute(sql, params)
        except asyncio.CancelledError:
            self.loop.create_task(self._recover(conn))
            raise
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            if not _is_disconnect(exc, conn.raw):
                self._release(conn)
                raise
            self._discard(conn)
            self._drop_stale()
            logger.warning(
                "%s: connection lost during a statement: %s",
                self.alias.name, str(exc).strip().splitlines()[0],
            )  # fmt: skip
            # Never re-run it: the server may have executed it already.
            raise BackendDropped(
                f"database {self.alias.name} dropped the connection during the statement"
            ) from exc
        except BaseException:
            self._release(conn)
            raise
        self._release(conn)
        return result

    def _drop_stale(self) -> None:
        """After a lost connection (server restart?), close the idle ones that died too."""
        alive: deque[AsyncConnection] = deque()
        while self._idle:
            conn = self._idle.popleft()
            if conn.stale():
                self._discard(conn)
            else:
                alive.append(conn)
        self._idle = alive

    async def _recover(self, conn: AsyncConnection) -> None:
        """After a timeout: cancel the statement server-side, then reuse or drop."""
        if await conn.cancel():
            self._release(conn)
        else:
            self._discard(conn)

    async def run(self, sql: Statement, params: Any, timeout: float | None) -> DataSet:
        """:meth:`execute` with a timeout (``504``)."""
        try:
            async with asyncio.timeout(timeout):  # no extra task per query, unlike wait_for
                return await self.execute(sql, params)
        except TimeoutError:
            raise CorequestTimeout(
                f"query on {self.alias.name} not finished in {timeout} seconds"
            ) from None

    def close(self) -> None:
        """Close every idle connection; busy ones close when released."""
        self._closed = True
        while self._idle:
            self._discard(self._idle.pop())


__all__ = ["AsyncConnection", "PgPool"]
