"""Mounted Django projects (spec "Working With Django").

The spec: "When Django app is mounted, these will be processed: 1. the django
project root path will be added to sys.path, 2. app is mounted, 3. database
alias (@mydjangoapp) will be created as base name of django project root"::

    # serve.py: mysite/wsgi.py is the one `django-admin startproject` wrote
    skitai.mount("/admin", "mysite/wsgi.py", "application", pref)

The engine's mount loader imports ``mysite/wsgi.py`` as ``mysite.wsgi`` with
the project root (the directory holding the ``mysite`` package and
``manage.py``) put on ``sys.path``.  Then :func:`mounted_project`, the
engine's mount-target handler for Django apps (``skitai.mount_targets`` entry
point ``django``), registers the corequest alias ``@mysite``: the package of
``DJANGO_SETTINGS_MODULE``, which ``startproject`` names after the project
root.  Django sees the mount point as ``SCRIPT_NAME``, so ``reverse()`` and
the admin's links carry it.

:func:`wsgi_application` builds the WSGI handler and registers the alias in
one call, for a ``wsgi.py`` that wants to say so itself.

The project's ASGI application mounts the same way (``"mysite/asgi.py"``,
``"application"``): the engine sees an ASGI callable and serves it on the
worker's event loop (docs/asgi.md), so async views and async streaming
responses never leave the loop, and :func:`mounted_project` registers
``@<project>`` for it too.  :func:`asgi_application` is the ASGI twin of
:func:`wsgi_application`.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import Any

from skitai.corequests import AliasError, registry

from .aliases import alias
from .project import SETTINGS_ENV, setup

__all__ = ["asgi_application", "mounted_project", "project_alias_name", "wsgi_application"]

logger = logging.getLogger(__name__)


def project_alias_name() -> str:
    """``"@<project>"``: the top package of ``DJANGO_SETTINGS_MODULE`` (``mysite.settings``)."""
    return "@" + os.environ[SETTINGS_ENV].partition(".")[0]


def wsgi_application(settings: str | None = None, register_alias: bool = True) -> Any:
    """Django's WSGI handler for ``settings``; registers ``@<project>`` for its database."""
    from django.core.wsgi import get_wsgi_application

    setup(settings)
    if register_alias:
        alias(project_alias_name())
    return get_wsgi_application()


def asgi_application(settings: str | None = None, register_alias: bool = True) -> Any:
    """Django's ASGI handler for ``settings``; registers ``@<project>`` for its database."""
    from django.core.asgi import get_asgi_application

    setup(settings)
    if register_alias:
        alias(project_alias_name())
    return get_asgi_application()


def mounted_project(point: str, app: Any, module: ModuleType | None) -> None:
    """Mount-target handler: a Django WSGI or ASGI handler being mounted registers
    ``@<project>``.

    Other apps of Django's packages are left alone.  An alias of that name
    registered before (by :func:`wsgi_application`, or by the user) is kept.
    A database without a corequest backend (MySQL, in-memory SQLite) still
    mounts: the alias is skipped with a warning.
    """
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler

    if not isinstance(app, (WSGIHandler, ASGIHandler)):
        return
    module_name = os.environ.get(SETTINGS_ENV) or getattr(settings, "SETTINGS_MODULE", None)
    if not module_name:  # settings.configure(): no project package to name the alias after
        return
    name = "@" + module_name.partition(".")[0]
    if name in registry:
        return
    try:
        alias(name)
    except AliasError as exc:
        logger.warning("Django app mounted at %s has no corequest alias %s: %s", point, name, exc)
