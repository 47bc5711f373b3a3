"""The ``was`` side of corequests: ``was.db``, ``was.Thread``, ``was.Map`` ...

Spec: "Using SQL Map with SQLPhile", "Map / Mapped Response", "Process /
Thread Response", "ThreadPass Response" and the first example of the spec.

Everything here is a thin layer over the engine's corequest hub, found in
``environ["skitai.corequests"]`` (:mod:`skitai.corequests`).  Under another
WSGI server, or outside a request, a standalone hub with its own loop thread
is used, so the same code runs everywhere (the handler thread then waits).

A handler may return a :class:`~skitai.corequests.Pending` (``task.then(cb)``,
``was.Map(...)``, ``was.ThreadPass(...)``, a coroutine): Atila answers with a
:class:`DeferredResponse`, which Skitai parks until the corequests are done —
no handler thread waits meanwhile — and other servers iterate (blocking).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atila.maps import Map, Mapped
from skitai.corequests import (
    DB_PGSQL,
    ENVIRON_KEY,
    Alias,
    Corequests,
    Pending,
    Task,
    TaskGroup,
    completed,
    standalone,
)
from skitai.corequests.statements import adapt_statement, register_statement_adapter

if TYPE_CHECKING:
    from atila.was import Was

__all__ = [
    "Database",
    "DeferredResponse",
    "SQLBuilder",
    "ThreadPass",
    "hub_of",
    "register_statement_adapter",
    "sqlphile_statement",
]


def hub_of(was: Any) -> Corequests:
    """The corequest hub serving ``was``'s request (the standalone one elsewhere)."""
    request = getattr(was, "request", None)
    env = getattr(request, "env", None) or {}
    hub = env.get(ENVIRON_KEY)
    return hub if hub is not None else standalone()


# --------------------------------------------------------------------------- SQL


def sqlphile_statement(query: Any, alias: Alias) -> tuple[str, None] | None:
    """The statement adapter for sqlphile queries (``was.sql.select(...)``): their SQL
    text, values quoted in it.  Registered as the ``sqlphile`` entry point of the group
    ``skitai.statement_adapters`` (see :mod:`skitai.corequests.statements`)."""
    from sqlphile.sql import SQL

    return (query.as_sql(), None) if isinstance(query, SQL) else None


class SQLBuilder:
    """``was.sql``: sqlphile's builder (``select/insert/update/delete/template``)
    plus the SQL maps of the app's ``sqlmaps/`` directory (``was.sql.users.find``)."""

    def __init__(self, engine: str = DB_PGSQL, directory: str | None = None, conn: Any = None):
        import sqlphile  # sqlphile is needed only by apps using the SQL builder

        _add_like_operators(sqlphile)
        # its queries go to execute(): also without the distribution's entry points
        register_statement_adapter("sqlphile", sqlphile_statement)
        self.engine = engine
        self._plain = sqlphile.SQLMap(None, False, engine, conn)
        self._maps: dict[str, Any] = {}
        if directory and Path(directory).is_dir():
            for path in sorted(Path(directory).iterdir()):
                if path.is_file() and not path.name.startswith(("#", ".")):
                    self._maps[path.stem] = sqlphile.SQLMap(str(path), False, engine, conn)

    def __getattr__(self, name: str) -> Any:
        maps = self.__dict__.get("_maps", {})
        if name in maps:
            return maps[name]
        return getattr(self.__dict__["_plain"], name)

    def with_conn(self, conn: Any) -> SQLBuilder:
        """The same maps bound to ``conn`` (whose ``execute(sql)`` runs a query)."""
        clone = object.__new__(SQLBuilder)
        clone.engine = self.engine
        clone._plain = self._plain.new(_Conn(conn, self.engine))
        clone._maps = {name: m.new(_Conn(conn, self.engine)) for name, m in self._maps.items()}
        return clone


def _add_like_operators(sqlphile: Any) -> None:
    """Let ``filter(name__like="v%")`` work as in the spec's example: sqlphile 0.9 knows
    ``contains``/``startswith``... but not plain ``like``/``ilike`` (values stay quoted)."""
    operators = sqlphile.q.OPS
    for name, sql_op in (("like", "LIKE"), ("ilike", "ILIKE"), ("notlike", "NOT LIKE")):
        operators.setdefault(name, sql_op)


class _Conn:
    """What ``SQLMap.new`` expects of a connection: ``dbtype`` and ``execute``."""

    def __init__(self, database: Database, engine: str) -> None:
        self.dbtype = engine
        self.execute = database.execute


def setup_sqlphile(app: Any, engine: str = DB_PGSQL, directory: str | None = None) -> SQLBuilder:
    """``app.setup_sqlphile(engine)``: ``was.sql`` for ``engine``, with ``sqlmaps/``."""
    if directory is None:
        directory = str(_app_dir(app) / "sqlmaps")
    builder = SQLBuilder(engine, directory)
    app.sqlphile = builder
    return builder


def _app_dir(app: Any) -> Path:
    import sys

    module = sys.modules.get(getattr(app, "import_name", ""))
    path = getattr(module, "__file__", None)
    return Path(path).resolve().parent if path else Path.cwd()


