"""``GET /bench`` (the two queries with the ORM) and ``GET /plaintext``."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from .models import Foo


def plaintext(request: HttpRequest) -> HttpResponse:
    """Readiness check."""
    return HttpResponse(b"Hello, World!", content_type="text/plain")


def bench(request: HttpRequest) -> JsonResponse:
    """The ten latest matching rows and their count (one query after the other)."""
    matching = Foo.objects.filter(Q(from_wallet_id=8) | Q(detail="ReturnTx"))
    txs = list(matching.order_by("-created_at")[:10].values())
    return JsonResponse({"txs": txs, "record_count": matching.count()})


urlpatterns = [path("plaintext", plaintext), path("bench", bench)]
