"""A plain Django view, served under the mount point by Django itself."""

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from .models import Photo


def photo_titles(request: HttpRequest) -> JsonResponse:
    """The photo titles, and this view's URL as Django reverses it (with ``SCRIPT_NAME``)."""
    titles = list(Photo.objects.order_by("title").values_list("title", flat=True))
    return JsonResponse({"titles": titles, "url": reverse("photo-titles")})
