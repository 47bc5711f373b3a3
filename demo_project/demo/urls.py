"""URLs of the Django side, mounted by the engine under ``/admin``: two async views
(``/admin/async/...``) and the admin."""

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("async/stats/", views.photo_stats, name="photo-stats"),
    path("async/titles/", views.photo_titles, name="photo-titles"),
    path("", admin.site.urls),
]
