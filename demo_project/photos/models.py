"""The demo's data: photos owned by Django users."""

from django.conf import settings
from django.db import models


class Photo(models.Model):
    """A photo: a title and an image URL, owned by a user."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos"
    )
    title = models.CharField(max_length=200)
    image_url = models.URLField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.title
