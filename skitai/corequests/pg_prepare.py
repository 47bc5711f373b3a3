"""Server-side prepared statements for the PostgreSQL corequest pool.

psycopg2 sends every statement as text through the simple query protocol, so
the server parses, analyses and plans it again each time.  A statement a
worker runs again and again (an API's queries) costs the server a quarter
less once it is prepared: the pool then sends ``EXECUTE name (values)``,
with the values quoted by psycopg2 exactly as they would have been in the
plain statement.  This is what asyncpg and the JDBC driver do on their own.

The rules, per alias and worker (``skitai.alias(..., statement_cache=N)``):

* a single ``SELECT``/``INSERT``/``UPDATE``/``DELETE``/``VALUES``/``WITH``
  statement is prepared on a connection the second time the pool sees its
  text (a text seen once — a builder's query with its values pasted in — is
  never prepared);
* each connection keeps at most ``N`` prepared statements, the least
  recently used one is deallocated to make room; ``N = 0`` turns preparing
  off (needed behind PgBouncer in transaction mode);
* a statement the server refuses to prepare (a parameter whose type cannot
  be inferred, ``IN %s`` with a tuple...) is remembered and always run as
  plain text; one whose prepared form went stale (a table changed its
  columns) is dropped and run as plain text once, then prepared again.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Default prepared statements kept per connection (asyncpg's default too).
DEFAULT_STATEMENT_CACHE = 100
#: How many times the pool must see a statement's text before preparing it.
PREPARE_THRESHOLD = 2
#: Distinct texts counted per pool before the counts start afresh (bounds memory
#: when every statement is different, as with values pasted by a builder).
_SEEN_LIMIT = 4096

_PREPARABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "VALUES", "WITH")
_PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One statement prepared on one connection."""

    #: the server-side name (``skitai_1`` ...)
    name: str
    #: ``EXECUTE name`` or ``EXECUTE name (%s, ...)``, for psycopg2 to fill in
    execute: str
    #: parameter names in ``$n`` order for mapping parameters, else ``None``
    keys: tuple[str, ...] | None

    def arguments(self, params: Any) -> tuple[Any, ...] | None:
        """The values for :attr:`execute`, in ``$n`` order."""
        if self.keys is not None:
            return tuple(params[key] for key in self.keys)
        return None if params is None else tuple(params)


def server_form(sql: str, params: Any) -> tuple[str, int, tuple[str, ...] | None] | None:
    """``sql`` with psycopg2 placeholders turned into ``$1, $2...``.

    Returns ``(text, parameter count, mapping keys or None)``, or ``None``
    when the statement cannot be prepared (several statements, not a
    preparable kind, placeholders that do not match ``params``).
    """
    text = sql.strip().rstrip(";").rstrip()
    if ";" in text or not text[:6].upper().startswith(_PREPARABLE):
        return None
    if params is None:  # psycopg2 leaves the text alone: '%' is a plain character
        return text, 0, None
    by_name = isinstance(params, Mapping)
    keys: list[str] = []
    count = 0
    failed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal count, failed
        name, kind = match.group(1), match.group(2)
        if kind == "%" and name is None:
            return "%"
        if kind != "s" or (name is None) == by_name:
            failed = True
            return ""
        if name is None:
            count += 1
            return f"${count}"
        if name not in keys:
            keys.append(name)
        return f"${keys.index(name) + 1}"

    converted = _PLACEHOLDER.sub(replace, text)
    if failed:
        return None
    if by_name:
        return converted, len(keys), tuple(keys)
    if not isinstance(params, Sequence) or count != len(params):
        return None
    return converted, count, None


class StatementPolicy:
    """Which statement texts a pool prepares (shared by its connections)."""

    def __init__(self, capacity: int = DEFAULT_STATEMENT_CACHE) -> None:
        #: prepared statements kept per connection (0: never prepare)
        self.capacity = capacity
        self._seen: dict[str, int] = {}
        self._refused: set[str] = set()

    def worth_preparing(self, sql: str) -> bool:
        """Count one more run of ``sql``; True once it has been seen often enough."""
        seen = self._seen.get(sql, 0) + 1
        if seen >= PREPARE_THRESHOLD:
            return sql not in self._refused
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[sql] = seen
        return False

    def refuse(self, sql: str) -> None:
        """Never prepare ``sql`` again (the server or the placeholders refused it)."""
        if len(self._refused) >= _SEEN_LIMIT:
            self._refused.clear()
        self._refused.add(sql)


class StatementCache:
    """The statements one connection has prepared, least recently used first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._counter = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, sql: str) -> Prepared | None:
        """The prepared form of ``sql`` on this connection, if any (marks it used)."""
        entry = self._entries.get(sql)
        if entry is not None:
            self._entries.move_to_end(sql)
        return entry

    def plan(self, sql: str, params: Any) -> tuple[Prepared, str] | None:
        """A new entry for ``sql`` and the command that prepares it on the server
        (deallocating the least recently used entry when full); ``None`` when
        ``sql`` cannot be prepared.  Call :meth:`add` once the command succeeded."""
        form = server_form(sql, params)
        if form is None:
            return None
        text, count, keys = form
        self._counter += 1
        name = f"skitai_{self._counter}"
        execute = f"EXECUTE {name}" + (f" ({', '.join(['%s'] * count)})" if count else "")
        command = f"PREPARE {name} AS {text}"
        if len(self._entries) >= self.capacity:
            victim = next(iter(self._entries.values()))
            # after the PREPARE: when it fails, the rest of the string is not run; the
            # newline ends a trailing ``-- comment`` of the statement
            command += f"\n; DEALLOCATE {victim.name}"
        return Prepared(name, execute, keys), command

    def add(self, sql: str, entry: Prepared) -> None:
        """Record ``entry`` (its PREPARE succeeded), dropping the evicted one."""
        if len(self._entries) >= self.capacity:
            self._entries.popitem(last=False)
        self._entries[sql] = entry

    def forget(self, sql: str) -> Prepared | None:
        """Drop ``sql``'s entry (its prepared form went stale)."""
        return self._entries.pop(sql, None)

    def clear(self) -> None:
        """Forget every entry (the server no longer has them)."""
        self._entries.clear()


__all__ = [
    "DEFAULT_STATEMENT_CACHE",
    "PREPARE_THRESHOLD",
    "Prepared",
    "StatementCache",
    "StatementPolicy",
    "server_form",
]
