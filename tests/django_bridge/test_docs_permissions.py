"""The permissions how-to's example (docs/examples/django_permissions.py) with Django users."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "django_permissions.py"


@pytest.fixture(scope="module")
def atila_app() -> Any:
    """The example's app, for ``atila_client``."""
    spec = importlib.util.spec_from_file_location("docs_example_django_permissions", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def status_of(client: Any, path: str, headers: dict[str, str] | None) -> int:
    return int(client.get(path, headers=headers).status_code)


def test_levels(atila_client: Any, bearer: Any) -> None:
    plain = User.objects.create_user("plain", password="x-pass-1")
    viewer = User.objects.create_user("viewer", password="x-pass-1")
    viewer.user_permissions.add(Permission.objects.get(codename="view_photo"))
    editor = User.objects.create_user("editor", password="x-pass-1")
    editor.groups.add(Group.objects.create(name="editors"))
    staff = User.objects.create_user("staffer", password="x-pass-1", is_staff=True)
    auditor = User.objects.create_user("auditor", password="x-pass-1")
    auditor.groups.add(Group.objects.create(name="auditors"))
    root = User.objects.create_superuser("root", password="x-pass-1")
    expected = {  # path -> status for: nobody, plain, viewer, editor, staff, auditor, root
        "/me": [401, 200, 200, 200, 200, 200, 200],
        "/photos/export": [401, 403, 200, 403, 403, 403, 200],
        "/editorial": [401, 403, 403, 200, 200, 403, 200],
        "/audit": [401, 403, 403, 403, 403, 200, 200],
    }
    users = [None, plain, viewer, editor, staff, auditor, root]
    for path, statuses in expected.items():
        seen = [status_of(atila_client, path, user and bearer(user)) for user in users]
        assert seen == statuses, path


def test_token_login(atila_client: Any) -> None:
    User.objects.create_user("alice", password="alice-pass-1")
    token = atila_client.post("/token", data={"username": "alice", "password": "alice-pass-1"})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    assert atila_client.get("/me", headers=headers).json() == {"username": "alice"}
