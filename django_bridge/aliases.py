"""Corequest aliases for Django databases (spec "Using Django Models": ``@django``).

``skitai.alias("@django", skitai.DJANGO, "myapp/settings.py")`` (the spec's
spelling; ``skitai`` finds :func:`alias_kind` through this distribution's
``skitai.alias_kinds`` entry point) and ``django_bridge.alias("@django",
"myapp/settings.py")`` register a corequest alias for Django's
``DATABASES["default"]`` (or ``using=``): PostgreSQL as a libpq DSN
(corequests on the event loop), SQLite as its file (on an executor).  Then
``was.db("@django").execute(queryset)`` runs QuerySets as corequests (see
:mod:`django_bridge.queryset`).

The targets are read from Django's settings when the alias is made; after the
settings change (pytest-django switching to test databases), :func:`sync_aliases`
re-reads them.
"""

from __future__ import annotations

from typing import Any

from skitai.corequests import DB_PGSQL, DB_SQLITE3, Alias, AliasError, registry
from skitai.corequests.aliases import DJANGO, register_alias_kind

from .project import setup

__all__ = [
    "DJANGO_ALIASES",
    "alias",
    "alias_kind",
    "alias_target",
    "database_of",
    "sync_aliases",
]

#: Corequest alias name -> the Django database (``DATABASES`` key) behind it.
DJANGO_ALIASES: dict[str, str] = {}


def alias_target(database: dict[str, Any]) -> tuple[str, str]:
    """``(kind, target)`` of a Django ``DATABASES`` entry; ``AliasError`` if unsupported."""
    engine = database.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        name = str(database.get("NAME") or "")
        if not name or name == ":memory:" or "mode=memory" in name:
            raise AliasError(f"an in-memory SQLite database cannot be a corequest alias: {name!r}")
        return DB_SQLITE3, name
    if engine.endswith(("postgresql", "postgis")):
        from psycopg2.extensions import make_dsn

        parts = {
            "host": database.get("HOST") or None,
            "port": str(database.get("PORT") or "") or None,
            "dbname": database.get("NAME") or None,
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
        }
        return DB_PGSQL, make_dsn(**{k: v for k, v in parts.items() if v is not None})
    raise AliasError(f"Django database engine {engine!r} has no corequest backend")


def alias_kind(name: str, settings: str | None, options: dict[str, Any]) -> tuple[str, str]:
    """The handler of the ``skitai.DJANGO`` alias kind: ``(kind, target)`` of Django's database.

    ``settings`` (``"pkg.settings"``, a settings file path, or None for
    ``DJANGO_SETTINGS_MODULE``) sets Django up first; a relative path is taken
    from the running script's directory, as ``skitai.mount`` paths are.  The one
    option is ``using`` (default ``"default"``).  It also lets ``execute()`` take
    QuerySets.
    """
    from skitai.engine import script_dir

    from .queryset import enable

    using = options.pop("using", "default")
    if options:
        raise AliasError(f"a Django alias takes only using=, not {sorted(options)} ({name})")
    django_settings = setup(settings, base_dir=script_dir())
    if using not in django_settings.DATABASES:
        raise AliasError(f"no Django database {using!r} for {name}")
    found = alias_target(django_settings.DATABASES[using])
    DJANGO_ALIASES[name] = using
    enable()
    return found


def alias(
    name: str = "@django",
    settings: str | None = None,
    using: str = "default",
    **options: Any,
) -> Alias:
    """Register corequest alias ``name`` for Django database ``using`` and return it.

    The same as ``skitai.alias(name, skitai.DJANGO, settings, using=using, **options)``:
    ``settings`` (``"pkg.settings"`` or a path, see :func:`alias_kind`) sets Django up first;
    ``options`` (``max_conns``, ``timeout``, ``statement_cache``) go to :func:`skitai.alias`.
    """
    register_alias_kind(DJANGO, alias_kind)  # also where the entry points are not installed
    return registry.add(name, DJANGO, settings, using=using, **options)


def sync_aliases() -> None:
    """Re-register every Django alias from Django's current settings (same limits)."""
    from django.db import connections

    for name, using in list(DJANGO_ALIASES.items()):
        kind, target = alias_target(connections[using].settings_dict)
        old = registry.get(name)
        registry.add(
            name, kind, target, max_conns=old.max_conns, timeout=old.timeout,
            statement_cache=old.statement_cache,
        )  # fmt: skip


def database_of(corequest_alias: Alias) -> str:
    """The Django database behind ``corequest_alias`` (``"default"`` when not made here)."""
    return DJANGO_ALIASES.get(corequest_alias.name, "default")
