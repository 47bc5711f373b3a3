"""``/api/v2``: the photo reads of ``/api/v1`` as QuerySet corequests.

The QuerySets are the same as with the ORM, but run through
``was.db("@django").execute(queryset)``: the query goes to the worker's event
loop (PostgreSQL) or SQLite executor and ``.then(...)`` builds the answer when
the rows arrive, so no handler thread waits for the database meanwhile.
:func:`django_bridge.instances` turns the rows back into ``Photo`` objects.
The lists run the ``statement()`` of v1's precompiled builders: the same SQL,
compiled once per worker.

* ``POST /token``, as in v1;
* ``GET /<int:uid>/photos`` and ``GET /<int:uid>/photos/<int:photo_id>``,
  with v1's permission rules;
* ``GET /<int:uid>/stats`` — the photo count and the latest three titles:
  two queries at once with ``was.Map``.

Writes stay on ``/api/v1``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from photos.models import Photo

import atila
import django_bridge

from .rules import (
    PhotoList,
    PhotoRow,
    photo_row,
    photo_value_row,
    photos_not_of,
    photos_of,
    resolve_uid,
)

app = atila.Atila(__name__)
django_bridge.install(app)
django_bridge.add_token_route(app, "/token")
#: ``/api/v2/openapi.json`` and the interactive page at ``/api/v2/docs`` (docs/openapi.md)
app.config.OPENAPI = True
app.config.OPENAPI_TITLE = "Atila demo API v2"
app.config.OPENAPI_VERSION = "2.0"


class OwnedPhoto(PhotoRow):
    """A photo with its owner's username."""

    owner: str


class Latest(TypedDict):
    """A photo's id and title."""

    id: int
    title: str


class Stats(TypedDict):
    """How many photos, and the latest three."""

    count: int
    latest: list[Latest]


def queryset_of(was: Any, uid: int | str) -> Any:
    """The QuerySet of ``uid``'s photos (``notme``: everyone else's)."""
    if uid == "notme":
        return Photo.objects.exclude(owner_id=was.request.user.pk)
    return Photo.objects.filter(owner_id=uid)


@django_bridge.precompiled
def photo_of(owner_id: int, photo_id: int) -> Any:
    """Photo ``photo_id`` of ``owner_id``, with its owner."""
    return Photo.objects.filter(owner_id=owner_id, pk=photo_id).select_related("owner")


@django_bridge.precompiled
def photo_not_of(owner_id: int, photo_id: int) -> Any:
    """Photo ``photo_id`` if someone else owns it, with its owner."""
    return Photo.objects.exclude(owner_id=owner_id).filter(pk=photo_id).select_related("owner")


@app.route("/<int:uid>/photos", methods=["GET"])
@app.permission_required()
def photos(was: Any, uid: int | str) -> PhotoList:
    """The photos of user ``uid``, newest first."""
    uid = resolve_uid(was, uid)
    if uid == "notme":
        query = photos_not_of.statement(was.request.user.pk)
    else:
        query = photos_of.statement(uid)

    def respond(was: Any, task: Any) -> Any:
        rows = django_bridge.values_of(query, task)
        return was.API(rows=[photo_value_row(row) for row in rows])

    return was.db("@django").execute(query).then(respond)


@app.route("/<int:uid>/photos/<int:photo_id>", methods=["GET"])
@app.permission_required()
def photo(was: Any, uid: int | str, photo_id: int) -> OwnedPhoto:
    """One photo of user ``uid``, with its owner (``select_related``)."""
    uid = resolve_uid(was, uid)
    if uid == "notme":
        query = photo_not_of.statement(was.request.user.pk, photo_id)
    else:
        query = photo_of.statement(uid, photo_id)

    def respond(was: Any, task: Any) -> Any:
        found = django_bridge.instances(query, task)
        if not found:
            raise was.Error("404 Not Found", "no such photo")
        return was.API(photo_row(found[0]), owner=found[0].owner.get_username())

    return was.db("@django").execute(query).then(respond)


@app.route("/<int:uid>/stats", methods=["GET"])
@app.permission_required()
def stats(was: Any, uid: int | str) -> Stats:
    """``{"count": n, "latest": [{id, title} x 3]}``: two corequests at once in a ``was.Map``."""
    mine = queryset_of(was, resolve_uid(was, uid))
    return was.Map(
        count=was.db("@django", filter=len).execute(mine.values("id")),
        latest=was.db("@django").execute(
            mine.order_by("-created", "-id").values("id", "title")[:3]
        ),
    )
