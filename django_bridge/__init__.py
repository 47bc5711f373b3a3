"""Glue between Django and the Skitai engine / Atila framework.

Django admin and Atila APIs on one server, one process model and one
database (spec "Working With Django")::

    import django_bridge
    django_bridge.setup("demo/settings.py")   # sys.path, DJANGO_SETTINGS_MODULE, django.setup()

    app = atila.Atila(__name__)
    django_bridge.install(app)                # was.request.user from Django's session or a JWT
    django_bridge.add_token_route(app, "/token")
    django_bridge.alias("@django")            # was.db("@django").execute(queryset)

    @app.route("/me")
    @app.permission_required()                # 401 without a Django user
    def me(was):
        return was.API(username=was.request.user.username)

Add ``"django_bridge"`` to ``INSTALLED_APPS`` for ``manage.py runskitai``;
``django_bridge.pytest_plugin`` holds the pytest fixtures.  Importing this
package has no side effects and does not import Django.
"""

from .aliases import alias, sync_aliases
from .mount import asgi_application, wsgi_application
from .precompiled import BoundQuery, PrecompiledQuery, precompiled
from .project import locate_settings, setup
from .queryset import compile_queryset, instances, values_of
from .token_route import add_token_route
from .tokens import decode_token, issue_token
from .users import (
    DjangoUsers,
    bearer_handler,
    check_permission,
    has_levels,
    install,
    requires,
    user_from_session,
    user_from_token,
)

__all__ = [
    "asgi_application",
    "BoundQuery",
    "DjangoUsers",
    "PrecompiledQuery",
    "add_token_route",
    "alias",
    "compile_queryset",
    "instances",
    "sync_aliases",
    "bearer_handler",
    "check_permission",
    "decode_token",
    "has_levels",
    "install",
    "issue_token",
    "locate_settings",
    "precompiled",
    "requires",
    "setup",
    "user_from_session",
    "user_from_token",
    "values_of",
    "wsgi_application",
]
