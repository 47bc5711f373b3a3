"""URLs of the plain-Django side of ``bench_django.py``: the admin and the photos list API
written as a plain Django view (same JWT check, permission rule and JSON as the demo's
Atila ``GET /api/v1/<uid>/photos``).
"""

from __future__ import annotations

import jwt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from photos.models import Photo

#: The demo's ``webapi.rules.PHOTO_FIELDS``: both sides run the same query.
PHOTO_FIELDS = ("id", "owner_id", "title", "image_url", "created")


def plaintext(request: HttpRequest) -> HttpResponse:
    """Readiness check of the benchmark harness."""
    return HttpResponse(b"Hello, World!", content_type="text/plain")


def photos(request: HttpRequest, uid: int) -> JsonResponse:
    """``{"rows": [...]}``: the photos of ``uid`` for a bearer JWT of a Django user."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return JsonResponse({"message": "authorization required"}, status=401)
    try:
        claims = jwt.decode(
            token.strip(), settings.SECRET_KEY, algorithms=["HS256"],
            options={"require": ["exp", "uid"]},
        )  # fmt: skip
    except jwt.InvalidTokenError:
        return JsonResponse({"message": "invalid token"}, status=401)
    user = get_user_model()._default_manager.filter(pk=claims["uid"], is_active=True).first()
    if user is None:
        return JsonResponse({"message": "invalid token"}, status=401)
    if uid != user.pk and not user.has_perm("photos.view_photo"):
        return JsonResponse({"message": "permission denied"}, status=403)
    rows = [
        {"id": p["id"], "uid": p["owner_id"], "title": p["title"], "image_url": p["image_url"],
         "created": p["created"].isoformat()}
        for p in Photo.objects.filter(owner_id=uid).values(*PHOTO_FIELDS)
    ]  # fmt: skip
    return JsonResponse({"rows": rows})


urlpatterns = [
    path("plaintext", plaintext),
    path("admin/", admin.site.urls),
    path("api/v1/<int:uid>/photos", photos),
    path("api/v2/<int:uid>/photos", photos),  # the same view: v2 is Atila's corequest form
]
