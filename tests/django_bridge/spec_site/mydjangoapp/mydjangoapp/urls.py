"""URLs of the spec's Django project: the admin at the mount point (``/admin``)."""

from django.contrib import admin
from django.urls import path

from mydjangoapp.photos import views

urlpatterns = [
    path("photos/", views.photo_titles, name="photo-titles"),
    path("", admin.site.urls),
]
