"""Django users in Atila: one login for ``/admin`` and the Atila routes.

:func:`install` gives an Atila app Django's request cycle and users:

* each request sends Django's ``request_started``/``request_finished``
  signals, so database connections are handled as in Django's own request
  cycle (``CONN_MAX_AGE``, broken connections closed);
* ``was.request.user`` is the Django user of the request, or ``None``:
  from an ``Authorization: Bearer <JWT>`` header when there is one (checked
  by ``was.request.JWT``: HS256 under ``app.securekey``, which becomes
  Django's ``SECRET_KEY`` when unset; the token must carry ``uid`` and
  ``exp``), else from Django's session cookie, checked by Django itself
  (:func:`django.contrib.auth.get_user`: the session must exist and not be
  expired, and its password hash must still match the user's);
* the app's security handlers, unless it registered its own: a
  ``bearer_handler`` for ``@app.authorization_required("bearer")``, a
  ``login_handler`` (401, or a redirect to ``login_url``), a
  ``permission_check_handler`` and a ``staff_member_check_handler`` over
  Django's permissions and groups, so ``@app.login_required``,
  ``@app.permission_required([...])`` and ``@app.staff_member_required``
  work with Django users;
* the QuerySet statement adapter (:mod:`django_bridge.queryset`; also found
  through the engine's entry points without ``install``).

A permission "level" (:func:`has_levels`) is ``"staff"``, ``"superuser"``,
a group name or a Django permission (``"photos.add_photo"``); a superuser
holds them all.  :func:`check_permission` has the signature of the spec's
``permission_check_handler (was, perms)``; :func:`requires` makes a
``@app.run_before`` function from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any
from urllib.parse import quote

from atila.errors import HTTPError
from atila.security import AppSecurity

from .precompiled import PrecompiledQuery, precompiled
from .project import setup
from .queryset import enable as enable_querysets

__all__ = [
    "DjangoUsers",
    "bearer_handler",
    "check_permission",
    "has_levels",
    "install",
    "requires",
    "user_from_session",
    "user_from_token",
]


class _SessionHolder:
    """The one attribute of an ``HttpRequest`` :func:`django.contrib.auth.get_user` reads."""

    __slots__ = ("session",)

    def __init__(self, session: Any) -> None:
        self.session = session


def user_from_session(session_key: str | None) -> Any:
    """The active Django user of session ``session_key``, or ``None``."""
    if not session_key:
        return None
    from django.conf import settings
    from django.contrib.auth import get_user

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(_SessionHolder(store))
    return user if user.is_authenticated and user.is_active else None


_ACTIVE_USER_QUERIES: dict[Any, PrecompiledQuery[[Any]]] = {}


def _active_user_query(model: Any) -> PrecompiledQuery[[Any]]:
    """The user of a primary key, if active: precompiled, since every API request runs it."""
    query = _ACTIVE_USER_QUERIES.get(model)
    if query is None:
        manager = model._default_manager
        if any(field.name == "is_active" for field in model._meta.concrete_fields):
            query = precompiled(lambda pk: manager.filter(pk=pk, is_active=True)[:2])
        else:  # a custom user model without the flag: every user is active
            query = precompiled(lambda pk: manager.filter(pk=pk)[:2])
        _ACTIVE_USER_QUERIES[model] = query
    return query


def user_from_token(claims: dict[str, Any]) -> Any:
    """The active Django user of verified JWT ``claims`` (``uid`` and ``exp`` required)."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    if "err" in claims or "exp" not in claims or "uid" not in claims:
        return None
    try:
        found = _active_user_query(get_user_model())(claims["uid"])
    except (ValueError, TypeError, ValidationError):  # a uid that is no primary key
        return None
    return found[0] if len(found) == 1 else None


def bearer_handler(was: Any, token: str) -> str | None:
    """``@app.bearer_handler``: the JWT must name an active Django user (else the 401 reason)."""
    claims = was.request.JWT
    if "err" in claims:
        return str(claims["err"])
    user = user_from_token(claims)
    if user is None:
        return "no active user for this token"
    was.request.user = user
    return None


