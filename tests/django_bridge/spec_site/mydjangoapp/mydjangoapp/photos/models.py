"""The spec's ``Photo`` model ("Using Django Models")."""

from django.db import models


class Photo(models.Model):
    """A photo of a user, on a topic."""

    user = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    topic = models.IntegerField(default=0)
    create_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title
