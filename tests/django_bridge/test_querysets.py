"""QuerySets as corequest SQL: ``was.db("@django").execute(queryset)`` and model instances."""

from __future__ import annotations

from typing import Any

import pytest
import webapi  # noqa: F401 - the demo's API package registers the "@django" alias
from django.contrib.auth.models import User
from django.db import connection
from photos.models import Photo

import django_bridge
from skitai.corequests import DB_PGSQL, DB_SQLITE3, registry, standalone
from skitai.testing import Client, LiveClient

KIND = DB_PGSQL if connection.vendor == "postgresql" else DB_SQLITE3
OTHER_KIND = DB_SQLITE3 if KIND == DB_PGSQL else DB_PGSQL


pytestmark = pytest.mark.usefixtures("django_bridge_corequests")


@pytest.fixture
def owner(transactional_db: None) -> User:
    return User.objects.create_user("owner", "owner@example.com", "owner-pass-1")


def run(queryset: Any) -> Any:
    """Run ``queryset`` on ``@django`` through a corequest hub; return the task."""
    django_bridge.sync_aliases()
    sql, params = django_bridge.compile_queryset(queryset, KIND)
    return standalone().query("@django", sql, params)


def test_alias_follows_the_django_database(transactional_db: None) -> None:
    django_bridge.sync_aliases()
    alias = registry.get("@django")
    assert alias.kind == KIND
    name = str(connection.settings_dict["NAME"])
    assert name in alias.location


def test_values_are_parameters_not_sql(owner: User) -> None:
    Photo.objects.create(owner=owner, title="50% off")
    hostile = "x'); DROP TABLE photos_photo; --"
    sql, params = django_bridge.compile_queryset(Photo.objects.filter(title=hostile), KIND)
    assert hostile not in sql and hostile in params
    assert run(Photo.objects.filter(title=hostile)).fetch() == []
    rows = run(Photo.objects.filter(title__contains="0%").values("title")).fetch()
    assert [row["title"] for row in rows] == ["50% off"]
    assert Photo.objects.count() == 1


def test_empty_queryset_returns_no_rows(owner: User) -> None:
    Photo.objects.create(owner=owner, title="a")
    assert run(Photo.objects.none()).fetch() == []


def test_writes_and_foreign_backends_are_refused(transactional_db: None) -> None:
    with pytest.raises(TypeError, match="select_for_update"):
        django_bridge.compile_queryset(Photo.objects.select_for_update(), KIND)
    with pytest.raises(TypeError, match="cannot run on"):
        django_bridge.compile_queryset(Photo.objects.all(), OTHER_KIND)
    from django.db.models.sql import UpdateQuery

    updating = Photo.objects.all()
    updating.query = updating.query.chain(UpdateQuery)
    with pytest.raises(TypeError, match="only SELECT"):
        django_bridge.compile_queryset(updating, KIND)


def test_instances_with_select_and_prefetch_related(owner: User) -> None:
    first = Photo.objects.create(owner=owner, title="first", image_url="https://e.org/1.jpg")
    Photo.objects.create(owner=owner, title="second")
    query = Photo.objects.select_related("owner").order_by("id")
    found = django_bridge.instances(query, run(query))
    assert [(p.pk, p.title, p.owner.username) for p in found] == [
        (first.pk, "first", "owner"), (first.pk + 1, "second", "owner"),
    ]  # fmt: skip
    assert found[0].created == first.created  # converted to an aware datetime
    users = User.objects.filter(pk=owner.pk).prefetch_related("photos")
    (user,) = django_bridge.instances(users, run(users))
    assert sorted(p.title for p in user.photos.all()) == ["first", "second"]
    with pytest.raises(TypeError, match="model QuerySet"):
        values = Photo.objects.values("id")
        django_bridge.instances(values, run(values))


def test_values_of_converts_like_values(owner: User) -> None:
    Photo.objects.create(owner=owner, title="first", image_url="https://e.org/1.jpg")
    Photo.objects.create(owner=owner, title="second")
    query = Photo.objects.filter(owner=owner).order_by("id").values("id", "title", "created")
    assert django_bridge.values_of(query, run(query)) == list(query)  # aware datetimes too
    empty = Photo.objects.filter(owner=owner, title="none").values("id")
    assert django_bridge.values_of(empty, run(empty)) == []
    with pytest.raises(TypeError, match="values"):
        models = Photo.objects.all()
        django_bridge.values_of(models, run(models))


def test_was_db_execute_in_process(owner: User) -> None:
    from webapi.v2 import app

    django_bridge.sync_aliases()
    Photo.objects.create(owner=owner, title="in process")
    client = Client(app)
    headers = {"Authorization": f"Bearer {django_bridge.issue_token(owner)}"}
    response = client.get("/me/photos", headers=headers)
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["rows"]] == ["in process"]


