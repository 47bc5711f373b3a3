"""What a corequest gives back: tasks in flight, their results, groups of them.

* :class:`Task` — one corequest (a query, a thread call, an HTTP request...)
  started on the worker's event loop.  ``fetch()``/``one()``/``commit()``/
  ``dispatch()`` wait for it on a handler thread; ``await task`` waits on the
  loop; ``task.then(cb)`` hands the wait to the engine (no thread is held).
* :class:`Result` — ``task.dispatch()``: ``status`` (3 done, 2 timed out,
  1 failed), ``status_code``, ``reason``, ``data``, ``expt``, ``meta``.
* :class:`Row` — a database row: a ``dict`` with attribute access.
* :class:`TaskGroup` — ``was.Tasks(...)``: several corequests waited together.
* :class:`Pending` — the base of everything a handler may return before it is
  ready; a framework calls ``on_ready(fn)`` then, from a thread, ``resolve()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from ..attrdict import AttrDict
from .errors import CorequestError, CorequestTimeout, WouldBlock

#: ``Result.status`` values (the original Skitai's numbering).
STATUS_FAILED = 1
STATUS_TIMEOUT = 2
STATUS_NORMAL = 3

_UNSET: Any = object()


class Row(AttrDict):
    """A database row: ``row["id"]`` and ``row.id``; ``row.x = 1`` sets a key."""

    __slots__ = ()


class DataSet:
    """Rows as the driver returned them; made into :class:`Row` objects on demand
    (on the thread that reads them, not on the event loop)."""

    __slots__ = ("names", "raw", "rowcount", "_rows")

    def __init__(self, names: Sequence[str] | None, raw: list[tuple[Any, ...]], rowcount: int):
        self.names = names
        self.raw = raw
        self.rowcount = rowcount
        self._rows: list[Row] | None = None

    @property
    def rows(self) -> list[Row]:
        """The rows as :class:`Row` dicts (``[]`` for statements without a result)."""
        if self._rows is None:
            names = self.names
            # the driver gives every row one value per column: no ``strict`` check
            self._rows = [Row(zip(names, r, strict=False)) for r in self.raw] if names else []
        return self._rows


class Pending:
    """Something a handler can return whose content is not ready yet.

    The engine calls :meth:`on_ready` with a function to run once (on any
    thread) when :meth:`resolve` will not block, then calls :meth:`resolve`
    on a handler thread; ``leading`` arguments (Atila passes ``was``) go
    first to a ``then`` callback.
    """

    def on_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once when ready (at once when already ready)."""
        raise NotImplementedError

    def resolve(self, *leading: Any) -> Any:
        """The final value (may block when not ready)."""
        raise NotImplementedError


class HTTPStatusError(CorequestError):
    """Raised by ``wait_or_throw``/``dispatch_or_throw``: answer ``status``."""


class Result:
    """A finished corequest: ``task.dispatch()``."""

    __slots__ = ("status", "status_code", "reason", "data", "expt", "meta", "response", "_task")

    def __init__(
        self, task: Task, data: Any, expt: BaseException | None, response: Any = None
    ) -> None:
        self._task = task
        self.meta = task.meta
        self.expt = expt
        self.data = data
        #: the upstream's :class:`~skitai.corequests.http.HttpResponse` (HTTP corequests)
        self.response = response
        if response is not None:
            self.status = STATUS_NORMAL if expt is None else STATUS_FAILED
            self.status_code, self.reason = response.status_code, response.reason
        elif expt is None:
            self.status, self.status_code, self.reason = STATUS_NORMAL, 200, "OK"
        else:
            self.status = STATUS_TIMEOUT if isinstance(expt, CorequestTimeout) else STATUS_FAILED
            status = getattr(expt, "status", "500 Internal Server Error")
            self.status_code, self.reason = int(status[:3]), status[4:]

    def __repr__(self) -> str:
        return f"<Result {self.status_code} {self.reason}>"

    def fetch(self) -> Any:
        """The data; raises the corequest's error."""
        if self.expt is not None:
            raise self.expt
        return self.data

    def one(self) -> Any:
        """The only row; ``404`` when there is none, ``409`` when there are several."""
        return _one(self.fetch())

    def commit(self) -> None:
        """Raise the corequest's error, if any (queries are committed as they run)."""
        self.fetch()

    @property
    def text(self) -> str:
        """An HTTP corequest's body as text."""
        return self.response.text if self.response is not None else str(self.data)

    def json(self) -> Any:
        """An HTTP corequest's body decoded as JSON."""
        return self.response.json() if self.response is not None else self.data

    @property
    def headers(self) -> list[tuple[str, str]]:
        """An HTTP corequest's response headers."""
        return self.response.headers if self.response is not None else []

    def raise_for_status(self, status: str = "500 Internal Server Error") -> None:
        """Raise :class:`HTTPStatusError` with ``status`` when the corequest failed."""
        if self.expt is not None or self.status_code >= 400:
            message = str(self.expt) if self.expt is not None else self.reason
            raise HTTPStatusError(message, status) from self.expt

    @property
    def rowcount(self) -> int:
        """Rows a database statement changed (-1 when unknown)."""
        return getattr(self._task.raw(), "rowcount", -1) if self.expt is None else -1


