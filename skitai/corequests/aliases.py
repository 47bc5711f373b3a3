"""Named backends (``skitai.alias``): PostgreSQL, SQLite and HTTP upstreams.

An alias is registered in the master process before ``skitai.run`` and is
inherited by every forked worker; each worker opens its own connections
lazily (never in the master).  Targets:

* ``DB_PGSQL``: ``"host:port/dbname/user/password"`` (any part after the host
  may be left out) or a libpq DSN / ``postgresql://`` URL;
* ``DB_SQLITE3``: a file path (``":memory:"`` is refused: each worker thread
  would see its own empty database);
* ``PROTO_HTTP`` / ``PROTO_HTTPS``: a base URL or ``"host:port"``;
* another kind (``DJANGO``: a Django settings module or file) is served by the
  handler registered for it in :data:`alias_kinds` (in code, or through the
  ``skitai.alias_kinds`` entry points of an installed distribution:
  ``django_bridge`` serves ``DJANGO``); it turns the target into one of the
  kinds above.

A target of ``None`` is read from the environment variable ``DATABASE_URL``
(for databases) or ``<NAME>_URL`` (``@myapi`` -> ``MYAPI_URL``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from ..registries import Registry
from .pg_prepare import DEFAULT_STATEMENT_CACHE

#: PostgreSQL (psycopg2 in asynchronous mode on the worker's event loop).
DB_PGSQL = "*postgresql"
#: Alias of :data:`DB_PGSQL`.
DB_POSTGRESQL = DB_PGSQL
#: SQLite 3 (on a dedicated executor: sqlite3 has no asynchronous API).
DB_SQLITE3 = "*sqlite3"
#: An HTTP upstream (``was.get("@name/path")``, ``was.ProxyPass("@name", path)``).
PROTO_HTTP = "http"
#: An HTTPS upstream.
PROTO_HTTPS = "https"
#: A Django project's database (spec "Using Django Models"): the target is its settings
#: module or file; the kind's handler (``django_bridge``) makes it a PostgreSQL or
#: SQLite alias for ``DATABASES["default"]`` (option ``using=`` for another one).
DJANGO = "django"

DATABASE_KINDS = frozenset({DB_PGSQL, DB_SQLITE3})
HTTP_KINDS = frozenset({PROTO_HTTP, PROTO_HTTPS})
#: Default largest number of connections per alias and worker.
DEFAULT_MAX_CONNS = 10
#: Default seconds a corequest may take before it answers ``504``.
DEFAULT_TIMEOUT = 30.0


class AliasError(LookupError):
    """An alias is unknown, or was registered with a target that cannot work."""


#: ``handler(name, target, options) -> (kind, target)``: turns the target of an alias of
#: another kind (and that kind's own ``skitai.alias`` keyword options) into a database or
#: HTTP kind and its target.
AliasKind = Callable[[str, "str | None", dict[str, Any]], tuple[str, str]]
#: Alias kinds served by other packages (entry point group ``skitai.alias_kinds``).
alias_kinds: Registry[AliasKind] = Registry("skitai.alias_kinds", "alias kind")


def register_alias_kind(kind: str, handler: AliasKind) -> AliasKind:
    """Let ``skitai.alias(name, kind, target, **options)`` use ``handler`` (see :data:`AliasKind`).

    Installed distributions do the same with an entry point in the group
    ``skitai.alias_kinds`` named ``kind``, loaded when the kind is first used.
    """
    if kind in DATABASE_KINDS or kind in HTTP_KINDS:
        raise AliasError(f"{kind!r} is a built-in alias kind")
    return alias_kinds.register(kind, handler)


@dataclass(frozen=True)
class Alias:
    """One named backend, as given to ``skitai.alias``."""

    name: str
    kind: str
    target: str
    max_conns: int = DEFAULT_MAX_CONNS
    timeout: float = DEFAULT_TIMEOUT
    #: PostgreSQL: prepared statements kept per connection (0: none, for PgBouncer)
    statement_cache: int = DEFAULT_STATEMENT_CACHE
    #: ``dsn`` for PostgreSQL, the file path for SQLite, the base URL for HTTP
    location: str = field(default="", compare=False)

    @property
    def is_database(self) -> bool:
        """True for PostgreSQL and SQLite aliases."""
        return self.kind in DATABASE_KINDS


def pg_dsn(target: str) -> str:
    """A libpq connection string from ``host:port/db/user/password`` or a DSN/URL."""
    if "://" in target or "=" in target:
        return target
    address, _, rest = target.partition("/")
    host, _, port = address.partition(":")
    parts = rest.split("/") if rest else []
    names = ("dbname", "user", "password")
    pairs = [("host", host or "127.0.0.1"), ("port", port or "5432")]
    pairs += [(key, value) for key, value in zip(names, parts, strict=False) if value]
    return " ".join(f"{key}={_dsn_value(value)}" for key, value in pairs)


def _dsn_value(value: str) -> str:
    if value and all(c.isalnum() or c in "._-" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def http_base(kind: str, target: str) -> str:
    """A base URL without a trailing slash from ``http://host/base`` or ``host:port``."""
    if "://" not in target:
        target = f"{kind}://{target}"
    parts = urlsplit(target)
    if not parts.netloc:
        raise AliasError(f"HTTP alias target has no host: {target!r}")
    return target.rstrip("/")


