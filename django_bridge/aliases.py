"""Corequest aliases for Django databases (spec "Using Django Models": ``@django``).

``django_bridge.alias("@django")`` registers a :func:`skitai.alias` for
Django's ``DATABASES["default"]`` (or ``using=``): PostgreSQL as a libpq DSN
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

from .project import setup

__all__ = ["DJANGO_ALIASES", "alias", "alias_target", "database_of", "sync_aliases"]

#: Corequest alias name -> ``(Django database alias, skitai.alias options)``, for sync_aliases.
DJANGO_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {}


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


def alias(
    name: str = "@django",
    settings: str | None = None,
    using: str = "default",
    **options: Any,
) -> Alias:
    """Register corequest alias ``name`` for Django database ``using`` and return it.

    ``settings`` (``"pkg.settings"`` or a path) sets Django up first;
    ``options`` (``max_conns``, ``timeout``, ``statement_cache``) go to :func:`skitai.alias`.
    """
    django_settings = setup(settings)
    if using not in django_settings.DATABASES:
        raise AliasError(f"no Django database {using!r} for {name}")
    kind, target = alias_target(django_settings.DATABASES[using])
    registered = registry.add(name, kind, target, **options)
    DJANGO_ALIASES[name] = (using, dict(options))
    return registered


def sync_aliases() -> None:
    """Re-register every alias made by :func:`alias` from Django's current settings."""
    from django.db import connections

    for name, (using, options) in list(DJANGO_ALIASES.items()):
        kind, target = alias_target(connections[using].settings_dict)
        registry.add(name, kind, target, **options)


def database_of(corequest_alias: Alias) -> str:
    """The Django database behind ``corequest_alias`` (``"default"`` when not made here)."""
    entry = DJANGO_ALIASES.get(corequest_alias.name)
    return entry[0] if entry is not None else "default"
