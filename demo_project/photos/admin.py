"""Photos in the Django admin: list, search and filter."""

from django.contrib import admin
from django.db import models

from .models import Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    """Admin of :class:`Photo`."""

    list_display = ("id", "title", "owner", "created")
    list_filter = ("owner", "created")
    search_fields = ("title",)
    # Django 6's default; saying it now avoids Django 5's RemovedInDjango60Warning.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
