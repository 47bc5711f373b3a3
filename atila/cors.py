"""CORS headers and preflight answers (spec "CORS (Cross Origin Resource Sharing) and Preflight").

The app-level policy comes from ``app.access_control_allow_origin`` (a list of
origins, ``["*"]`` or ``"*"``) and ``app.access_control_max_age``; a route
overrides them with the same names as ``@app.route`` options.

* A listed origin may omit the scheme (``"127.0.0.1:5000"``, as in the spec's
  VueJS example): it allows that host and port over ``http`` and ``https``.
* A request with an ``Origin`` header from an allowed origin gets
  ``Access-Control-Allow-Origin`` (``*`` when any origin is allowed; the origin
  itself, with ``Vary: Origin`` and ``Access-Control-Allow-Credentials: true``,
  when it is listed).
* A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
  is answered by Atila without calling the handler: ``204`` with the allowed
  methods and the requested headers, or ``403`` for an origin not allowed.
* Any other ``OPTIONS`` request to a route is answered ``204`` with ``Allow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CORSPolicy", "options_response", "policy_for"]

Headers = list[tuple[str, str]]


def _origins(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class CORSPolicy:
    """Which origins may call a route, and how long browsers may cache a preflight."""

    allow_origin: tuple[str, ...] = ()
    max_age: int = 0

    @property
    def any_origin(self) -> bool:
        """True when every origin is allowed (``"*"``)."""
        return "*" in self.allow_origin

    def allows(self, origin: str) -> bool:
        """True when ``origin`` may call the route.

        A listed origin without a scheme (the spec's ``["127.0.0.1:5000"]``) stands
        for that host and port over ``http`` and ``https``.
        """
        if self.any_origin or origin in self.allow_origin:
            return True
        scheme, sep, hostport = origin.partition("://")
        return bool(sep) and scheme in ("http", "https") and hostport in self.allow_origin

    def response_headers(self, origin: str | None) -> Headers:
        """Headers for an actual (non-preflight) response to ``origin``."""
        if not origin or not self.allows(origin):
            return []
        if self.any_origin:
            return [("Access-Control-Allow-Origin", "*")]
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin"),
        ]

    def preflight(
        self, origin: str, request_headers: str | None, methods: Iterable[str]
    ) -> tuple[str, Headers]:
        """Status and headers answering a preflight from ``origin``."""
        if not self.allows(origin):
            return "403 Forbidden", [("Vary", "Origin")]
        headers = self.response_headers(origin)
        headers.append(("Access-Control-Allow-Methods", ", ".join(methods)))
        if request_headers:
            headers.append(("Access-Control-Allow-Headers", request_headers))
        if self.max_age:
            headers.append(("Access-Control-Max-Age", str(int(self.max_age))))
        return "204 No Content", headers


def policy_for(app: Any, route_options: Mapping[str, Any]) -> CORSPolicy:
    """The policy of a route: its own options, else the app's attributes."""
    origin = route_options.get("access_control_allow_origin", app.access_control_allow_origin)
    max_age = route_options.get("access_control_max_age", app.access_control_max_age)
    return CORSPolicy(_origins(origin), int(max_age or 0))


def options_response(
    policy: CORSPolicy, headers: Mapping[str, str], methods: list[str]
) -> tuple[str, Headers]:
    """Answer an ``OPTIONS`` request (``headers`` are the request's, case-insensitive)."""
    origin = headers.get("origin")
    if origin and headers.get("access-control-request-method"):
        status, response_headers = policy.preflight(
            origin, headers.get("access-control-request-headers"), methods
        )
    else:
        status, response_headers = "204 No Content", policy.response_headers(origin)
    response_headers.append(("Allow", ", ".join(methods)))
    return status, response_headers
