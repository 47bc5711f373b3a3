"""django_bridge.users: Django's session and users, permissions and groups in an Atila app."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client as DjangoClient

import atila
import django_bridge
from skitai.testing import Client

pytestmark = pytest.mark.django_db


def make_app() -> atila.Atila:
    """A small app with the spec's decorators over Django users."""
    app = atila.Atila(__name__)
    django_bridge.install(app)

    @app.route("/whoami")
    def whoami(was: Any) -> Any:
        user = was.request.user
        return was.API(user=user.get_username() if user is not None else None)

    @app.route("/login-only")
    @app.login_required
    def login_only(was: Any) -> str:
        return "in"

    @app.route("/staff-only")
    @app.staff_member_required
    def staff_only(was: Any) -> str:
        return "staff"

    @app.route("/editors")
    @app.permission_required(["editors", "photos.change_photo"])
    def editors(was: Any) -> str:
        return "edit"

    @app.route("/bearer")
    @app.authorization_required("bearer")
    def bearer_only(was: Any) -> Any:
        return was.API(user=was.request.user.get_username(), uid=was.request.JWT["uid"])

    return app


@pytest.fixture
def app_client(atila_client: Any) -> Client:
    """An in-process client of :func:`make_app` (with ``atila_client``'s signal handling)."""
    return Client(make_app())


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", "alice@example.com", "alice-pass-1")


def session_cookie(user: User) -> dict[str, str]:
    """The Cookie header of a Django session where ``user`` logged in."""
    django_client = DjangoClient()
    django_client.force_login(user)
    return {"Cookie": f"sessionid={django_client.cookies['sessionid'].value}"}


def test_user_from_django_session_cookie(app_client: Client, alice: User) -> None:
    assert app_client.get("/whoami").json() == {"user": None}
    headers = session_cookie(alice)
    assert app_client.get("/whoami", headers=headers).json() == {"user": "alice"}
    assert app_client.get("/login-only", headers=headers).text == "in"


def test_logged_out_or_forged_session_is_anonymous(app_client: Client, alice: User) -> None:
    django_client = DjangoClient()
    django_client.force_login(alice)
    key = django_client.cookies["sessionid"].value
    assert (
        app_client.get("/whoami", headers={"Cookie": f"sessionid={key}"}).json()["user"] == "alice"
    )
    django_client.logout()
    assert app_client.get("/whoami", headers={"Cookie": f"sessionid={key}"}).json()["user"] is None
    forged = {"Cookie": "sessionid=" + "x" * 32}
    assert app_client.get("/whoami", headers=forged).json()["user"] is None


def test_password_change_ends_the_session(app_client: Client, alice: User) -> None:
    headers = session_cookie(alice)
    alice.set_password("a-new-password-2")
    alice.save()
    assert app_client.get("/whoami", headers=headers).json()["user"] is None


def test_login_required_answers_401(app_client: Client) -> None:
    response = app_client.get("/login-only")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_login_url_redirects_instead() -> None:
    app = atila.Atila(__name__)
    django_bridge.install(app, login_url="/admin/login/")

    @app.route("/private")
    @app.login_required
    def private(was: Any) -> str:
        return "private"

    response = Client(app).get("/private?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login/?next=/private%3Fx%3D1"


def test_staff_member_required_uses_is_staff(app_client: Client, alice: User) -> None:
    headers = session_cookie(alice)
    assert app_client.get("/staff-only").status_code == 401
    assert app_client.get("/staff-only", headers=headers).status_code == 403
    alice.is_staff = True
    alice.save()
    assert app_client.get("/staff-only", headers=headers).text == "staff"


def test_permission_required_with_groups_and_permissions(app_client: Client, alice: User) -> None:
    headers = session_cookie(alice)
    assert app_client.get("/editors", headers=headers).status_code == 403
    alice.groups.add(Group.objects.create(name="editors"))
    assert app_client.get("/editors", headers=headers).text == "edit"
    bob = User.objects.create_user("bob", "bob@example.com", "bob-pass-1")
    bob.user_permissions.add(Permission.objects.get(codename="change_photo"))
    assert app_client.get("/editors", headers=session_cookie(bob)).text == "edit"


def test_authorization_required_bearer_gives_the_django_user(
    app_client: Client, alice: User, bearer: Any
) -> None:
    response = app_client.get("/bearer", headers=bearer(alice))
    assert response.status_code == 200
    assert response.json() == {"user": "alice", "uid": alice.pk}
    assert app_client.get("/bearer").status_code == 401
    assert app_client.get("/bearer", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_has_levels(alice: User) -> None:
    assert django_bridge.has_levels(alice, [])
    assert not django_bridge.has_levels(alice, ["staff"])
    assert not django_bridge.has_levels(None, [])
    alice.groups.add(Group.objects.create(name="ops"))
    assert django_bridge.has_levels(alice, ["staff", "ops"])
    root = User.objects.create_superuser("root", "root@example.com", "root-pass-1")
    assert django_bridge.has_levels(root, ["anything", "photos.delete_photo"])
    alice.is_active = False
    assert not django_bridge.has_levels(alice, [])


def test_install_keeps_handlers_the_app_registered() -> None:
    app = atila.Atila(__name__)

    @app.permission_check_handler
    def mine(was: Any, perms: list[str]) -> None:
        return None

    django_bridge.install(app)
    assert app.security.permission_check_handler is mine
    assert app.security.login_handler is not None


def test_user_from_token_loads_the_active_user(alice: User) -> None:
    """The precompiled user query gives what ``User.objects.get`` gives, or None."""
    user = django_bridge.user_from_token({"uid": alice.pk, "exp": 1})
    assert isinstance(user, User)
    assert (user.pk, user.username, user.date_joined) == (alice.pk, "alice", alice.date_joined)
    assert user._state.adding is False and user._state.db == "default"
    assert django_bridge.user_from_token({"uid": str(alice.pk), "exp": 1}).pk == alice.pk
    for uid in (alice.pk + 1000, "abc", None, [alice.pk], {"x": 1}):
        assert django_bridge.user_from_token({"uid": uid, "exp": 1}) is None, uid
    assert django_bridge.user_from_token({"uid": alice.pk}) is None  # no exp
    alice.is_active = False
    alice.save()
    assert django_bridge.user_from_token({"uid": alice.pk, "exp": 1}) is None


def test_a_user_model_without_is_active_takes_every_user_as_active(alice: User) -> None:
    """A custom user model may have no ``is_active`` field (Django then takes users as active)."""
    from photos.models import Photo

    from django_bridge.users import _active_user_query

    photo = Photo.objects.create(owner=alice, title="stands in for a user model")
    assert _active_user_query(Photo)(photo.pk) == [photo]
    assert _active_user_query(Photo)(photo.pk + 1) == []
