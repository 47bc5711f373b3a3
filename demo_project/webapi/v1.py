"""``/api/v1``: the spec's practical example over Django models, with the Django ORM.

* ``POST /token`` — ``username`` + ``password`` (form or JSON) -> ``{"token": JWT}``;
* ``GET /me`` — the current user (Django session cookie or ``Authorization: Bearer``);
* ``GET|POST|DELETE /<int:uid>/photos`` — photos of user ``uid`` (``me`` is
  the current user; ``notme``, GET only, is everyone else's).

Rules: no user (no token, a tampered, expired or ``alg: none`` token, no
session) is a 401.  Your own photos are yours to read, add and delete;
another user's need the Django permission ``photos.view_photo`` /
``add_photo`` / ``delete_photo`` (a superuser has them all), else 403.
``notme`` with any method but GET is a 421 (spec "Pre-Defined Parameter Values").

The photo lists are ``@django_bridge.precompiled`` QuerySets: Django builds
and compiles their SQL once per worker instead of on every request.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from photos.models import Photo

import atila
import django_bridge
from atila.openapi import operation

from .rules import (
    PhotoList,
    PhotoRow,
    photo_row,
    photo_value_row,
    photos_not_of,
    photos_of,
    resolve_uid,
    validate_url,
)

app = atila.Atila(__name__)
django_bridge.install(app)
django_bridge.add_token_route(app, "/token")
#: ``/api/v1/openapi.json`` and the interactive page at ``/api/v1/docs`` (docs/openapi.md)
app.config.OPENAPI = True
app.config.OPENAPI_TITLE = "Atila demo API v1"
app.config.OPENAPI_VERSION = "1.0"


class Me(TypedDict):
    """The current user."""

    id: int
    username: str
    is_staff: bool
    is_superuser: bool
    groups: list[str]


def _answer(description: str) -> dict[str, Any]:
    return {"description": description}


_HTTP_URL = r"^https?://([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}(/\S*)?$"
#: what ``POST /<uid>/photos`` reads from its body (the handler checks it)
NEW_PHOTO = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "pattern": r"\S", "description": "cut to 200 characters"},
        # what Django's URLValidator(schemes=["http", "https"]) takes, host names only
        "image_url": {"type": "string", "maxLength": 200, "pattern": _HTTP_URL},
    },
}
#: the answers besides 200 that the photo routes give, per method
PHOTO_ANSWERS = operation(
    post={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": NEW_PHOTO}
                for media in ("application/json", "application/x-www-form-urlencoded")
            },
        },
        "responses": {"201": _answer('Created: {"id": <new photo id>}')},
    },
    delete={"responses": {"205": _answer("Deleted")}},
)


@app.route("/me", methods=["GET"])
@app.permission_required()
def me(was: Any) -> Me:
    """The current Django user."""
    user = was.request.user
    return was.API(
        id=user.pk,
        username=user.get_username(),
        is_staff=user.is_staff,
        is_superuser=user.is_superuser,
        groups=sorted(user.groups.values_list("name", flat=True)),
    )


@app.route("/<int:uid>/photos", methods=["GET", "DELETE", "POST", "OPTIONS"])
@app.permission_required()
@PHOTO_ANSWERS
def photos(was: Any, uid: int | str, **DATA: Any) -> PhotoList:  # noqa: N803 - spec name
    """List, add or delete the photos of user ``uid``."""
    uid = resolve_uid(was, uid)
    user = was.request.user
    if was.request.method == "GET":
        rows = photos_not_of(user.pk) if uid == "notme" else photos_of(uid)
        return was.API(rows=[photo_value_row(row) for row in rows])
    if was.request.method == "DELETE":
        Photo.objects.filter(owner_id=uid).delete()
        return was.API("205 Reset Content")
    title = DATA.get("title")
    if not isinstance(title, str) or not title.strip():
        raise was.Error("400 Bad Request", "title required")
    image_url = DATA.get("image_url") or ""
    try:
        if image_url:
            validate_url(image_url)
    except (ValidationError, TypeError):
        raise was.Error("400 Bad Request", "image_url must be an http(s) URL") from None
    with transaction.atomic():
        if not get_user_model()._default_manager.filter(pk=uid).exists():
            raise was.Error("404 Not Found", f"no user {uid}")
        photo = Photo.objects.create(owner_id=uid, title=title.strip()[:200], image_url=image_url)
    return was.API("201 Created", id=photo.id)


@app.route("/<int:uid>/photos/<int:photo_id>", methods=["GET", "DELETE"])
@app.permission_required()
@PHOTO_ANSWERS
def photo(was: Any, uid: int | str, photo_id: int) -> PhotoRow:
    """One photo of user ``uid``."""
    uid = resolve_uid(was, uid)
    found = Photo.objects.filter(owner_id=uid, pk=photo_id).first() if uid != "notme" else None
    if found is None:
        raise was.Error("404 Not Found", "no such photo")
    if was.request.method == "DELETE":
        found.delete()
        return was.API("205 Reset Content")
    return was.API(photo_row(found))