def sql_of(was: Was) -> SQLBuilder:
    """``was.sql``: the app's builder (PostgreSQL dialect unless ``setup_sqlphile`` said)."""
    app = was.app
    builder = getattr(app, "sqlphile", None)
    if builder is None:
        builder = setup_sqlphile(app)
    return builder


class Database:
    """``was.db("@alias")``: run SQL — raw or built with sqlphile — as corequests.

    ``db.select("photo").filter(uid=1).execute()`` and ``db.execute(sql,
    params)`` return a :class:`~skitai.corequests.Task` at once; the query
    runs on the worker's event loop.  ``filter`` post-processes the rows,
    ``callback(result)`` is called when done, ``timeout`` (seconds) overrides
    the alias's.
    """

    def __init__(
        self,
        hub: Corequests,
        alias: str,
        *,
        filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
        callback: Callable[[Any], Any] | None = None,
        timeout: float | None = None,
        meta: dict[str, Any] | None = None,
        builder: SQLBuilder | None = None,
    ) -> None:
        self.hub = hub
        self.alias = hub.alias(alias)
        self._options = {"filter": filter, "callback": callback, "timeout": timeout, "meta": meta}
        self._builder = builder
        self._bound: SQLBuilder | None = None

    def __repr__(self) -> str:
        return f"<Database {self.alias.name}>"

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to release: each query borrows a pooled connection only while it runs."""

    def execute(self, sql: Any, params: Any = None) -> Task:
        """Run ``sql`` (text, a sqlphile query, a Django QuerySet, or a list run as one
        transaction).

        Values go in ``params`` with the driver's placeholders (``%s`` for
        PostgreSQL, ``?`` for SQLite), or through the builder, which quotes them.
        Another object is a ``TypeError`` naming what is accepted (see
        :mod:`skitai.corequests.statements`).
        """
        statement, params = adapt_statement(sql, params, self.alias)
        return self.hub.query(self.alias, statement, params, **self._options)

    @property
    def sql(self) -> SQLBuilder:
        """The builder bound to this database (its queries' ``execute()`` run here)."""
        if self._bound is None:
            base = self._builder or SQLBuilder(self.alias.kind)
            if base.engine != self.alias.kind:
                base = SQLBuilder(self.alias.kind)
            self._bound = base.with_conn(self)
        return self._bound

    def select(self, table: Any, alias: str | None = None) -> Any:
        """``SELECT ... FROM table``: a sqlphile query; ``.execute()`` runs it here."""
        return self.sql.select(table, alias)

    def insert(self, table: Any, alias: str | None = None) -> Any:
        """``INSERT INTO table``: chain ``.data(**values)``, ``.returning(...)``."""
        return self.sql.insert(table, alias)

    def update(self, table: Any, alias: str | None = None) -> Any:
        """``UPDATE table``: chain ``.data(...)`` and ``.filter(...)`` (required)."""
        return self.sql.update(table, alias)

    def delete(self, table: Any, alias: str | None = None) -> Any:
        """``DELETE FROM table``: chain ``.filter(...)`` (required)."""
        return self.sql.delete(table, alias)

    def with_(self, alias: str, statement: Any) -> Any:
        """``WITH alias AS (statement) ...``."""
        return self.sql.with_(alias, statement)

    def template(self, text: str) -> Any:
        """A query from a template string (``{this.columns}``, ``{_filters}`` ...)."""
        return self.sql.template(text)


def db(
    was: Was,
    alias: str,
    filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
    callback: Callable[[Any], Any] | None = None,
    timeout: float | None = None,
    meta: dict[str, Any] | None = None,
) -> Database:
    """``was.db("@alias", filter=None, callback=None)``."""
    builder = getattr(was.app, "sqlphile", None)
    return Database(
        hub_of(was), alias, filter=filter, callback=callback, timeout=timeout, meta=meta,
        builder=builder,
    )  # fmt: skip


# --------------------------------------------------------------------------- tasks


def thread(
    was: Was,
    target: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
) -> Task:
    """``was.Thread(fn, args=(), kwargs={}, meta=None)``: ``fn`` on a task thread."""
    return hub_of(was).thread(target, args, kwargs, meta=meta, filter=filter)


def process(
    was: Was,
    target: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
) -> Task:
    """``was.Process(fn, args=(), kwargs={}, meta=None)``: ``fn`` in a pool process."""
    return hub_of(was).process(target, args, kwargs, meta=meta, filter=filter)


def subprocess(
    was: Was,
    command: str,
    meta: dict[str, Any] | None = None,
    filter: Callable[[Any], Any] | None = None,  # noqa: A002 - spec name
    timeout: float | None = None,
) -> Task:
    """``was.Subprocess("ls /var/log")``: the command's standard output."""
    return hub_of(was).subprocess(command, timeout, meta=meta, filter=filter)


def mask(was: Was, value: Any, meta: dict[str, Any] | None = None) -> Task:
    """``was.Mask(value)``: a finished corequest holding ``value``."""
    return completed(value, meta=meta)


def tasks(
    was: Was, *items: Pending, meta: dict[str, Any] | None = None, **named: Pending
) -> TaskGroup:
    """``was.Tasks(task, ..., name=task)``: wait for several corequests together."""
    return TaskGroup(*items, meta=meta, **named)


class ThreadPass(Pending):
    """``was.ThreadPass(fn, args=())``: respond with ``fn(was, *args)`` run on a task
    thread, freeing the request's handler thread meanwhile."""

    def __init__(self, was: Was, target: Callable[..., Any], args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.task = hub_of(was).thread(target, (was, *args), kwargs)

    def on_ready(self, fn: Callable[[], None]) -> None:
        self.task.on_ready(fn)

    def resolve(self, *leading: Any) -> Any:
        return self.task.fetch()


# --------------------------------------------------------------------------- deferral


class DeferredResponse:
    """The WSGI body of a response whose content is a :class:`Pending`.

    Skitai sees ``on_ready``/``resume`` (:class:`skitai.types.DeferredBody`):
    it frees the handler thread, and calls ``resume()`` on a handler thread
    once the corequests are done.  Other servers just iterate it: the
    iteration waits, then yields the real body.
    """

    def __init__(
        self,
        pending: Pending,
        complete: Callable[[Pending], Any],
        context: Context,
    ) -> None:
        self.pending = pending
        self._complete = complete
        self._context = context
        self._start_response: Callable[..., Any] | None = None
        self._body: Iterable[bytes] | None = None

    @property
    def resume_on_loop(self) -> bool:
        """True when :meth:`resume` runs no handler code that may block (an ``async
        def`` handler's result, a ``was.Map`` of corequests): Skitai may then build
        the response on the event loop, without a hand-off to a handler thread."""
        return bool(getattr(self.pending, "resume_on_loop", False))

    def bind(self, start_response: Callable[..., Any]) -> DeferredResponse:
        """Remember the WSGI ``start_response`` to call once the response is known."""
        self._start_response = start_response
        return self

    def on_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once :meth:`resume` will not wait."""
        self.pending.on_ready(fn)

    def resume(self) -> Iterable[bytes]:
        """Build the response (calls ``start_response``); may return another deferral."""
        outcome = self._context.run(self._complete, self.pending)
        if isinstance(outcome, DeferredResponse):
            assert self._start_response is not None
            return outcome.bind(self._start_response)
        status, headers, body = outcome
        assert self._start_response is not None
        self._start_response(status, headers)
        return body

    def __iter__(self) -> Iterator[bytes]:
        body: Iterable[bytes] = self
        while isinstance(body, DeferredResponse):
            ready = threading.Event()
            body.on_ready(ready.set)
            ready.wait()
            body = body.resume()
        self._body = body
        yield from body

    def close(self) -> None:
        """Close the real body, if one was produced by iterating."""
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


# --------------------------------------------------------------------------- was


class WasCorequests:
    """The corequest attributes of ``was`` (mixed into :class:`atila.was.Was`)."""

    __slots__ = ()

    #: ``was.db("@alias", filter=None, callback=None, timeout=None)``.
    db = db
    #: ``was.sqlite3("@alias")``: the same as ``was.db`` (the spec's older name).
    sqlite3 = db
    #: ``was.Thread(fn, args=(), kwargs=None, meta=None)``.
    Thread = thread
    #: ``was.Process(fn, args=(), kwargs=None, meta=None)``.
    Process = process
    #: ``was.Subprocess("command")``.
    Subprocess = subprocess
    #: ``was.Mask(value)``.
    Mask = mask
    #: ``was.Tasks(*tasks, **named_tasks)``.
    Tasks = tasks
    #: ``was.Mapped(tasks)``.
    Mapped = Mapped

    def Map(self, *args: Any, **named: Any) -> Map:  # noqa: N802 - spec name
        """``was.Map(status=None, *tasks, **named)``: see :class:`Map`."""
        mapped = Map(*args, **named)
        mapped.hub = hub_of(self)
        return mapped

    def ThreadPass(  # noqa: N802 - spec name
        self, target: Callable[..., Any], args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> ThreadPass:  # fmt: skip
        """``was.ThreadPass(fn, args=())``: respond with ``fn(was, *args)`` from a task thread."""
        return ThreadPass(self, target, args, kwargs)  # type: ignore[arg-type]

    def Input(self, size: int = 65536) -> Any:  # noqa: N802 - spec name
        """``data = yield was.Input(n)`` in a coroutine: read the request body.

        In a ``WS_COROUTINE`` WebSocket handler: the next message (None once
        the connection closed).
        """
        if getattr(self, "websocket", None) is not None:
            from atila.websocket import NEXT_MESSAGE

            return NEXT_MESSAGE
        from atila.coroutines import Input

        return Input(self, size)

    @property
    def sql(self) -> SQLBuilder:
        """``was.sql``: the app's sqlphile builder (see ``app.setup_sqlphile``)."""
        return sql_of(self)  # type: ignore[arg-type]
