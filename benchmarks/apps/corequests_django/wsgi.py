"""Django configured in code for the corequest benchmark; ``application`` is the WSGI app."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import django
from django.conf import settings

_dsn = urlsplit(os.environ["BENCH_PG_DSN"])
settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF="benchmarks.apps.corequests_django.urls",
    INSTALLED_APPS=["benchmarks.apps.corequests_django"],
    MIDDLEWARE=[],
    USE_TZ=True,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _dsn.path.lstrip("/"),
            "USER": _dsn.username or "postgres",
            "PASSWORD": _dsn.password or "",
            "HOST": _dsn.hostname or "127.0.0.1",
            "PORT": str(_dsn.port or 5432),
            "CONN_MAX_AGE": None,
        }
    },
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after setup

application = get_wsgi_application()
