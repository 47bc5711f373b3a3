"""``@django_bridge.precompiled``: the same rows as the ORM, the SQL compiled once per shape.

Runs on SQLite here and on PostgreSQL through ``test_postgres.py``.  Each
builder counts its calls: a remembered shape does not call it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.models import FloatField
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext
from photos.models import Photo

import django_bridge

FIELDS = ("id", "owner_id", "title", "image_url", "created")


class Counted:
    """A QuerySet builder that counts how often it was called."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self.build, self.calls = build, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.build(*args, **kwargs)


@pytest.fixture
def users(transactional_db: None) -> tuple[User, User]:
    owner = User.objects.create_user("owner", "owner@example.com", "owner-pass-1", is_staff=True)
    other = User.objects.create_user("other", "other@example.com", "other-pass-1")
    for n in range(5):
        Photo.objects.create(owner=owner, title=f"mine {n}", image_url=f"https://e.org/{n}.jpg")
    Photo.objects.create(owner=other, title="theirs")
    return owner, other


def test_values_rows_as_the_orm_gives_them_and_the_builder_runs_once(
    users: tuple[User, User],
) -> None:
    owner, other = users
    build = Counted(lambda uid: Photo.objects.filter(owner_id=uid).values(*FIELDS))
    photos_of = django_bridge.precompiled(build)
    for uid in (owner.pk, other.pk, owner.pk, 999_999):
        assert photos_of(uid) == list(Photo.objects.filter(owner_id=uid).values(*FIELDS))
    assert build.calls == 2  # the first call's two probes; then the remembered SQL
    Photo.objects.create(owner=other, title="new")  # rows are read each time, never kept
    assert [row["title"] for row in photos_of(other.pk)] == ["new", "theirs"]
    assert photos_of.queryset(other.pk).count() == 2  # the plain QuerySet, to chain


def test_the_remembered_sql_runs_on_djangos_cursor(users: tuple[User, User]) -> None:
    owner, _ = users
    photos_of = django_bridge.precompiled(lambda uid: Photo.objects.filter(owner_id=uid))
    photos_of(owner.pk)
    expected = str(Photo.objects.filter(owner_id=owner.pk).query)
    with CaptureQueriesContext(connection) as queries:
        found = photos_of(owner.pk)
    assert len(queries) == 1  # logged by Django's debug cursor like any ORM query
    assert queries[0]["sql"].split(" WHERE ")[0] == expected.split(" WHERE ")[0]
    assert [p.title for p in found] == [p.title for p in Photo.objects.filter(owner_id=owner.pk)]
    assert found[0].created.tzinfo is not None  # Django's field conversions


def test_model_instances_with_select_and_prefetch_related(users: tuple[User, User]) -> None:
    owner, other = users
    with_owner = django_bridge.precompiled(
        lambda uid: Photo.objects.filter(owner_id=uid).select_related("owner")
    )
    for user in (owner, other, owner):
        with CaptureQueriesContext(connection) as queries:
            found = with_owner(user.pk)
            assert {photo.owner.username for photo in found} == {user.username}
        assert len(queries) == 1  # the owners came with the photos
    with_photos = django_bridge.precompiled(
        lambda staff: User.objects.filter(is_staff=staff).order_by("id").prefetch_related("photos")
    )
    for staff, user in ((True, owner), (False, other), (True, owner)):
        (found,) = with_photos(staff)
        assert found.pk == user.pk
        assert sorted(p.title for p in found.photos.all()) == sorted(
            p.title for p in Photo.objects.filter(owner=user)
        )


def test_values_list_and_flat(users: tuple[User, User]) -> None:
    owner, other = users
    titles = django_bridge.precompiled(
        lambda uid: (
            Photo.objects.filter(owner_id=uid).order_by("id").values_list("title", flat=True)
        )
    )
    pairs = django_bridge.precompiled(
        lambda uid: Photo.objects.filter(owner_id=uid).order_by("id").values_list("id", "title")
    )
    for user in (owner, other, owner):
        query = Photo.objects.filter(owner_id=user.pk).order_by("id")
        assert titles(user.pk) == list(query.values_list("title", flat=True))
        assert pairs(user.pk) == list(query.values_list("id", "title"))


def test_arguments_with_equal_values_keep_their_places(users: tuple[User, User]) -> None:
    owner, _ = users
    first = Photo.objects.filter(owner=owner).order_by("id").first()
    assert first is not None
    build = Counted(
        lambda uid, since: Photo.objects.filter(owner_id=uid, id__gte=since).values_list(
            "id", flat=True
        )
    )
    query = django_bridge.precompiled(build)
    same = first.pk if first.pk == owner.pk else owner.pk  # a call where both values are equal
    for uid, since in ((same, same), (owner.pk, first.pk + 2), (owner.pk, 0)):
        expected = Photo.objects.filter(owner_id=uid, id__gte=since).values_list("id", flat=True)
        assert sorted(query(uid, since)) == sorted(expected)
        assert sorted(query(uid=uid, since=since)) == sorted(expected)  # another shape
    assert build.calls == 4