def _env_name(name: str, kind: str) -> str:
    if kind in DATABASE_KINDS:
        return "DATABASE_URL"
    return name.lstrip("@").upper().replace("-", "_") + "_URL"


class AliasTable:
    """The aliases of one server (thread-safe; workers inherit and only read it)."""

    def __init__(self) -> None:
        self._aliases: dict[str, Alias] = {}
        self._lock = threading.Lock()

    def add(
        self,
        name: str,
        kind: str,
        target: str | None = None,
        max_conns: int = DEFAULT_MAX_CONNS,
        timeout: float = DEFAULT_TIMEOUT,
        statement_cache: int = DEFAULT_STATEMENT_CACHE,
        **kind_options: Any,
    ) -> Alias:
        """Register ``name`` (``"@mydb"``); see the module docstring for targets.

        ``kind_options`` go to the handler of a kind from :data:`alias_kinds`
        (``using="replica"`` for :data:`DJANGO`); built-in kinds take none.
        """
        if not name.startswith("@") or len(name) < 2 or "/" in name:
            raise AliasError(f"alias names start with '@' and hold no '/': {name!r}")
        if max_conns < 1:
            raise AliasError(f"max_conns must be at least 1 for {name}")
        if statement_cache < 0:
            raise AliasError(f"statement_cache must be 0 or more for {name}")
        if kind not in DATABASE_KINDS and kind not in HTTP_KINDS:
            kind, target = _resolve_kind(name, kind, target, kind_options)
        elif kind_options:
            raise AliasError(f"a {kind} alias takes no options {sorted(kind_options)} ({name})")
        if target is None:
            env = _env_name(name, kind)
            target = os.environ.get(env)
            if not target:
                raise AliasError(f"no target for {name} and ${env} is not set")
        alias = Alias(
            name, kind, target, max_conns, timeout, statement_cache, _location(kind, target)
        )
        with self._lock:
            self._aliases[name] = alias
        return alias

    def get(self, name: str) -> Alias:
        """The alias called ``name``; :class:`AliasError` when unknown."""
        try:
            return self._aliases[name]
        except KeyError:
            raise AliasError(f"unknown alias {name!r} (register it with skitai.alias)") from None

    def __contains__(self, name: object) -> bool:
        return name in self._aliases

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._aliases.values()))

    def __len__(self) -> int:
        return len(self._aliases)


def _resolve_kind(
    name: str, kind: str, target: str | None, options: dict[str, Any]
) -> tuple[str, str]:
    """``(kind, target)`` of a built-in kind, from the handler of ``kind``."""
    handler = alias_kinds.get(kind) if isinstance(kind, str) else None
    if handler is None:
        known = sorted(DATABASE_KINDS | HTTP_KINDS) + alias_kinds.keys()
        raise AliasError(
            f"unsupported alias kind {kind!r} for {name} (known kinds: {', '.join(known)}; "
            f"{DJANGO!r} needs django_bridge installed)"
        )
    resolved, resolved_target = handler(name, target, dict(options))
    if resolved not in DATABASE_KINDS and resolved not in HTTP_KINDS:
        raise AliasError(f"the {kind!r} alias kind gave {name} the unknown kind {resolved!r}")
    return resolved, resolved_target


def _location(kind: str, target: str) -> str:
    if kind == DB_PGSQL:
        return pg_dsn(target)
    if kind == DB_SQLITE3:
        if target.startswith("sqlite:///"):
            target = target[len("sqlite:///") - 1 :]
        if target in ("", ":memory:"):
            raise AliasError("an SQLite alias needs a file (':memory:' is per connection)")
        return os.path.abspath(os.path.expanduser(target))
    return http_base(kind, target)


def quote_path(path: str) -> str:
    """Percent-encode a path for an upstream URL, keeping ``/``."""
    return quote(path, safe="/:@!$&'()*+,;=-._~%")


#: The process-wide table behind ``skitai.alias`` (set up in the master, read in workers).
registry = AliasTable()

__all__ = [
    "DATABASE_KINDS",
    "DB_PGSQL",
    "DB_POSTGRESQL",
    "DB_SQLITE3",
    "DEFAULT_MAX_CONNS",
    "DJANGO",
    "DEFAULT_TIMEOUT",
    "HTTP_KINDS",
    "PROTO_HTTP",
    "PROTO_HTTPS",
    "Alias",
    "AliasError",
    "AliasKind",
    "AliasTable",
    "alias_kinds",
    "http_base",
    "pg_dsn",
    "quote_path",
    "register_alias_kind",
    "registry",
]
