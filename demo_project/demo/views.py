"""The demo's async Django views, served under ``/admin`` next to the admin.

Through ``demo/asgi.py`` they run on the engine's event loop (the ORM's async
API hands the queries to Django's database thread).
"""

from collections.abc import AsyncIterator

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from photos.models import Photo


async def photo_stats(request: HttpRequest) -> JsonResponse:
    """How many photos there are, and the newest title."""
    newest = await Photo.objects.order_by("-created", "-id").afirst()
    return JsonResponse(
        {
            "photos": await Photo.objects.acount(),
            "newest": newest.title if newest else None,
            # Django's ASGIRequest keeps the scope: the engine called Django through ASGI
            "interface": "asgi" if hasattr(request, "scope") else "wsgi",
        }
    )


async def photo_titles(request: HttpRequest) -> StreamingHttpResponse:
    """Every photo title, one per line, streamed as the query yields them."""

    async def lines() -> AsyncIterator[bytes]:
        async for title in Photo.objects.order_by("title").values_list("title", flat=True):
            yield title.encode() + b"\n"

    return StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8")