def test_v2_matches_v1_through_the_engine(
    live_engine: LiveClient, owner: User, bearer: Any
) -> None:
    other = User.objects.create_user("other", "other@example.com", "other-pass-1")
    for title in ("one", "two", "three", "four"):
        Photo.objects.create(owner=owner, title=title)
    Photo.objects.create(owner=other, title="not mine")
    headers = bearer(owner)
    v1 = live_engine.get("/api/v1/me/photos", headers=headers)
    v2 = live_engine.get("/api/v2/me/photos", headers=headers)
    assert v1.status_code == v2.status_code == 200
    assert v2.json() == v1.json()
    assert [row["title"] for row in v2.json()["rows"]] == ["four", "three", "two", "one"]

    latest = Photo.objects.filter(owner=owner).latest("created", "id")
    one = live_engine.get(f"/api/v2/me/photos/{latest.pk}", headers=headers)
    assert one.status_code == 200
    assert one.json()["title"] == "four" and one.json()["owner"] == "owner"
    missing = live_engine.get(f"/api/v2/{owner.pk}/photos/999999", headers=headers)
    assert missing.status_code == 404
    for photo in Photo.objects.filter(owner=owner):  # the precompiled query, again and again
        found = live_engine.get(f"/api/v2/me/photos/{photo.pk}", headers=headers).json()
        assert (found["id"], found["title"]) == (photo.pk, photo.title)
    theirs = Photo.objects.get(owner=other)
    assert live_engine.get(f"/api/v2/notme/photos/{theirs.pk}", headers=headers).status_code == 403
    from django.contrib.auth.models import Permission

    owner.user_permissions.add(Permission.objects.get(codename="view_photo"))
    found = live_engine.get(f"/api/v2/notme/photos/{theirs.pk}", headers=headers)
    assert found.status_code == 200 and found.json()["owner"] == "other"
    assert live_engine.get(f"/api/v2/notme/photos/{latest.pk}", headers=headers).status_code == 404

    stats = live_engine.get("/api/v2/me/stats", headers=headers).json()
    assert stats == {
        "count": 4,
        "latest": [{"id": latest.pk, "title": "four"}, {"id": latest.pk - 1, "title": "three"},
                   {"id": latest.pk - 2, "title": "two"}],
    }  # fmt: skip


def test_v2_permissions_through_the_engine(
    live_engine: LiveClient, owner: User, bearer: Any
) -> None:
    other = User.objects.create_user("other", "other@example.com", "other-pass-1")
    assert live_engine.get("/api/v2/me/photos").status_code == 401
    assert live_engine.get(f"/api/v2/{other.pk}/photos", headers=bearer(owner)).status_code == 403
    assert (
        live_engine.get("/api/v2/me/photos", headers={"Authorization": "Bearer a.b.c"}).status_code
        == 401
    )


def run_statement(statement: Any) -> Any:
    """Run what ``was.db("@django").execute`` takes (QuerySet or precompiled) on ``@django``."""
    from django_bridge.queryset import queryset_adapter

    django_bridge.sync_aliases()
    sql, params = queryset_adapter(statement, registry.get("@django"))
    return standalone().query("@django", sql, params)


def test_precompiled_statements_run_as_corequests(owner: User) -> None:
    other = User.objects.create_user("other", "other@example.com", "other-pass-1")
    for title in ("one", "two"):
        Photo.objects.create(owner=owner, title=title, image_url=f"https://e.org/{title}.jpg")
    Photo.objects.create(owner=other, title="theirs")
    rows = django_bridge.precompiled(
        lambda uid: Photo.objects.filter(owner_id=uid).values("id", "title", "created")
    )
    models = django_bridge.precompiled(
        lambda uid: Photo.objects.filter(owner_id=uid).select_related("owner").order_by("id")
    )
    rows(owner.pk), models(owner.pk)  # learn both shapes
    for user in (owner, other):
        bound = rows.statement(user.pk)
        assert isinstance(bound, django_bridge.BoundQuery)
        expected = list(Photo.objects.filter(owner_id=user.pk).values("id", "title", "created"))
        assert django_bridge.values_of(bound, run_statement(bound)) == expected
        bound = models.statement(user.pk)
        found = django_bridge.instances(bound, run_statement(bound))
        expected_photos = Photo.objects.filter(owner=user).order_by("id")
        assert [(p.title, p.owner.username, p.created) for p in found] == [
            (p.title, user.username, p.created) for p in expected_photos
        ]
    with pytest.raises(TypeError, match="model QuerySet"):
        django_bridge.instances(rows.statement(owner.pk), run_statement(rows.statement(owner.pk)))
    searching = django_bridge.precompiled(lambda text: Photo.objects.filter(title__icontains=text))
    searching("ONE")
    plain = searching.statement("ONE")  # no plan for this shape: the QuerySet itself
    assert [p.title for p in django_bridge.instances(plain, run_statement(plain))] == ["one"]


def test_precompiled_statement_refuses_another_vendor(owner: User) -> None:
    from django_bridge.queryset import _bound_sql

    rows = django_bridge.precompiled(lambda uid: Photo.objects.filter(owner_id=uid).values("id"))
    rows(owner.pk)
    with pytest.raises(TypeError, match="cannot run on"):
        _bound_sql(rows.statement(owner.pk), OTHER_KIND)