def test_values_that_change_the_sql_are_part_of_the_shape(users: tuple[User, User]) -> None:
    owner, other = users
    build = Counted(
        lambda staff: Photo.objects.filter(owner__is_staff=staff).values_list("title", flat=True)
    )
    by_staff = django_bridge.precompiled(build)
    for staff in (True, False, True, False):
        assert sorted(by_staff(staff)) == sorted(
            Photo.objects.filter(owner__is_staff=staff).values_list("title", flat=True)
        )
    assert build.calls == 4  # True and False: two shapes, learnt once each
    url = django_bridge.precompiled(lambda value: Photo.objects.filter(image_url=value))
    assert [p.title for p in url(None)] == []
    assert [p.title for p in url("https://e.org/1.jpg")] == ["mine 1"]
    assert [p.title for p in url("https://e.org/2.jpg")] == ["mine 2"]


def test_shapes_that_do_not_qualify_are_built_every_time(users: tuple[User, User]) -> None:
    owner, other = users
    contains = Counted(
        lambda text: Photo.objects.filter(title__icontains=text).values_list("title", flat=True)
    )
    search = django_bridge.precompiled(contains)
    assert sorted(search("MINE 1")) == ["mine 1"]
    assert sorted(search("theirs")) == ["theirs"]
    assert contains.calls == 3  # "%mine 1%" is not the argument: no plan, plain ORM after
    among = django_bridge.precompiled(lambda ids: Photo.objects.filter(owner_id__in=ids))
    assert len(among([owner.pk, other.pk])) == 6 and len(among([other.pk])) == 1
    limited = django_bridge.precompiled(lambda n: Photo.objects.order_by("id")[:n])
    assert [len(limited(n)) for n in (2, 4, 1)] == [2, 4, 1]  # LIMIT is in the SQL text
    nothing = django_bridge.precompiled(lambda ids: Photo.objects.filter(pk__in=ids))
    assert nothing([]) == [] and len(nothing([owner.pk])) <= 1


def test_values_stay_parameters(users: tuple[User, User]) -> None:
    hostile = "x'); DROP TABLE photos_photo; --"
    titled = django_bridge.precompiled(lambda title: Photo.objects.filter(title=title))
    assert [p.title for p in titled("mine 3")] == ["mine 3"]
    assert titled(hostile) == []
    assert Photo.objects.count() == 6


def test_bad_values_fail_as_with_the_orm(users: tuple[User, User]) -> None:
    owner, _ = users
    photos_of = django_bridge.precompiled(lambda uid: Photo.objects.filter(owner_id=uid))
    with pytest.raises(ValueError, match="expected a number"):
        photos_of("not a number")
    assert len(photos_of(owner.pk)) == 5


def test_threads_with_their_own_connections(users: tuple[User, User]) -> None:
    owner, other = users
    photos_of = django_bridge.precompiled(
        lambda uid: Photo.objects.filter(owner_id=uid).values_list("title", flat=True)
    )
    expected = {
        user.pk: list(Photo.objects.filter(owner_id=user.pk).values_list("title", flat=True))
        for user in users
    }
    failures: list[str] = []

    def read(n: int) -> None:
        try:
            for i in range(40):
                uid = (owner, other)[(n + i) % 2].pk
                if photos_of(uid) != expected[uid]:
                    failures.append(f"thread {n}: wrong rows for {uid}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_values_that_cannot_teach_the_shape_wait_for_one_that_can(
    users: tuple[User, User],
) -> None:
    owner, _ = users
    build = Counted(
        lambda above: (
            Photo.objects.annotate(rank=Cast("id", FloatField()))
            .filter(rank__gt=above)
            .values_list("id", flat=True)
        )
    )
    newer = django_bridge.precompiled(build)
    assert newer(float("inf")) == []  # inf + 0.5 is inf: no way to tell a parameter apart
    assert newer(1e17) == []  # 1e17 + 0.5 is 1e17 as well
    all_ids = sorted(Photo.objects.values_list("id", flat=True))
    assert sorted(newer(0.5)) == all_ids  # this one teaches the shape
    assert sorted(newer(all_ids[-2] + 0.5)) == all_ids[-1:]
    assert newer(float("inf")) == []
    assert build.calls == 1 + 1 + 2  # one build each for the first two, two for 0.5
