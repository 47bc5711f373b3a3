"""The photos API (``/api/v1``) in-process, on pytest-django's test database.

``atila_client`` calls the app named by ``atila_app`` in ``pytest.ini`` inside the
test's transaction; ``bearer(user)`` is the ``Authorization`` header of a fresh JWT.
"""

from typing import Any

import pytest
from django.contrib.auth.models import User
from photos.models import Photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="alice-pass-1")


def test_login_gives_a_token_that_names_the_user(atila_client: Any, alice: User) -> None:
    response = atila_client.post("/token", data={"username": "alice", "password": "alice-pass-1"})
    assert response.status_code == 200
    token = response.json()["token"]
    me = atila_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "alice"


def test_no_token_is_401(atila_client: Any) -> None:
    assert atila_client.get("/me/photos").status_code == 401


def test_add_and_list_my_photos(atila_client: Any, bearer: Any, alice: User) -> None:
    created = atila_client.post("/me/photos", data={"title": "Sunset"}, headers=bearer(alice))
    assert created.status_code == 201
    assert Photo.objects.get(pk=created.json()["id"]).owner == alice
    listed = atila_client.get("/me/photos", headers=bearer(alice))
    assert [row["title"] for row in listed.json()["rows"]] == ["Sunset"]


def test_other_users_photos_need_a_permission(atila_client: Any, bearer: Any, alice: User) -> None:
    bob = User.objects.create_user("bob", password="bob-pass-1")
    response = atila_client.get(f"/{bob.pk}/photos", headers=bearer(alice))
    assert response.status_code == 403
