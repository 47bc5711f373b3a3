"""The JWT endpoint for Django users: ``POST <pattern>`` with ``username`` and ``password``.

``add_token_route(app, "/token")`` registers a route that takes the two
fields as form or JSON data, checks them with
:func:`django.contrib.auth.authenticate` (Django's authentication backends,
so the same accounts as ``/admin``) and answers ``{"token": "<JWT>"}``,
signed with the app's ``securekey`` (see :mod:`django_bridge.tokens`).
Missing fields are a 400, wrong credentials or an inactive user a 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atila.errors import HTTPError

from .tokens import DEFAULT_LIFETIME, issue_token

__all__ = ["add_token_route"]


def add_token_route(
    app: Any, pattern: str = "/token", lifetime: int = DEFAULT_LIFETIME
) -> Callable[..., Any]:
    """Route ``POST pattern`` of ``app`` to a token issuer; return the handler."""

    def token(was: Any, username: str = "", password: str = "", **extra: Any) -> Any:
        """Issue a JWT for the Django user ``username`` / ``password``."""
        from django.contrib.auth import authenticate

        if not isinstance(username, str) or not isinstance(password, str):
            raise HTTPError(400, "username and password must be strings")
        if not username or not password:
            raise HTTPError(400, "username and password required")
        user = authenticate(username=username, password=password)
        if user is None or not user.is_active:
            raise HTTPError(
                401,
                "invalid username or password",
                headers=[("WWW-Authenticate", 'Bearer realm="api"')],
            )
        return was.API(token=issue_token(user, lifetime, key=was.app.securekey))

    app.route(pattern, methods=["POST"])(token)
    return token
