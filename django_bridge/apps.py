"""``django_bridge`` as a Django app: add it to ``INSTALLED_APPS`` for ``manage.py runskitai``."""

from django.apps import AppConfig


class DjangoBridgeConfig(AppConfig):
    """The app config (no models; management commands only)."""

    name = "django_bridge"
    verbose_name = "Skitai / Atila bridge"
