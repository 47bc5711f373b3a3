"""Skitai App Engine: mount WSGI apps, static directories and more, then run.

The public façade only: every name here delegates to the module that owns the
concept.  Importing ``skitai`` has no side effects: the command line is parsed
by :func:`run`, not at import time.

    import skitai
    skitai.mount("/", app)
    skitai.run(port=5000)
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .cli import add_option, options
from .corequests.aliases import (
    DB_PGSQL,
    DB_POSTGRESQL,
    DB_SQLITE3,
    DEFAULT_MAX_CONNS,
    DEFAULT_TIMEOUT,
    DJANGO,
    PROTO_HTTP,
    PROTO_HTTPS,
    Alias,
    registry,
)
from .corequests.pg_prepare import DEFAULT_STATEMENT_CACHE
from .engine import Engine, script_dir
from .mounts import Mount, MountError
from .preference import Preference
from .server.websocket import (
    WS_CHANNEL,
    WS_COROUTINE,
    WS_FAST,
    WS_GROUPCHAT,
    WS_NOTHREAD,
    WS_SESSION,
    WS_THREAD,
    WS_THREADSAFE,
)
from .testing import test_client

__version__ = "0.1.0"

#: The engine behind the module-level functions (one server per process).
engine = Engine()


def mount(
    point: str,
    target: Any,
    *args: Any,
    name: Any = None,
    pref: Any = None,
    interface: str = "auto",
) -> Any:
    """Mount ``target`` at URL prefix ``point`` (spec: "Simple App", "Runtime App Preference").

    ``target`` is a WSGI callable (an Atila app or any other), a module or
    package that has an app, a file path such as ``"app_v1/app.py"`` (with
    the app's attribute name), a ``"pkg/wsgi:application"`` spec, or a
    directory of static files.  After the target come, in any order, the app
    name and the preference: ``mount("/", app, "app", pref)``,
    ``mount("/", app, pref)``, ``mount("/", pwa, pref, name="myapp")``.

    An app may be WSGI or ASGI 3 (Starlette, FastAPI, Django's ``asgi.py``):
    the engine tells them apart (an ``async def __call__(scope, receive,
    send)`` is ASGI; docs/asgi.md); ``interface="asgi"`` or ``"wsgi"`` says
    which it is when the signature cannot.
    """
    return engine.mount(point, target, *args, name=name, pref=pref, interface=interface)


def preference(**attributes: Any) -> Preference:
    """A runtime preference, usable as ``with skitai.preference() as pref:``."""
    pref = Preference()
    for key, value in attributes.items():
        setattr(pref, key, value)
    return pref


def run(
    ip: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    threads: int = 4,
    name: str | None = None,
    **options: Any,
) -> None:
    """Serve the mounts; command line flags override these arguments.

    ``python3 serve.py [start|stop|status|restart] [--port N] [--workers N]
    [--threads N] [--devel] [--silent] [--name NAME]``.  Exits the process
    with the server's exit status.  ``name`` (default: the script's name,
    ``serve`` for ``serve.py``) names the pid and log files of
    ``start|stop|status`` and their directory ``~/.skitai/<name>``.
    ``broker="redis://host:6379/0"`` (or ``--broker``, or ``$SKITAI_BROKER``) makes
    every engine sharing that Redis one application (:mod:`skitai.hub`); without
    it the workers of this server talk through the embedded hub.
    """
    code = engine.run(ip=ip, port=port, workers=workers, threads=threads, name=name, **options)
    sys.exit(code)


def register_states(*keys: str) -> None:
    """Name cross-worker state keys before the server starts (spec "Inter Process Update
    Notification").

    Each key gets a last-update timestamp in memory shared by every worker
    process; apps set and read it through the environ's ``skitai.states``
    table (Atila: ``was.setlu(key)`` / ``was.getlu(key)`` / ``@app.if_updated``).
    Call it before :func:`run` (in ``serve.py`` or a ``__config__`` hook).
    """
    engine.register_states(*keys)


def alias(
    name: str,
    kind: str,
    target: str | None = None,
    max_conns: int = DEFAULT_MAX_CONNS,
    timeout: float = DEFAULT_TIMEOUT,
    statement_cache: int = DEFAULT_STATEMENT_CACHE,
    **options: Any,
) -> Alias:
    """Name a backend for corequests (spec: ``skitai.alias("@mydb", skitai.DB_PGSQL, ...)``).

    ``kind`` is :data:`DB_PGSQL` (target ``"host:port/db/user/password"`` or a
    DSN), :data:`DB_SQLITE3` (a file path) or :data:`PROTO_HTTP`/:data:`PROTO_HTTPS`
    (a base URL).  Without ``target`` it is read from ``$DATABASE_URL`` (databases)
    or ``$<NAME>_URL``.  :data:`DJANGO` (spec "Using Django Models":
    ``skitai.alias("@django", skitai.DJANGO, "myapp/settings.py")``) names a Django
    project's settings and becomes an alias of its database (``using="..."`` for
    another than ``"default"``); such kinds are served by the package registered for
    them (:data:`skitai.corequests.aliases.alias_kinds`), which gets ``options``.
    ``max_conns`` limits each worker's connections;
    ``timeout`` is the default seconds before a corequest answers ``504``.
    ``statement_cache`` is how many statements each PostgreSQL connection keeps
    prepared on the server (``0``: none, e.g. behind PgBouncer in transaction mode).
    Register aliases before :func:`run`: workers inherit them.
    """
    return registry.add(
        name, kind, target, max_conns=max_conns, timeout=timeout, statement_cache=statement_cache,
        **options,
    )  # fmt: skip


def joinpath(*parts: str) -> str:
    """Join ``parts`` onto the running script's directory (spec: ``skitai.joinpath``)."""
    return os.path.normpath(os.path.join(script_dir(), *parts))


__all__ = [
    "DB_PGSQL",
    "DB_POSTGRESQL",
    "DB_SQLITE3",
    "DJANGO",
    "PROTO_HTTP",
    "PROTO_HTTPS",
    "WS_CHANNEL",
    "WS_COROUTINE",
    "WS_FAST",
    "WS_GROUPCHAT",
    "WS_NOTHREAD",
    "WS_SESSION",
    "WS_THREAD",
    "WS_THREADSAFE",
    "alias",
    "Mount",
    "MountError",
    "Preference",
    "add_option",
    "engine",
    "joinpath",
    "mount",
    "options",
    "preference",
    "register_states",
    "run",
    "test_client",
]
