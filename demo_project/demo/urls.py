"""URLs of the Django side: the admin, mounted by the engine under ``/admin``."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("", admin.site.urls),
]
