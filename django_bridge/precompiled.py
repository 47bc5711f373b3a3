"""QuerySets whose SQL Django compiles once per shape: :func:`precompiled`.

On a short query Django spends more time building the QuerySet
(``filter()``, ``values()``) and compiling it to SQL than the database
spends running it, and it does so on every request although only the
values change.  ``@django_bridge.precompiled`` takes a function that builds
a QuerySet from its arguments and remembers the SQL of each *shape* of its
arguments::

    @django_bridge.precompiled
    def photos_of(owner_id: int):
        return Photo.objects.filter(owner_id=owner_id).values("id", "title")

    rows = photos_of(uid)             # list(QuerySet): here a list of dicts
    photos_of.queryset(uid)           # the plain QuerySet, to chain or run as a corequest

A call returns what ``list(queryset)`` would: model instances (with
``select_related`` and ``prefetch_related``), ``values()`` dicts or
``values_list()`` tuples, through Django's own iterables, field conversions,
cursor and connection handling.  Only building and compiling are skipped.

How a shape is learnt: the shape is the number and names of the arguments,
the type of each (``int``, ``str``, ``float``, ``Decimal``, ``date``,
``datetime``, ``UUID``), and the value itself of a ``bool`` or ``None``
(they change the SQL).  The first call of a shape builds the QuerySet twice,
with the arguments and with altered ones, and compiles both; the SQL is
kept when both texts are the same and every parameter that differs is one of
the arguments, unchanged (so Django's value preparation did nothing to it).
Later calls put the new values into those places and run the SQL.  A shape
that does not qualify (a value Django transforms, such as ``__icontains``
or a datetime on SQLite; an argument of another type, such as a list for
``__in``; ``select_for_update()``; a ``Prefetch`` with its own QuerySet;
slicing by an argument) is built and compiled on every call, as plain
Django does: the result is always right, only not faster.

The contract: the function must hand its arguments to the QuerySet as they
are, and the SQL's shape must not depend on their values (no ``if uid:``
choosing another filter, no arithmetic on them).  Within that, the
remembered SQL is exactly what Django would compile.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import operator
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any, Generic, ParamSpec

__all__ = ["BoundQuery", "PrecompiledQuery", "precompiled"]

P = ParamSpec("P")

#: Types whose values become query parameters unchanged, and how to alter a
#: value of each (``n`` distinguishes the arguments) to find its parameter.
_ALTER: dict[type, Callable[[Any, int], Any]] = {
    int: lambda value, n: value + 7919 * (n + 1),
    str: lambda value, n: f"{value}\x1f{n}",
    float: lambda value, n: value + 0.5 + n,
    decimal.Decimal: lambda value, n: value + decimal.Decimal(n + 1),
    dt.datetime: lambda value, n: value + dt.timedelta(seconds=n + 1),
    dt.date: lambda value, n: value + dt.timedelta(days=n + 1),
    uuid.UUID: lambda value, n: uuid.UUID(int=(value.int + n + 1) % (1 << 128)),
}
#: Types that enter the shape by value: they change the SQL, not a parameter.
_BY_VALUE = (bool, type(None))
#: A shape that does not qualify: built and compiled on every call.
_NOT_PRECOMPILED = object()


class _Unsupported(Exception):
    """The arguments or the QuerySet do not qualify for a remembered SQL."""


class _NotThisTime(_Unsupported):
    """These values cannot teach the shape (an altered value equals the original, such as
    ``inf + 0.5``, or does not exist, such as ``date.max + 1 day``): a later call may."""


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _shape(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    """``(shape key, argument values in slot order)``; :class:`_Unsupported` if none."""
    names = tuple(sorted(kwargs))
    values = args + tuple(kwargs[name] for name in names)
    kinds = []
    for value in values:
        kind = type(value)
        if kind is int and not _INT64_MIN <= value <= _INT64_MAX:
            # no column holds it: Django's own lookup answers (an empty result), where
            # bound into the remembered SQL it would fail in the driver (a 500)
            raise _Unsupported("an integer out of the 64-bit range")
        if kind in _BY_VALUE:
            kinds.append((kind, value))
        elif kind in _ALTER:
            kinds.append(kind)
        else:
            raise _Unsupported(kind.__name__)
    return (len(args), names, tuple(kinds)), values


def _shallow_copy(obj: Any) -> Any:
    """A new object of ``obj``'s class sharing its attribute values (``copy.copy`` without
    the ``__reduce_ex__`` round trip: this runs on every call)."""
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


class _Plan:
    """One shape's compiled SQL and what Django needs to run it and read its rows."""

    __slots__ = ("queryset", "sql", "params", "slots", "compiler", "using", "_converters")

    def __init__(
        self,
        queryset: Any,
        sql: str,
        params: list[Any],
        slots: list[tuple[int, int]],
        compiler: Any,
    ) -> None:
        self.queryset = queryset  # the first probe: never evaluated, never chained
        self.sql = sql
        self.params = params
        self.slots = slots  # (parameter position, argument index)
        self.compiler = compiler  # as left by as_sql(): select, klass_info, ...
        self.using = queryset.db
        # Django's converters for the selected columns, per connection (they are bound to
        # its backend's operations); get_converters() would look them up on every call.
        self._converters: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def bind(self, values: tuple[Any, ...]) -> list[Any]:
        """The query's parameters with argument ``values`` in their places."""
        params = self.params.copy()
        for position, index in self.slots:
            params[position] = values[index]
        return params

    def compiler_for(self, connection: Any, params: list[Any]) -> Any:
        """A compiler on ``connection`` that answers ``as_sql()`` with the remembered SQL
        and ``params``, set up (``select``, ``klass_info``, converters) as compiling left it."""
        template = self.compiler
        compiler = _shallow_copy(template)
        compiler.connection = connection
        compiler.quote_cache = dict(template.quote_cache)
        selected = [column[0] for column in template.select[: template.col_count]]
        converters = self._converters.get(connection)
        if converters is None:
            converters = self._converters[connection] = compiler.get_converters(selected)

        def get_converters(expressions: list[Any]) -> Any:
            if len(expressions) == len(selected) and all(map(operator.is_, expressions, selected)):
                return converters
            return type(compiler).get_converters(compiler, expressions)

        sql = self.sql

        def as_sql(with_limits: bool = True, with_col_aliases: bool = False) -> Any:
            if not with_limits or with_col_aliases:  # only execute_sql() calls it here
                raise RuntimeError("a precompiled query compiles only as execute_sql() does")
            return sql, params

        compiler.get_converters = get_converters
        compiler.as_sql = as_sql
        return compiler

    def queryset_for(self, params: list[Any], using: str) -> Any:
        """An unevaluated QuerySet like the probe's whose compiler is :meth:`compiler_for`'s.

        Only for evaluating it once: chaining it would carry the fixed compiler along.
        """
        from django.db import connections

        probe = self.queryset
        compiler = self.compiler_for(connections[using], params)
        query = _shallow_copy(probe.query)  # shallow: read, never changed, by the iterables
        compiler.query = query
        query.get_compiler = lambda using=None, connection=None, elide_empty=True: compiler
        queryset = type(probe)(model=probe.model, query=query, using=using, hints=probe._hints)
        queryset._iterable_class = probe._iterable_class
        queryset._fields = probe._fields
        queryset._prefetch_related_lookups = probe._prefetch_related_lookups[:]
        return queryset

    def run(self, values: tuple[Any, ...]) -> list[Any]:
        """``list(queryset)`` for argument ``values``, with the remembered SQL."""
        return list(self.queryset_for(self.bind(values), self.using))