class DjangoUsers:
    """The per-request hooks and security handlers :func:`install` registers on an app."""

    def __init__(self, login_url: str | None = None) -> None:
        from django.conf import settings

        self.cookie_name: str = settings.SESSION_COOKIE_NAME
        self.login_url = login_url

    def begin(self, was: Any) -> None:
        """``before_request``: Django's ``request_started``, then ``was.request.user``."""
        from django.core import signals

        request = was.request
        signals.request_started.send(sender=type(self), environ=request.env)
        if request.user is not None:  # authenticated by @app.authorization_required
            return
        if request.get_header("authorization"):
            request.user = user_from_token(request.JWT)
            return
        request.user = user_from_session(request.cookie.get(self.cookie_name))

    def end(self, was: Any) -> None:
        """``teardown_request``: Django's ``request_finished`` (closes old connections)."""
        from django.core import signals

        signals.request_finished.send(sender=type(self))

    def login(self, was: Any) -> Any:
        """``login_handler``: None for a user; else a redirect to ``login_url`` or a 401."""
        if was.request.user is not None:
            return None
        if self.login_url:
            return was.redirect(f"{self.login_url}?next={quote(was.request.uri)}")
        raise _unauthorized(was)

    def staff(self, was: Any) -> None:
        """``staff_member_check_handler``: 401 without a user, 403 for a non-staff user."""
        check_permission(was, ["staff"])


def install(app: Any, settings: str | None = None, login_url: str | None = None) -> DjangoUsers:
    """Give Atila ``app`` Django's request cycle and users (see the module docstring).

    ``settings`` (``"pkg.settings"`` or a path) is handed to
    :func:`django_bridge.setup` first.  ``login_url`` (e.g.
    ``"/admin/login/"``) makes ``@app.login_required`` redirect there
    instead of answering 401.  Call it once, before the app serves.
    """
    django_settings = setup(settings)
    enable_querysets()
    users = DjangoUsers(login_url)
    app.before_request(users.begin)
    app.teardown_request(users.end)
    # those hooks use the ORM, which Django refuses on an event loop (atila.onloop)
    app.config.LOOP_DISPATCH = False
    if not app.securekey:
        app.securekey = django_settings.SECRET_KEY
    security = app.security
    if security.bearer_handler is AppSecurity.bearer_handler:
        app.bearer_handler(bearer_handler)
    if security.login_handler is None:
        app.login_handler(users.login)
    if security.permission_check_handler is None:
        app.permission_check_handler(check_permission)
    if security.staff_member_check_handler is None:
        app.staff_member_check_handler(users.staff)
    return users


def has_levels(user: Any, levels: Iterable[str]) -> bool:
    """True when active ``user`` holds any of ``levels`` (see the module docstring).

    A superuser holds every level; an empty ``levels`` is held by any user.
    """
    if user is None or not getattr(user, "is_active", False):
        return False
    wanted = list(levels)
    if not wanted or user.is_superuser:
        return True
    groups: set[str] | None = None
    for level in wanted:
        if level == "staff" and user.is_staff:
            return True
        if "." in level and user.has_perm(level):
            return True
        if groups is None:
            groups = set(user.groups.values_list("name", flat=True))
        if level in groups:
            return True
    return False


def _unauthorized(was: Any) -> HTTPError:
    challenge = 'Bearer realm="api"'
    if was.request.get_header("authorization"):
        challenge += ', error="invalid_token"'
    return HTTPError(401, "authorization required", headers=[("WWW-Authenticate", challenge)])


def check_permission(was: Any, perms: Iterable[str] | None = None) -> None:
    """The spec's ``permission_check_handler (was, perms)`` over Django users.

    No user: 401 (with a ``WWW-Authenticate: Bearer`` challenge); a user
    without any of ``perms``: 403; otherwise None (permitted).
    """
    user = was.request.user
    if user is None:
        raise _unauthorized(was)
    if not has_levels(user, perms or ()):
        raise HTTPError(403, "permission denied")


def requires(*perms: str) -> Callable[[Any], None]:
    """A ``@app.run_before`` function: a logged-in user holding any of ``perms``.

    ``@app.run_before(django_bridge.requires())`` needs only a login.
    """

    def require(was: Any) -> None:
        check_permission(was, perms)

    require.__name__ = f"requires({', '.join(perms)})"
    return require
