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
from atila.openapi import operation

from .tokens import DEFAULT_LIFETIME, issue_token

_CREDENTIALS = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "minLength": 1},
        "password": {"type": "string", "minLength": 1},
    },
}
#: what the token route's operation says in the app's OpenAPI document (atila.openapi)
TOKEN_OPERATION: dict[str, Any] = {
    "summary": "Issue a JWT for a Django user",
    "description": (
        "Send it as `Authorization: Bearer <token>` to the routes that require a login "
        "(the document's `bearerAuth`)."
    ),
    "tags": ["auth"],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _CREDENTIALS},
            "application/x-www-form-urlencoded": {"schema": _CREDENTIALS},
        },
    },
    "responses": {
        "200": {
            "description": "The token",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {"token": {"type": "string"}},
                    }
                }
            },
        },
        "401": {
            "description": "Wrong credentials or an inactive user",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
}

__all__ = ["TOKEN_OPERATION", "add_token_route"]


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

    app.route(pattern, methods=["POST"])(operation(**TOKEN_OPERATION)(token))
    return token
