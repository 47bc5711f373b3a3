"""The photos app."""

from django.apps import AppConfig


class PhotosConfig(AppConfig):
    """Configuration of the photos app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "photos"
