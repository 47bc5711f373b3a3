"""Photos in the Django admin: list, search and filter."""

from django.contrib import admin

from .models import Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    """Admin of :class:`Photo`."""

    list_display = ("id", "title", "owner", "created")
    list_filter = ("owner", "created")
    search_fields = ("title",)
