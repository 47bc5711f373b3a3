"""A Django project's WSGI application, ready for ``skitai.mount`` (spec "Working With Django").

The spec has mounting a Django app set Django up and register a corequest
alias named after the project (``@mydjangoapp``).  The engine knows nothing of
Django, so the project's ``wsgi.py`` asks for it::

    # mysite/wsgi.py
    from django_bridge.mount import wsgi_application
    application = wsgi_application("mysite.settings")   # also registers "@mysite"

    # serve.py
    skitai.mount("/admin", "mysite/wsgi.py", "application", pref)

Mounting ``mysite/wsgi.py`` puts the project root on ``sys.path``; Django sees
the mount point as ``SCRIPT_NAME``, so ``reverse()`` and the admin's links
carry it.
"""

from __future__ import annotations

import os
from typing import Any

from .aliases import alias
from .project import SETTINGS_ENV, setup

__all__ = ["project_alias_name", "wsgi_application"]


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
