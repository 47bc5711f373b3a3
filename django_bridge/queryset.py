"""Django QuerySets as corequest SQL (spec "Using Django Models").

:func:`queryset_adapter` is the engine's statement adapter for QuerySets and
precompiled queries (``skitai.statement_adapters`` entry points ``django`` and
``django_bridge``; :func:`enable`, run whenever a Django alias is registered,
registers it in code too), so ``was.db("@django").execute(queryset)``
compiles the QuerySet with Django's own SQL compiler for the alias's
database, passes its parameters to the driver (never pasted into the SQL) and
runs it as a corequest: on the event loop for PostgreSQL, on an executor for
SQLite.  No ``django_bridge.install`` is needed for that.  ``fetch()``, ``one()``,
``then()`` and ``was.Map`` work as on any corequest; rows are dicts named by
the selected columns (use ``.values(...)`` to choose them).

Only reading QuerySets are accepted: ``select_for_update()`` or a query that
is not a plain SELECT raises ``TypeError``; an empty QuerySet (``.none()``)
runs a query that returns no rows.  :func:`instances` turns a finished
corequest back into model instances (Django's field conversions applied,
``select_related`` populated and ``prefetch_related`` run, the latter with
ordinary blocking ORM queries).  ``statement()`` of a
:func:`~django_bridge.precompiled` builder runs the same way without building
and compiling the QuerySet each time.
"""

from __future__ import annotations

import re
from typing import Any

from skitai.corequests import DB_PGSQL, DB_SQLITE3, Alias

from .precompiled import BoundQuery

__all__ = ["compile_queryset", "enable", "instances", "queryset_adapter", "values_of"]

_PYFORMAT = re.compile(r"%%|%s")
_NO_ROWS = {DB_PGSQL: "SELECT 1 WHERE false", DB_SQLITE3: "SELECT 1 WHERE 0"}
_VENDORS = {DB_PGSQL: "postgresql", DB_SQLITE3: "sqlite"}
#: Attribute of a QuerySet holding ``(using, compiler)`` from its last compilation, so
#: :func:`instances`/:func:`values_of` convert its rows without compiling it again.
_COMPILED = "_django_bridge_compiled"


def _is_queryset(obj: Any) -> bool:
    from django.db.models.query import QuerySet

    return isinstance(obj, QuerySet)


def _qmark(sql: str) -> str:
    """Django's ``%s`` placeholders as sqlite3's ``?`` (and ``%%`` as ``%``)."""
    return _PYFORMAT.sub(lambda m: "?" if m.group(0) == "%s" else "%", sql)