def _one(rows: Any) -> Any:
    if not isinstance(rows, list):
        return rows
    if not rows:
        raise HTTPStatusError("no row found", "404 Not Found")
    if len(rows) > 1:
        raise HTTPStatusError(f"{len(rows)} rows found where one was expected", "409 Conflict")
    return rows[0]


class Task(Pending):
    """One corequest in flight (thread-safe)."""

    def __init__(
        self,
        future: concurrent.futures.Future[Any],
        loop: asyncio.AbstractEventLoop | None,
        *,
        meta: dict[str, Any] | None = None,
        filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
        callback: Callable[[Result], Any] | None = None,
        timeout: float | None = None,
        running: asyncio.Task[Any] | None = None,
    ) -> None:
        self._future = future
        self._loop = loop
        #: the asyncio task when it was started from the loop thread itself
        self._running = running
        self.meta: dict[str, Any] = dict(meta) if meta else {}
        self._filter = filter
        self._timeout = timeout
        self._data: Any = _UNSET
        self._lock = threading.Lock()
        if callback is not None:
            future.add_done_callback(_Once(lambda: callback(self.dispatch())))

    def __repr__(self) -> str:
        state = "done" if self._future.done() else "pending"
        return f"<Task {state} {self.meta or ''}>"

    # -- waiting -------------------------------------------------------------
    def done(self) -> bool:
        """True when the corequest finished (successfully or not)."""
        return self._future.done()

    def on_ready(self, fn: Callable[[], None]) -> None:
        self._future.add_done_callback(_Once(fn))

    def raw(self, timeout: float | None = None) -> Any:
        """Wait (handler thread) and return what the backend returned; raise its error."""
        future = self._future
        if not future.done():
            if self._loop is not None and _on_loop(self._loop):
                raise WouldBlock("a corequest cannot be waited for on the event loop: await it")
            wait = timeout if timeout is not None else self._timeout
            try:
                return future.result(wait)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise CorequestTimeout(f"corequest not finished in {wait} seconds") from None
            except concurrent.futures.CancelledError:
                raise CorequestTimeout("corequest cancelled") from None
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CorequestTimeout("corequest cancelled") from None

    def _value(self, timeout: float | None = None) -> Any:
        if self._data is _UNSET:
            value = self.raw(timeout)
            data = value.rows if isinstance(value, DataSet) else _payload(value)
            with self._lock:
                if self._data is _UNSET:
                    self._data = self._filter(data) if self._filter is not None else data
        return self._data

    # -- the spec's result methods --------------------------------------------
    def fetch(self, timeout: float | None = None) -> Any:
        """The data (rows as :class:`Row` dicts, a function's return value ...)."""
        return self._value(timeout)

    def one(self, timeout: float | None = None) -> Any:
        """The only row: ``404`` when there is none, ``409`` when there are several."""
        return _one(self._value(timeout))

    def commit(self, timeout: float | None = None) -> None:
        """Wait for a statement and raise its error (statements commit as they run)."""
        self._value(timeout)

    def dispatch(self, timeout: float | None = None) -> Result:
        """Wait and return a :class:`Result`; errors are kept in it, not raised."""
        try:
            return Result(self, self._value(timeout), None, self._response())
        except WouldBlock:
            raise
        except Exception as exc:  # noqa: BLE001 - kept in the Result, as documented
            return Result(self, None, exc, self._response())

    def _response(self) -> Any:
        """The raw value when it is an HTTP response (it has a ``status_code``)."""
        future = self._future
        if future.done() and not future.cancelled() and future.exception() is None:
            value = future.result()
            if hasattr(value, "status_code"):
                return value
        return None

    def wait(self, timeout: float | None = None) -> Result:
        """Same as :meth:`dispatch`."""
        return self.dispatch(timeout)

    def dispatch_or_throw(
        self, status: str = "500 Internal Server Error", timeout: float | None = None
    ) -> Result:
        """:meth:`dispatch`, raising :class:`HTTPStatusError` (``status``) on failure."""
        result = self.dispatch(timeout)
        result.raise_for_status(status)
        return result

    def wait_or_throw(
        self, status: str = "500 Internal Server Error", timeout: float | None = None
    ) -> Result:
        """Same as :meth:`dispatch_or_throw`."""
        return self.dispatch_or_throw(status, timeout)

    def then(self, callback: Callable[..., Any]) -> Then:
        """Respond with ``callback(was, task)`` once done, without holding a thread."""
        return Then(self, callback)

    def resolve(self, *leading: Any) -> Any:
        return self.fetch()

    def __await__(self) -> Generator[Any, None, Task]:
        if not self._future.done():
            running = self._running
            if running is not None:
                waiter = running.get_loop().create_future()
                running.add_done_callback(lambda _t: waiter.done() or waiter.set_result(None))
                yield from waiter.__await__()
            else:
                yield from asyncio.wrap_future(self._future).__await__()
        return self