class BoundQuery:
    """A precompiled shape's SQL with one call's values, to run as a corequest.

    ``was.db("@django").execute(bound)`` runs it like a QuerySet, and
    :func:`django_bridge.values_of` / :func:`django_bridge.instances` read the
    finished corequest's rows with the remembered compiler; ``queryset()``
    builds the QuerySet itself.
    """

    __slots__ = ("_plan", "params", "_build")

    def __init__(self, plan: _Plan, params: list[Any], build: Callable[[], Any]) -> None:
        self._plan = plan
        self.params = params
        self._build = build

    @property
    def sql(self) -> str:
        """The SQL text, with Django's ``%s`` placeholders."""
        return self._plan.sql

    @property
    def db(self) -> str:
        """The Django database alias the SQL was compiled for."""
        return self._plan.using

    @property
    def structure(self) -> Any:
        """The unevaluated QuerySet the SQL was compiled from (model, iterable, fields)."""
        return self._plan.queryset

    def compiler(self, connection: Any) -> Any:
        """A compiler set up as compiling left it, answering this SQL and these values."""
        return self._plan.compiler_for(connection, self.params)

    def queryset(self) -> Any:
        """The QuerySet the builder makes of these values (built now)."""
        return self._build()


class PrecompiledQuery(Generic[P]):
    """A QuerySet builder whose SQL is compiled once per shape (see the module docstring)."""

    def __init__(self, build: Callable[P, Any]) -> None:
        functools.update_wrapper(self, build, updated=())  # name and docstring of the builder
        self.build = build
        self._plans: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def queryset(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """The QuerySet the builder makes of these arguments (not evaluated)."""
        return self.build(*args, **kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> list[Any]:
        """``list(self.queryset(*args, **kwargs))``, from the remembered SQL when there is one."""
        plan, values, queryset = self._find(args, kwargs)
        if plan is None:
            return list(queryset)
        return plan.run(values)

    def statement(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """What ``was.db("@django").execute`` takes for these arguments: a
        :class:`BoundQuery` when the shape has remembered SQL, else the QuerySet."""
        plan, values, queryset = self._find(args, kwargs)
        if plan is None:
            return queryset
        return BoundQuery(plan, plan.bind(values), lambda: self.build(*args, **kwargs))

    def _find(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_Plan | None, tuple[Any, ...], Any]:
        """``(plan, argument values, None)``, or ``(None, (), the built QuerySet)``."""
        try:
            key, values = _shape(args, kwargs)
        except _Unsupported:
            return None, (), self.build(*args, **kwargs)
        plan = self._plans.get(key)
        if plan is None:
            queryset = self.build(*args, **kwargs)
            try:
                plan = self._plan(queryset, args, kwargs)
            except _NotThisTime:
                return None, (), queryset
            except _Unsupported:
                plan = _NOT_PRECOMPILED
            with self._lock:
                plan = self._plans.setdefault(key, plan)
            if plan is _NOT_PRECOMPILED:
                return None, (), queryset
            return plan, values, None
        if plan is _NOT_PRECOMPILED:
            return None, (), self.build(*args, **kwargs)
        from django.db import router

        if plan.using != (plan.queryset._db or router.db_for_read(plan.queryset.model)):
            return None, (), self.build(*args, **kwargs)  # the router now says another database
        return plan, values, None

    def _plan(self, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Plan:
        from django.core.exceptions import EmptyResultSet
        from django.db.models import Prefetch
        from django.db.models.query import QuerySet
        from django.db.models.sql import Query

        names = sorted(kwargs)
        values = args + tuple(kwargs[name] for name in names)
        try:
            altered = [
                value if type(value) in _BY_VALUE else _ALTER[type(value)](value, n)
                for n, value in enumerate(values)
            ]
        except (OverflowError, ArithmeticError) as error:
            raise _NotThisTime("an argument cannot be altered") from error
        if any(
            type(value) not in _BY_VALUE and other == value
            for value, other in zip(values, altered, strict=True)
        ):
            raise _NotThisTime("an altered argument equals the original")
        try:
            second = self.build(
                *altered[: len(args)], **dict(zip(names, altered[len(args) :], strict=True))
            )
        except Exception as error:  # e.g. a str where Django wants an int: not this shape
            raise _Unsupported("the altered arguments do not build") from error
        for queryset in (first, second):
            if not isinstance(queryset, QuerySet) or type(queryset.query) is not Query:
                raise _Unsupported("not a model QuerySet")
            if queryset.query.select_for_update or queryset._hints or queryset._for_write:
                raise _Unsupported("a QuerySet bound to a transaction, a row or a write")
            if queryset._known_related_objects or any(
                isinstance(lookup, Prefetch) and lookup.queryset is not None
                for lookup in queryset._prefetch_related_lookups
            ):
                raise _Unsupported("related objects or a Prefetch QuerySet")
        if (
            type(first) is not type(second)
            or first.model is not second.model
            or first.db != second.db
            or first._iterable_class is not second._iterable_class
            or first._fields != second._fields
            or first._prefetch_related_lookups != second._prefetch_related_lookups
        ):
            raise _Unsupported("the QuerySet changes with the values")
        try:
            compiler = first.query.get_compiler(using=first.db)
            sql, params = compiler.as_sql()
            sql2, params2 = second.query.get_compiler(using=second.db).as_sql()
        except EmptyResultSet:
            raise _Unsupported("an empty result set") from None
        except Exception as error:  # the call's own evaluation raises it again, as Django does
            raise _Unsupported("does not compile") from error
        if not sql or sql != sql2 or len(params) != len(params2):
            raise _Unsupported("the SQL changes with the values")
        slots = []
        for position, (one, two) in enumerate(zip(params, params2, strict=True)):
            if type(one) is type(two) and one == two:
                continue  # a constant of the query
            matches = [
                index
                for index, (value, other) in enumerate(zip(values, altered, strict=True))
                if type(one) is type(value) and one == value and type(two) is type(other)
                and two == other
            ]  # fmt: skip
            if len(matches) != 1:
                raise _Unsupported("a parameter Django derives from an argument")
            slots.append((position, matches[0]))
        return _Plan(first, sql, list(params), slots, compiler)


def precompiled(build: Callable[P, Any]) -> PrecompiledQuery[P]:
    """Decorate a QuerySet builder so calls run its SQL compiled once per argument shape."""
    return PrecompiledQuery(build)
