"""pytest fixtures for Django + Atila projects served by Skitai (works with pytest-django).

Registered as the pytest plugin ``django_bridge`` (entry point ``pytest11``);
importing it has no side effects.  Fixtures:

* ``atila_app`` — the Atila app under test: override it in your conftest,
  or name it with the ini option ``atila_app = "package.module:app"``;
* ``atila_client`` — an in-process client (:class:`skitai.testing.Client`)
  for ``atila_app``, bound to the test database through pytest-django's
  ``db`` fixture: requests run in the test's thread and transaction
  (QuerySet corequests use their own connections: ask for
  ``transactional_db`` too when a test uses them);
* ``skitai_serve_script`` / ``skitai_mounts`` (session) — the project's
  ``serve.py`` (ini ``skitai_serve_script``, default: beside
  ``settings.BASE_DIR``) and the mounts it makes, collected once without
  serving;
* ``live_engine`` — a :class:`skitai.testing.LiveClient` on a live engine
  serving those mounts (Django and Atila together) against the test
  database, with pytest-django's ``transactional_db`` (see
  :mod:`django_bridge.live` for the database requirement);
* both re-point the ``django_bridge.alias`` corequest aliases at the test
  databases (:func:`django_bridge.sync_aliases`);
* ``django_bridge_corequests`` (session) — closes in-process corequest
  connections before the test databases are dropped (use it in tests that
  run corequests in the test process);
* ``bearer`` — ``bearer(user)`` gives the ``Authorization`` header of a
  fresh JWT for a Django user.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "atila_app",
    "django_bridge_corequests",
    "atila_client",
    "bearer",
    "live_engine",
    "pytest_addoption",
    "skitai_mounts",
    "skitai_serve_script",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini options ``atila_app`` and ``skitai_serve_script``."""
    parser.addini("atila_app", "the Atila app of the atila_client fixture: 'pkg.module:app'")
    parser.addini(
        "skitai_serve_script", "serve.py of the live_engine fixture (relative to the rootdir)"
    )


def _import_app(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr or "app")


@pytest.fixture(scope="session")
def django_bridge_corequests(django_db_setup: None) -> Iterator[None]:
    """Close the in-process corequest connections to the test databases before they are
    dropped (PostgreSQL refuses to drop a database that has sessions)."""
    yield
    import concurrent.futures

    from django_bridge.aliases import DJANGO_ALIASES
    from skitai.corequests import standalone

    hub = standalone()
    for name in DJANGO_ALIASES:
        pool = hub.pool(name)
        if pool is not None:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            hub.loop.call_soon_threadsafe(lambda p=pool, f=done: (p.close(), f.set_result(None)))
            done.result(10)


@pytest.fixture
def atila_app(request: pytest.FixtureRequest) -> Any:
    """The Atila app under test (override this fixture, or set the ini option ``atila_app``)."""
    spec = request.config.getini("atila_app")
    if not spec:
        raise pytest.UsageError(
            "atila_client needs an app: override the atila_app fixture or set the ini option "
            "atila_app = 'package.module:app'"
        )
    return _import_app(str(spec))


@pytest.fixture
def atila_client(atila_app: Any, db: None, django_bridge_corequests: None) -> Iterator[Any]:
    """An in-process client for ``atila_app`` on the test database (in the test's transaction).

    As Django's own test client does, the connection is not closed at the
    start and end of each request (that would end the test's transaction).
    """
    from django.core import signals
    from django.db import close_old_connections

    from django_bridge.aliases import sync_aliases
    from skitai.testing import Client

    sync_aliases()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield Client(atila_app)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="session")
def skitai_serve_script(request: pytest.FixtureRequest) -> Path:
    """The project's ``serve.py``."""
    from django_bridge.serve_script import find_serve_script

    configured = request.config.getini("skitai_serve_script")
    if configured:
        return (request.config.rootpath / str(configured)).resolve()
    return find_serve_script()


@pytest.fixture(scope="session")
def skitai_mounts(skitai_serve_script: Path, django_db_blocker: Any) -> Any:
    """What ``serve.py`` mounts and its ``skitai.run`` options (a :class:`ServeScript`)."""
    from django_bridge.serve_script import collect_mounts

    with django_db_blocker.unblock():
        return collect_mounts(skitai_serve_script)


@pytest.fixture
def live_engine(
    transactional_db: None, skitai_mounts: Any, django_bridge_corequests: None
) -> Iterator[Any]:
    """A :class:`skitai.testing.LiveClient` on a live engine serving ``serve.py``'s mounts."""
    from django_bridge.aliases import sync_aliases
    from django_bridge.live import LiveEngine

    sync_aliases()
    options = {**skitai_mounts.options, "workers": 1, "silent": True, "access_log": False}
    engine = LiveEngine(skitai_mounts.engine, **options)
    client = engine.start()
    try:
        yield client
    finally:
        client.close()
        engine.stop()


@pytest.fixture
def bearer() -> Callable[[Any], dict[str, str]]:
    """``bearer(user, lifetime=3600)`` -> ``{"Authorization": "Bearer <JWT>"}``."""
    from django_bridge.tokens import issue_token

    def make(user: Any, lifetime: int = 3600) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(user, lifetime)}"}

    return make