class _Once:
    """A future's done callback that forgets ``fn`` once called.

    ``concurrent.futures.Future`` keeps its callbacks after it completes: a
    callback holding the request (``fn`` reaches the task, the response, the
    exchange) would make a reference cycle of the whole request, left to the
    cyclic garbage collector — whose full passes cost milliseconds under load.
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn: Callable[[], Any] | None = fn

    def __call__(self, _future: Any) -> None:
        fn, self.fn = self.fn, None
        if fn is not None:
            fn()


def _payload(value: Any) -> Any:
    data = getattr(value, "corequest_data", _UNSET)
    return value if data is _UNSET else data()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def completed(value: Any, *, meta: dict[str, Any] | None = None, filter: Any = None) -> Task:
    """A task that is already done with ``value`` (``was.Mask``)."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_result(value)
    return Task(future, None, meta=meta, filter=filter)


def when_all(items: Sequence[Pending], fn: Callable[[], None]) -> None:
    """Call ``fn()`` once after every item of ``items`` is ready."""
    if not items:
        fn()
        return
    remaining = [len(items)]
    lock = threading.Lock()

    def one_done() -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            fn()

    for item in items:
        item.on_ready(one_done)


class TaskGroup(Pending):
    """``was.Tasks(*tasks, **named)``: corequests started together, waited together."""

    def __init__(self, *tasks: Pending, meta: dict[str, Any] | None = None, **named: Pending):
        self.names: list[str | None] = [None] * len(tasks) + list(named)
        self.tasks: list[Pending] = [*tasks, *named.values()]
        self.meta: dict[str, Any] = dict(meta or {})

    def __iter__(self) -> Iterator[Pending]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, key: int | str) -> Pending:
        if isinstance(key, str):
            return self.tasks[self.names.index(key)]
        return self.tasks[key]

    def items(self) -> list[tuple[str | None, Pending]]:
        """``(name or None, task)`` pairs in order."""
        return list(zip(self.names, self.tasks, strict=True))

    def on_ready(self, fn: Callable[[], None]) -> None:
        when_all(self.tasks, fn)

    def fetch(self) -> Any:
        """Each task's data: a dict when every task is named, else a list in order."""
        values = [_fetch(task) for task in self.tasks]
        if self.names and all(self.names):
            return dict(zip(self.names, values, strict=True))
        return values

    def dispatch(self, timeout: float | None = None) -> list[Any]:
        """Each task's :class:`Result`."""
        return [t.dispatch(timeout) if isinstance(t, Task) else t for t in self.tasks]

    def then(self, callback: Callable[..., Any]) -> Then:
        """Respond with ``callback(was, tasks)`` once all are done."""
        return Then(self, callback)

    def resolve(self, *leading: Any) -> Any:
        return self.fetch()

    def __await__(self) -> Generator[Any, None, TaskGroup]:
        for task in self.tasks:
            if isinstance(task, Task | TaskGroup):
                yield from task.__await__()
        return self


def _fetch(task: Pending) -> Any:
    fetch = getattr(task, "fetch", None)
    return fetch() if fetch is not None else task.resolve()


class Then(Pending):
    """``task.then(callback)``: the response is ``callback(*leading, task)``."""

    def __init__(self, target: Pending, callback: Callable[..., Any]) -> None:
        self.target = target
        self.callback = callback

    def on_ready(self, fn: Callable[[], None]) -> None:
        self.target.on_ready(fn)

    def resolve(self, *leading: Any) -> Any:
        return self.callback(*leading, self.target)


__all__ = [
    "STATUS_FAILED",
    "STATUS_NORMAL",
    "STATUS_TIMEOUT",
    "DataSet",
    "HTTPStatusError",
    "Pending",
    "Result",
    "Row",
    "Task",
    "TaskGroup",
    "Then",
    "completed",
    "when_all",
]
