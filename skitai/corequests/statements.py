"""What a database corequest runs: SQL text, a transaction, or an adapted query object.

``execute()`` (Atila's ``was.db(...).execute``) takes SQL text with driver
parameters, or a list of statements run as one transaction.  Query objects of
other libraries (a Django QuerySet, a sqlphile query) are turned into ``(sql,
params)`` by a *statement adapter* of :data:`statement_adapters`, keyed by the
top-level package of the object's class (``"django"``) and registered in code
(:func:`register_statement_adapter`) or through the entry point group
``skitai.statement_adapters`` of an installed distribution (``django_bridge``
serves QuerySets, ``atila`` sqlphile queries).  Any other object is a
``TypeError``: a query is never made from an object's ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..registries import Registry
from .aliases import Alias

__all__ = [
    "Statement",
    "StatementAdapter",
    "adapt_statement",
    "register_statement_adapter",
    "statement_adapters",
]

#: A statement, or a list of statements run as one transaction.
Statement = str | Sequence[str]
#: ``adapter(obj, alias) -> (sql, params)``: ``obj`` compiled for ``alias``'s database
#: (placeholders of its driver: ``%s`` for PostgreSQL, ``?`` for SQLite), or None to pass.
StatementAdapter = Callable[[Any, Alias], "tuple[str, Any] | None"]
#: Statement adapters by the top-level package of the objects they take.
statement_adapters: Registry[StatementAdapter] = Registry(
    "skitai.statement_adapters", "statement adapter"
)


def register_statement_adapter(package: str, adapter: StatementAdapter) -> StatementAdapter:
    """Let ``execute(obj)`` run objects whose class (or a base class) is in ``package``."""
    return statement_adapters.register(package, adapter)


def adapt_statement(statement: Any, params: Any, alias: Alias) -> tuple[Statement, Any]:
    """``(statement, params)`` to run on ``alias`` for what ``execute(statement, params)`` got.

    Raises ``TypeError`` for an object no adapter takes, and for parameters
    given along with a query object that carries its own.
    """
    if isinstance(statement, str):
        return statement, params
    if isinstance(statement, list | tuple):
        return [_transaction_item(item, alias) for item in statement], params
    sql, own_params = _adapted(statement, alias)
    if params is not None:
        raise TypeError(f"{type(statement).__name__} carries its own parameters")
    return sql, own_params


def _adapted(statement: Any, alias: Alias) -> tuple[str, Any]:
    adapter = statement_adapters.for_object(statement)
    adapted = adapter(statement, alias) if adapter is not None else None
    if adapted is None:
        raise TypeError(
            f"cannot run a {type(statement).__module__}.{type(statement).__qualname__} on "
            f"{alias.name}: execute() takes SQL text (with parameters), a list of SQL "
            "statements (one transaction) or a query object of a package with a statement "
            f"adapter ({', '.join(statement_adapters.keys()) or 'none installed'})"
        )
    return adapted


def _transaction_item(item: Any, alias: Alias) -> str:
    """One statement of a transaction: text, or a query object without parameters."""
    if isinstance(item, str):
        return item
    sql, params = _adapted(item, alias)
    if params:
        raise TypeError(
            f"a {type(item).__name__} with parameters cannot be part of a transaction list"
        )
    return sql
