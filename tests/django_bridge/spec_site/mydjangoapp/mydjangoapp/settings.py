"""Settings of the spec's Django project (``django-admin startproject mydjangoapp``, trimmed).

The database comes from the environment the test starts the server with:
``SPEC_DB_ENGINE`` (``sqlite3`` or ``postgresql``), ``SPEC_DB_NAME`` (the
SQLite file, or the PostgreSQL database) and ``SPEC_DB_HOST``/``PORT``/``USER``.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "spec-site-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "mydjangoapp.photos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "mydjangoapp.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mydjangoapp.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends." + os.environ.get("SPEC_DB_ENGINE", "sqlite3"),
        "NAME": os.environ.get("SPEC_DB_NAME", str(BASE_DIR / "db.sqlite3")),
        "HOST": os.environ.get("SPEC_DB_HOST", ""),
        "PORT": os.environ.get("SPEC_DB_PORT", ""),
        "USER": os.environ.get("SPEC_DB_USER", ""),
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