def compile_queryset(
    queryset: Any, kind: str, using: str = "default"
) -> tuple[str, tuple[Any, ...]]:
    """``(sql, params)`` reading ``queryset``, for alias kind ``kind`` and Django DB ``using``."""
    from django.core.exceptions import EmptyResultSet
    from django.db import connections
    from django.db.models.sql import Query

    query = queryset.query
    if type(query) is not Query:
        raise TypeError(f"only SELECT QuerySets run as corequests, not {type(query).__name__}")
    if query.select_for_update:
        raise TypeError("select_for_update() QuerySets cannot run as corequests")
    vendor = connections[using].vendor
    if _VENDORS.get(kind) != vendor:
        raise TypeError(f"a {vendor} QuerySet cannot run on a {kind} alias")
    compiler = query.get_compiler(using=using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return _NO_ROWS[kind], ()
    setattr(queryset, _COMPILED, (using, compiler))
    if kind == DB_SQLITE3:
        sql = _qmark(sql)
    return sql, tuple(params)


def queryset_adapter(obj: Any, alias: Alias) -> tuple[str, tuple[Any, ...]] | None:
    """The statement adapter for ``Database.execute``: QuerySets and precompiled ones.

    The QuerySet is compiled for the Django database behind ``alias`` (see
    :func:`django_bridge.alias`), or the one it names with ``.using()``.  A
    :class:`~django_bridge.precompiled.BoundQuery` brings its SQL, compiled
    for the database Django's router chose (Django's SQL depends only on the
    database vendor, which must be the alias's).
    """
    from .aliases import database_of

    if isinstance(obj, BoundQuery):
        return _bound_sql(obj, alias.kind)
    if not _is_queryset(obj):
        return None
    using = obj._db or database_of(alias)
    return compile_queryset(obj, alias.kind, using)


def _bound_sql(bound: BoundQuery, kind: str) -> tuple[str, tuple[Any, ...]]:
    """``(sql, params)`` of a precompiled query for alias kind ``kind``."""
    from django.db import connections

    vendor = connections[bound.db].vendor
    if _VENDORS.get(kind) != vendor:
        raise TypeError(f"a {vendor} QuerySet cannot run on a {kind} alias")
    sql = _qmark(bound.sql) if kind == DB_SQLITE3 else bound.sql
    return sql, tuple(bound.params)


def enable() -> None:
    """Let ``was.db(...).execute`` take QuerySets and precompiled queries (idempotent)."""
    from skitai.corequests.statements import register_statement_adapter

    register_statement_adapter("django", queryset_adapter)
    register_statement_adapter("django_bridge", queryset_adapter)


def instances(queryset: Any, task: Any, timeout: float | None = None) -> list[Any]:
    """Model instances of ``queryset`` from ``task``, the corequest that ran it."""
    from django.db.models.query import (
        ModelIterable,
        get_related_populators,
        prefetch_related_objects,
    )

    structure = queryset.structure if isinstance(queryset, BoundQuery) else queryset
    if structure._iterable_class is not ModelIterable:
        raise TypeError("instances() needs a model QuerySet, not values()/values_list()")
    rows = list(task.raw(timeout).raw)
    if not rows:
        # also a QuerySet that can match nothing (``pk=<out of range>``): compiling it
        # again to read rows would raise EmptyResultSet
        return []
    _, compiler = _structure_and_compiler(queryset)
    using = structure.db
    klass_info = compiler.klass_info
    select, annotations = compiler.select, compiler.annotation_col_map or {}
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, using)
    model = klass_info["model"]
    found = []
    for row in compiler.results_iter(results=[rows]):
        obj = model.from_db(using, names, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for attr, position in annotations.items():
            setattr(obj, attr, row[position])
        found.append(obj)
    if structure._prefetch_related_lookups:
        prefetch_related_objects(found, *structure._prefetch_related_lookups)
    return found


def _structure_and_compiler(statement: Any) -> tuple[Any, Any]:
    """The QuerySet that shapes ``statement``'s rows and a compiler set up to read them."""
    if isinstance(statement, BoundQuery):
        from django.db import connections

        return statement.structure, statement.compiler(connections[statement.db])
    return statement, _compiler(statement, statement.db)


def _compiler(queryset: Any, using: str) -> Any:
    """The SQL compiler that ran ``queryset`` (set up by ``as_sql()``), or a new one."""
    compiled = getattr(queryset, _COMPILED, None)
    if compiled is not None and compiled[0] == using:
        return compiled[1]
    compiler = queryset.query.get_compiler(using=using)
    compiler.as_sql()  # sets up select, klass_info and annotation_col_map
    return compiler


def values_of(queryset: Any, task: Any, timeout: float | None = None) -> list[dict[str, Any]]:
    """The rows of ``values(...)`` ``queryset`` from ``task`` as ``QuerySet.values()`` gives them.

    Dicts named as ``values()`` names them, with Django's field conversions
    (an aware ``datetime`` for a ``DateTimeField`` on SQLite too), but no model
    instances: the cheap way to answer a list as JSON.
    """
    from django.db.models.query import ValuesIterable

    structure = queryset.structure if isinstance(queryset, BoundQuery) else queryset
    if structure._iterable_class is not ValuesIterable:
        raise TypeError("values_of() needs a values(...) QuerySet")
    raw = list(task.raw(timeout).raw)
    if not raw:
        return []
    query = structure.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    _, compiler = _structure_and_compiler(queryset)
    return [dict(zip(names, row, strict=True)) for row in compiler.results_iter(results=[raw])]
