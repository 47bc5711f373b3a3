"""The demo API's rules, shared by ``v1`` (Django ORM) and ``v2`` (QuerySet corequests)."""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.validators import URLValidator
from photos.models import Photo

import django_bridge

#: Django permission needed for another user's photos, per method.
OTHERS_PERMISSION = {
    "GET": "photos.view_photo",
    "POST": "photos.add_photo",
    "DELETE": "photos.delete_photo",
}
#: The largest id an integer column holds (a bigger ``<int:uid>`` is no user).
MAX_ID = 2**63 - 1
#: Photo URLs must be http(s): they become links on the front page.
validate_url = URLValidator(schemes=["http", "https"])


class PhotoRow(TypedDict):
    """A photo as the API shows it."""

    id: int
    uid: int
    title: str
    image_url: str
    #: ISO 8601
    created: str


class PhotoList(TypedDict):
    """The photos of a user, newest first."""

    rows: list[PhotoRow]


def photo_row(photo: Photo) -> dict[str, Any]:
    """A photo as the API shows it (``created``: ISO 8601, ``datetime.isoformat``)."""
    return {
        "id": photo.id,
        "uid": photo.owner_id,
        "title": photo.title,
        "image_url": photo.image_url,
        "created": photo.created.isoformat(),
    }


#: The columns of a photo in a list: ``Photo.objects....values(*PHOTO_FIELDS)``.
PHOTO_FIELDS = ("id", "owner_id", "title", "image_url", "created")


def photo_value_row(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`photo_row` of a ``values(*PHOTO_FIELDS)`` row (lists need no model instances)."""
    return {
        "id": values["id"],
        "uid": values["owner_id"],
        "title": values["title"],
        "image_url": values["image_url"],
        "created": values["created"].isoformat(),
    }


@django_bridge.precompiled
def photos_of(owner_id: int) -> Any:
    """The photos of ``owner_id`` as list rows, newest first (SQL compiled once per worker)."""
    return Photo.objects.filter(owner_id=owner_id).values(*PHOTO_FIELDS)


@django_bridge.precompiled
def photos_not_of(owner_id: int) -> Any:
    """Everyone else's photos as list rows, newest first."""
    return Photo.objects.exclude(owner_id=owner_id).values(*PHOTO_FIELDS)


def resolve_uid(was: Any, uid: int | str) -> int | str:
    """``me`` -> the user's id; check the permission rules for everything else."""
    request, user = was.request, was.request.user
    if uid == "me":
        return int(user.pk)
    if uid == "notme" and request.method != "GET":
        raise was.Error("421 Misdirected Request", "notme is only allowed with GET")
    if uid == "new":
        raise was.Error("404 Not Found", "no user 'new'")
    if isinstance(uid, int) and uid > MAX_ID:  # the database driver could not even bind it
        raise was.Error("404 Not Found", f"no user {uid}")
    if uid != user.pk:
        django_bridge.check_permission(was, [OTHERS_PERMISSION[request.method]])
    return uid
