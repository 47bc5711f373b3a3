"""``Corequests``: the corequest hub of one worker, put in ``environ["skitai.corequests"]``.

This is the whole interface an application framework needs: every method is
thread-safe, returns a :class:`~skitai.corequests.results.Task` at once and
runs the work on the worker's event loop (PostgreSQL, shell commands, HTTP)
or on a dedicated executor (SQLite, functions, processes).

Outside a Skitai worker (another WSGI server, a script, a test),
:func:`standalone` gives a hub whose loop runs on a background thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from .aliases import DB_PGSQL, DB_SQLITE3, Alias, AliasError, AliasTable, registry
from .db_sqlite import SqliteExecutor
from .errors import CorequestTimeout
from .results import Result, Task
from .tasks import DEFAULT_TASK_THREADS, TaskRunners, run_shell

if TYPE_CHECKING:
    from .db_pg import PgPool

#: A statement, or a list of statements run as one transaction.
Statement = str | Sequence[str]
#: Seconds a task waits beyond its backend timeout (the backend answers 504 first).
_GRACE = 1.0


class Corequests:
    """Start corequests on ``loop``; backends for ``table``'s aliases open lazily."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        table: AliasTable = registry,
        threads: int = DEFAULT_TASK_THREADS,
    ) -> None:
        self.loop = loop
        self.aliases = table
        self.runners = TaskRunners(threads)
        self._pg: dict[Alias, PgPool] = {}
        self._sqlite: dict[Alias, SqliteExecutor] = {}
        self._http: Any = None

    def alias(self, name: str | Alias) -> Alias:
        """The :class:`Alias` called ``name`` (``AliasError`` when unknown)."""
        return name if isinstance(name, Alias) else self.aliases.get(name)

    def submit(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        timeout: float | None = None,
        meta: dict[str, Any] | None = None,
        filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
        callback: Callable[[Result], Any] | None = None,
        wait: float | None = None,
    ) -> Task:
        """Run ``coro`` on the loop; it is cancelled (``504``) after ``timeout``.

        ``wait`` bounds how long a blocking ``fetch()`` waits (default: the
        timeout plus a second).
        """
        if timeout is not None:
            coro = _with_timeout(coro, timeout)
            if wait is None:
                wait = timeout + _GRACE
        if _on_loop(self.loop):  # an async handler: no round trip through the loop's pipe
            running = self.loop.create_task(coro)
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()
            running.add_done_callback(partial(_settle, future))
            return Task(
                future, self.loop, meta=meta, filter=filter, callback=callback, timeout=wait,
                running=running,
            )  # fmt: skip
        # From another thread: one hand-off to the loop, which starts the task (lighter
        # than run_coroutine_threadsafe's two-way future chaining).
        future = _LoopFuture(self.loop)
        self.loop.call_soon_threadsafe(_start, self.loop, coro, future)
        return Task(future, self.loop, meta=meta, filter=filter, callback=callback, timeout=wait)

    # -- databases ---------------------------------------------------------------
    def query(
        self,
        alias: str | Alias,
        sql: Statement,
        params: Any = None,
        *,
        timeout: float | None = None,
        meta: dict[str, Any] | None = None,
        filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
        callback: Callable[[Result], Any] | None = None,
    ) -> Task:
        """Run ``sql`` (with driver ``params``) on database ``alias``."""
        target = self.alias(alias)
        if not target.is_database:
            raise AliasError(f"{target.name} is not a database alias")
        limit = target.timeout if timeout is None else timeout
        if target.kind == DB_SQLITE3 and callback is None:
            # straight to the SQLite executor: no hop through the loop (a callback
            # is documented to run on the loop, so it takes the general path)
            future = self._sqlite_executor(target).submit(sql, params, limit)
            return Task(future, self.loop, meta=meta, filter=filter, timeout=limit + _GRACE)
        return self.submit(
            self._query(target, sql, params, limit),
            meta=meta, filter=filter, callback=callback, wait=limit + _GRACE,
        )  # fmt: skip

    async def _query(self, alias: Alias, sql: Statement, params: Any, timeout: float) -> Any:
        if alias.kind == DB_PGSQL:
            pool = self._pg.get(alias)
            if pool is None:
                from .db_pg import PgPool  # psycopg2 is needed only with PostgreSQL aliases

                pool = self._pg[alias] = PgPool(alias, self.loop)
            return await pool.run(sql, params, timeout)
        return await self._sqlite_executor(alias).run(sql, params, timeout)

    def _sqlite_executor(self, alias: Alias) -> SqliteExecutor:
        executor = self._sqlite.get(alias)
        if executor is None:  # keyed by the alias itself: re-registering a name starts anew
            executor = self._sqlite.setdefault(alias, SqliteExecutor(alias))
        return executor

    def pool(self, alias: str) -> PgPool | None:
        """The PostgreSQL pool of ``alias`` in this worker, once opened (for tests/metrics)."""
        return self._pg.get(self.alias(alias))

    # -- functions, processes, commands --------------------------------------------
    def thread(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Task:
        """``fn(*args, **kwargs)`` on a task thread (``was.Thread``)."""
        future = self.runners.thread(fn, tuple(args), dict(kwargs or {}))
        return Task(future, self.loop, **options)

    def process(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> Task:
        """``fn(*args, **kwargs)`` in a pool process (``was.Process``)."""
        future = self.runners.process(fn, tuple(args), dict(kwargs or {}))
        return Task(future, self.loop, **options)

    def subprocess(self, command: str, timeout: float | None = None, **options: Any) -> Task:
        """A shell command's standard output (``was.Subprocess``)."""
        return self.submit(run_shell(command, timeout), **options)

    def coroutine(self, coro: Coroutine[Any, Any, Any], **options: Any) -> Task:
        """Any coroutine (an ``async def`` handler) on the loop, in the caller's context."""
        return self.submit(coro, **options)

    # -- HTTP ------------------------------------------------------------------------
    @property
    def http(self) -> Any:
        """The worker's HTTP client (:class:`skitai.corequests.http.HttpClient`)."""
        if self._http is None:
            from .http import HttpClient

            self._http = HttpClient(self)
        return self._http

    def close(self) -> None:
        """Release every backend (call on the loop thread at worker shutdown)."""
        for pool in self._pg.values():
            pool.close()
        for executor in self._sqlite.values():
            executor.close()
        self.runners.close()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class _LoopFuture(concurrent.futures.Future):  # type: ignore[type-arg]
    """The future of a coroutine started on the loop from another thread: cancelling
    it (a reader timed out) cancels the coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.running: asyncio.Task[Any] | None = None

    def cancel(self) -> bool:
        cancelled = super().cancel()
        running = self.running
        if cancelled and running is not None:
            try:
                self.loop.call_soon_threadsafe(running.cancel)
            except RuntimeError:  # the loop is closed
                pass
        return cancelled


def _start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
           future: _LoopFuture) -> None:  # fmt: skip
    """Start ``coro`` for ``future`` (on the loop)."""
    if future.cancelled():
        coro.close()
        return
    running = future.running = loop.create_task(coro)
    running.add_done_callback(partial(_settle, future))


def _settle(future: concurrent.futures.Future[Any], running: asyncio.Task[Any]) -> None:
    """Copy an asyncio task's outcome to the future the task's readers wait on."""
    if isinstance(future, _LoopFuture):
        future.running = None  # no future -> task -> ... -> future reference cycle
        if not future.set_running_or_notify_cancel():
            return  # cancelled by its reader
    elif future.done():
        return
    if running.cancelled():
        future.set_exception(CorequestTimeout("corequest cancelled"))
    elif (exc := running.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(running.result())


async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
    try:
        async with asyncio.timeout(timeout):
            return await coro
    except TimeoutError:
        raise CorequestTimeout(f"corequest not finished in {timeout} seconds") from None


#: Serialises the first call of :func:`standalone`: ``functools.cache`` alone
#: could run the factory twice when two threads ask at once (two loop threads).
_standalone_lock = threading.Lock()


@functools.cache
def _new_standalone() -> Corequests:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="skitai-corequests", daemon=True)
    thread.start()
    return Corequests(loop)


def standalone() -> Corequests:
    """A process-wide hub with its own loop thread, for use outside Skitai workers.

    Created on the first call; every later call (from any thread) returns the same hub.
    """
    with _standalone_lock:
        return _new_standalone()


__all__ = ["Corequests", "standalone"]
