"""Login and permission helpers (spec "Login and Permission Helper", "Conditional
Permission Control", "Pre-Defined Parameter Values", "Testpassing", CSRF decorator).

:class:`SecurityDecorators` gives :class:`atila.Atila` its handler
registrations (``@app.login_handler``, ``@app.permission_check_handler``,
``@app.staff_member_check_handler``, ``@app.authorization_handler``,
``@app.bearer_handler``) and route decorators (``@app.login_required``,
``@app.permission_required``, ``@app.staff_member_required``,
``@app.testpass_required``, ``@app.clarify_permission``,
``@app.clarify_login``, ``@app.authorization_required``,
``@app.csrf_verification_required``).

The decorators attach *guards* to the handler's endpoint.  Guards run before
the parameter checks and the handler, in a fixed order whatever the
decorator order: login, staff, permission, testpass, CSRF.  A guard answers
by returning content (a login page, a response) or raising an HTTP error.

``permission_required(perms=None, **rules)``: ``rules`` keyed by a URL
parameter (``uid=["staff"]``) apply when that parameter is given and is not
``me``; keyed by an HTTP method (``DELETE=["admin"]``) they apply to that
method and take precedence.  ``notme`` is allowed with GET only: DELETE,
POST, PATCH and PUT with a ``notme`` parameter answer ``421``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atila.errors import HTTPError

__all__ = ["GUARD_ORDER", "SecurityDecorators", "check_permissions"]

Handler = Callable[..., Any]
Guard = Callable[[Any], Any]

#: Guards run in this order, whatever the order of the decorators.
GUARD_ORDER = ("clarify", "login", "staff", "permission", "testpass", "csrf")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NOTME_REFUSED = frozenset({"DELETE", "POST", "PATCH", "PUT"})


def _needs(handler: Handler | None, what: str) -> Handler:
    if handler is None:
        raise RuntimeError(f"{what} is used but no @app.{what} is registered")
    return handler


def check_permissions(
    was: Any, handler: Handler, perms: list[str], params: dict[str, list[str]],
    methods: dict[str, list[str]],
) -> Any:  # fmt: skip
    """Apply a ``permission_required`` rule set to the request; content answers."""
    request = was.request
    given = request.PARAMS
    for name in params:
        if given.get(name) == "notme" and request.method in NOTME_REFUSED:
            raise HTTPError(421, f"'notme' is not allowed with {request.method}")
    if request.method in methods:
        checks = [methods[request.method]]
    else:
        checks = [
            rules for name, rules in params.items() if given.get(name) not in (None, "", "me")
        ] or [perms]
    for required in checks:
        content = handler(was, list(required))
        if content is not None:
            return content
    return None


class SecurityDecorators:
    """Security registrations and decorators of :class:`atila.Atila`."""

    security: Any

    def _check_setup(self, what: str) -> None:  # pragma: no cover - Atila defines it
        raise NotImplementedError

    def _endpoint(self, func: Handler) -> Any:  # pragma: no cover - Atila defines it
        raise NotImplementedError

    def _add_guard(self, func: Handler, kind: str, guard: Guard) -> Handler:
        self._check_setup("add a permission check")
        guards: list[tuple[int, Guard]] = self._endpoint(func).guards
        guards.append((GUARD_ORDER.index(kind), guard))
        guards.sort(key=lambda item: item[0])
        return func

    # -- handlers ---------------------------------------------------------------

    def login_handler(self, func: Handler) -> Handler:
        """Register ``func(was)``: None when logged in, else content (a login page ...)."""
        self.security.login_handler = func
        return func

    def permission_check_handler(self, func: Handler) -> Handler:
        """Register ``func(was, perms)``: None when permitted; raise 403 or return content."""
        self.security.permission_check_handler = func
        return func

    def staff_member_check_handler(self, func: Handler) -> Handler:
        """Register ``func(was)``: None for a staff member; raise 403 or return content."""
        self.security.staff_member_check_handler = func
        return func

    def authorization_handler(self, func: Handler) -> Handler:
        """Register ``func(was, username)`` returning the password (see :mod:`atila.auth`)."""
        self.security.authorization_handler = func
        return func

    def bearer_handler(self, func: Handler) -> Handler:
        """Register ``func(was, token)``: None when valid, else an error message (401)."""
        self.security.bearer_handler = func
        return func

    # -- route decorators ----------------------------------------------------------

    def authorization_required(self, method: str = "digest") -> Callable[[Handler], Handler]:
        """Require HTTP authentication ``basic``, ``digest`` or ``bearer`` for the handler."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("require authorization")
            self.security.route_methods[func] = method
            return func

        return decorator

    def login_required(self, func: Handler) -> Handler:
        """Call the login handler first; its content answers instead of the handler."""
        security = self.security
        return self._add_guard(
            func, "login", lambda was: _needs(security.login_handler, "login_handler")(was)
        )

    def staff_member_required(self, func: Handler) -> Handler:
        """Call the staff member check handler first."""
        security = self.security

        def guard(was: Any) -> Any:
            return _needs(security.staff_member_check_handler, "staff_member_check_handler")(was)

        return self._add_guard(func, "staff", guard)

    def permission_required(
        self, perms: list[str] | None = None, **rules: list[str]
    ) -> Callable[[Handler], Handler]:
        """Call the permission check handler with the permissions this request needs."""
        base = list(perms or [])
        methods = {k: list(v) for k, v in rules.items() if k in HTTP_METHODS}
        params = {k: list(v) for k, v in rules.items() if k not in HTTP_METHODS}
        security = self.security

        def guard(was: Any) -> Any:
            handler = _needs(security.permission_check_handler, "permission_check_handler")
            return check_permissions(was, handler, base, params, methods)

        return lambda func: self._add_guard(func, "permission", guard)

    def testpass_required(self, test: Handler) -> Callable[[Handler], Handler]:
        """Call ``test(was)``: True/None continue, False answers 403, content answers."""

        def guard(was: Any) -> Any:
            result = test(was)
            if result is None or result is True:
                return None
            if result is False:
                raise HTTPError(403, "permission denied")
            return result

        return lambda func: self._add_guard(func, "testpass", guard)

    def clarify_permission(self, func: Handler) -> Handler:
        """Run the permission check handler, ignoring its errors and content."""
        security = self.security

        def guard(was: Any) -> None:
            handler = _needs(security.permission_check_handler, "permission_check_handler")
            try:
                handler(was, [])
            except HTTPError:
                pass

        return self._add_guard(func, "clarify", guard)

    def clarify_login(self, func: Handler) -> Handler:
        """Run the login handler, ignoring its errors and content."""
        security = self.security

        def guard(was: Any) -> None:
            try:
                _needs(security.login_handler, "login_handler")(was)
            except HTTPError:
                pass

        return self._add_guard(func, "clarify", guard)

    def csrf_verification_required(self, func: Handler) -> Handler:
        """Answer 400 unless the request carries this browser's CSRF token."""

        def guard(was: Any) -> None:
            if not was.verify_csrf():
                raise HTTPError(400, "CSRF token missing or invalid")

        return self._add_guard(func, "csrf", guard)
