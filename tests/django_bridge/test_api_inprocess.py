"""The demo's /api/v1 in-process (``atila_client``): tokens, bearer auth, permissions, photos."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import Group, Permission, User
from photos.models import Photo

from django_bridge.tokens import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", "alice@example.com", "alice-pass-1")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", "bob-pass-1")


def auth(user: User, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user, **claims)}"}


# -- POST /token ------------------------------------------------------------------


def test_token_from_form_fields(atila_client: Any, alice: User) -> None:
    response = atila_client.post("/token", data={"username": "alice", "password": "alice-pass-1"})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["token"]
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["uid"] == alice.pk and claims["exp"] > time.time()


def test_token_from_json_body(atila_client: Any, alice: User) -> None:
    response = atila_client.post("/token", json={"username": "alice", "password": "alice-pass-1"})
    assert response.status_code == 200
    token = response.json()["token"]
    me = atila_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"username": "alice", "password": "wrong"}, 401),
        ({"username": "nobody", "password": "alice-pass-1"}, 401),
        ({"username": "alice"}, 400),
        ({}, 400),
    ],
)
def test_token_refused(atila_client: Any, alice: User, fields: dict[str, str], status: int) -> None:
    response = atila_client.post("/token", json=fields)
    assert response.status_code == status
    assert "token" not in response.text


def test_inactive_user_gets_no_token(atila_client: Any, alice: User) -> None:
    alice.is_active = False
    alice.save()
    response = atila_client.post("/token", data={"username": "alice", "password": "alice-pass-1"})
    assert response.status_code == 401


def test_token_route_is_post_only(atila_client: Any) -> None:
    response = atila_client.get("/token")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


# -- bearer tokens ---------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_missing_token_is_401(atila_client: Any) -> None:
    response = atila_client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_tampered_token_is_401(atila_client: Any, alice: User, bob: User) -> None:
    header, payload, signature = issue_token(alice).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["uid"] = bob.pk
    forged = ".".join([header, _b64(claims), signature])
    response = atila_client.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_alg_none_token_is_401(atila_client: Any, alice: User) -> None:
    unsigned = ".".join(
        [_b64({"alg": "none", "typ": "JWT"}), _b64({"uid": alice.pk, "exp": time.time() + 60}), ""]
    )
    response = atila_client.get("/me", headers={"Authorization": f"Bearer {unsigned}"})
    assert response.status_code == 401


def test_token_signed_with_another_key_is_401(atila_client: Any, alice: User) -> None:
    token = jwt.encode(
        {"uid": alice.pk, "exp": time.time() + 60},
        "another-key-of-more-than-32-bytes-0123456789",
        "HS256",
    )
    response = atila_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_expired_token_is_401(atila_client: Any, alice: User) -> None:
    response = atila_client.get("/me", headers=auth(alice, lifetime=-10))
    assert response.status_code == 401


def test_token_of_removed_or_inactive_user_is_401(atila_client: Any, alice: User) -> None:
    headers = auth(alice)
    alice.is_active = False
    alice.save()
    assert atila_client.get("/me", headers=headers).status_code == 401
    alice.delete()
    assert atila_client.get("/me", headers=headers).status_code == 401


def test_token_without_expiry_is_401(atila_client: Any, alice: User) -> None:
    from django.conf import settings

    token = jwt.encode({"uid": alice.pk}, settings.SECRET_KEY, "HS256")
    assert atila_client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_me_reports_groups(atila_client: Any, alice: User) -> None:
    alice.groups.add(Group.objects.create(name="editors"))
    body = atila_client.get("/me", headers=auth(alice)).json()
    assert body == {
        "id": alice.pk, "username": "alice", "is_staff": False, "is_superuser": False,
        "groups": ["editors"],
    }  # fmt: skip


# -- photos and permissions ------------------------------------------------------


def test_own_photos_add_list_delete(atila_client: Any, alice: User) -> None:
    headers = auth(alice)
    created = atila_client.post(
        "/me/photos", data={"title": "Sunset", "image_url": "https://example.com/s.jpg"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201
    photo = Photo.objects.get(pk=created.json()["id"])
    assert (photo.owner_id, photo.title) == (alice.pk, "Sunset")

    listed = atila_client.get(f"/{alice.pk}/photos", headers=headers)
    assert listed.status_code == 200
    rows = listed.json()["rows"]
    assert [(r["id"], r["uid"], r["title"]) for r in rows] == [(photo.pk, alice.pk, "Sunset")]
    assert atila_client.get("/me/photos", headers=headers).json()["rows"] == rows

    one = atila_client.get(f"/me/photos/{photo.pk}", headers=headers)
    assert one.status_code == 200 and one.json()["title"] == "Sunset"

    deleted = atila_client.delete("/me/photos", headers=headers)
    assert deleted.status_code == 205
    assert deleted.content == b""
    assert not Photo.objects.filter(owner=alice).exists()


@pytest.mark.parametrize(
    "fields",
    [{}, {"title": "  "}, {"title": "x", "image_url": "javascript:alert(1)"}],
)
def test_bad_photo_is_400(atila_client: Any, alice: User, fields: dict[str, str]) -> None:
    response = atila_client.post("/me/photos", data=fields, headers=auth(alice))
    assert response.status_code == 400
    assert not Photo.objects.exists()


def test_other_users_photos_need_django_permissions(
    atila_client: Any, alice: User, bob: User
) -> None:
    Photo.objects.create(owner=bob, title="Bob's")
    headers = auth(alice)
    assert atila_client.get(f"/{bob.pk}/photos", headers=headers).status_code == 403
    assert (
        atila_client.post(f"/{bob.pk}/photos", data={"title": "x"}, headers=headers).status_code
        == 403
    )
    assert atila_client.delete(f"/{bob.pk}/photos", headers=headers).status_code == 403

    alice.user_permissions.add(Permission.objects.get(codename="view_photo"))
    alice = User.objects.get(pk=alice.pk)  # fresh permission cache
    listed = atila_client.get(f"/{bob.pk}/photos", headers=headers)
    assert listed.status_code == 200
    assert [r["title"] for r in listed.json()["rows"]] == ["Bob's"]
    assert atila_client.delete(f"/{bob.pk}/photos", headers=headers).status_code == 403
    assert Photo.objects.filter(owner=bob).count() == 1


def test_group_permission_counts(atila_client: Any, alice: User, bob: User) -> None:
    moderators = Group.objects.create(name="moderators")
    moderators.permissions.add(Permission.objects.get(codename="delete_photo"))
    alice.groups.add(moderators)
    Photo.objects.create(owner=bob, title="spam")
    response = atila_client.delete(f"/{bob.pk}/photos", headers=auth(alice))
    assert response.status_code == 205
    assert not Photo.objects.filter(owner=bob).exists()


def test_superuser_may_add_for_others(atila_client: Any, alice: User) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "root-pass-1")
    response = atila_client.post(f"/{alice.pk}/photos", data={"title": "gift"}, headers=auth(root))
    assert response.status_code == 201
    assert Photo.objects.get().owner_id == alice.pk
    missing = atila_client.post("/999999/photos", data={"title": "x"}, headers=auth(root))
    assert missing.status_code == 404


@pytest.mark.parametrize("method", ["post", "delete"])
def test_notme_only_with_get(atila_client: Any, alice: User, method: str) -> None:
    response = getattr(atila_client, method)("/notme/photos", headers=auth(alice))
    assert response.status_code == 421


def test_notme_lists_the_others_for_staff(atila_client: Any, alice: User, bob: User) -> None:
    Photo.objects.create(owner=alice, title="mine")
    Photo.objects.create(owner=bob, title="theirs")
    assert atila_client.get("/notme/photos", headers=auth(alice)).status_code == 403
    alice.user_permissions.add(Permission.objects.get(codename="view_photo"))
    rows = atila_client.get("/notme/photos", headers=auth(alice)).json()["rows"]
    assert [r["title"] for r in rows] == ["theirs"]


def test_photos_without_login_is_401(atila_client: Any, alice: User) -> None:
    assert atila_client.get(f"/{alice.pk}/photos").status_code == 401
    assert atila_client.post("/me/photos", data={"title": "x"}).status_code == 401
