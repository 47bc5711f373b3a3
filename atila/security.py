"""Per-app and per-request security state, and the ``was`` attributes over it.

* :class:`AppSecurity` (``app.security``): the registered handlers
  (``login_handler``, ``permission_check_handler``, ``bearer_handler`` ...),
  the routes' authentication methods, digest nonces, one-time token
  revocations and accepted OTPs.  Replay checks (digest ``nc``, revoked
  tokens, used OTPs) use the server's cross-worker replay set
  (``environ["skitai.replay"]``, see :func:`replay_set`) when there is one,
  else the per-process stores of these objects.
* :class:`RequestSecurity` (``was.request.security``): the request's
  cookies, session, message box, CSRF secret, JWT claims and user; it makes
  the response's ``Set-Cookie`` headers.
* :class:`WasSecurity`: the spec's ``was`` names (``was.session``,
  ``was.csrf_token``, ``was.encode_jwt`` ...), mixed into :class:`atila.was.Was`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atila import auth, tokens
from atila.cookieboxes import BoxContext
from atila.cookies import parse_cookies
from atila.csrf import CSRF_FIELD, CSRF_HEADER, CsrfCookie
from atila.mbox import MessageBox
from atila.otp import OTPVerifier
from atila.sealing import derive_key
from atila.sessions import DEFAULT_SESSION_TIMEOUT, SessionBox
from skitai.replay import REPLAY_ENVIRON_KEY, LocalReplaySet

if TYPE_CHECKING:
    from atila.request import Request
    from skitai.types import ReplaySet

__all__ = ["AppSecurity", "RequestSecurity", "WasSecurity", "authenticate_route", "replay_set"]

Handler = Callable[..., Any]
_MISSING: Any = object()


def _default_bearer_handler(was: Any, token: str) -> str | None:
    """The default ``@app.bearer_handler``: the token must be a valid JWT."""
    claims = was.request.JWT
    if "err" in claims:
        return str(claims["err"])
    name = claims.get("username", claims.get("uid", claims.get("sub")))
    if name is not None:
        was.request.user = auth.User(str(name), was.app.realm, claims)
    return None


@dataclass
class AppSecurity:
    """Security handlers and state of one app."""

    login_handler: Handler | None = None
    permission_check_handler: Handler | None = None
    staff_member_check_handler: Handler | None = None
    authorization_handler: Handler | None = None
    bearer_handler: Handler = _default_bearer_handler
    #: handler function -> method given to ``@app.authorization_required``
    route_methods: dict[Handler, str] = field(default_factory=dict)
    nonces: auth.DigestNonces = field(default_factory=auth.DigestNonces)
    #: the securekey ``nonces`` is keyed with (None: a random per-process key)
    nonce_source: str | bytes | None = None
    ott: tokens.OneTimeTokens = field(default_factory=tokens.OneTimeTokens)
    otp: OTPVerifier = field(default_factory=OTPVerifier)
    #: sessions ended by ``session.expire()``, without a server's replay set
    ended_sessions: LocalReplaySet = field(default_factory=LocalReplaySet)


def replay_set(environ: dict[str, Any]) -> ReplaySet | None:
    """The server's cross-worker replay set (``environ["skitai.replay"]``), or None
    under a WSGI server without one (the per-process stores are used then)."""
    return environ.get(REPLAY_ENVIRON_KEY)


def _ended_sessions(app: Any, environ: dict[str, Any]) -> Any:
    """Where ``session.expire()`` records a session: the server's replay set (every
    worker, and with a broker every host), else the app's per-process one."""
    seen = replay_set(environ)
    return app.security.ended_sessions if seen is None else seen


def _require_key(app: Any, what: str) -> str | bytes:
    key = app.securekey
    if not key:
        raise RuntimeError(f"app.securekey must be set to use {what}")
    return key  # type: ignore[no-any-return]


class RequestSecurity:
    """The security state of one request (made lazily, piece by piece)."""

    def __init__(self, app: Any, request: Request) -> None:
        self.app = app
        # A weak reference: the request owns this object, and a cycle would leave
        # every request's graph to the cyclic garbage collector.
        self._request = weakref.ref(request)
        self.user: Any = None
        self._cookies: dict[str, str] | None = None
        self._session: SessionBox | None = None
        self._mbox: MessageBox | None = None
        self._csrf: CsrfCookie | None = None
        self._jwt: Any = _MISSING

    @property
    def request(self) -> Request:
        """The request this state belongs to."""
        request = self._request()
        if request is None:
            raise RuntimeError("the request has ended")
        return request

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.request.env.get("HTTP_COOKIE", ""))
        return self._cookies

    def _box_context(self, what: str) -> BoxContext:
        return BoxContext(
            cookies=self.cookies,
            remote_addr=self.request.get_remote_addr(),
            securekey=_require_key(self.app, what),
            session_timeout=int(self.app.session_timeout or DEFAULT_SESSION_TIMEOUT),
            now=time.time,
            revoked=_ended_sessions(self.app, self.request.env),
        )

    @property
    def session(self) -> SessionBox:
        """``was.request.session``."""
        if self._session is None:
            self._session = SessionBox(self._box_context("sessions"))
        return self._session

    @property
    def mbox(self) -> MessageBox:
        """``was.request.mbox``."""
        if self._mbox is None:
            self._mbox = MessageBox(self._box_context("the message box"))
        return self._mbox

    @property
    def csrf(self) -> CsrfCookie:
        """The request's CSRF secret."""
        if self._csrf is None:
            self._csrf = CsrfCookie(self.cookies, _require_key(self.app, "CSRF tokens"))
        return self._csrf

    @property
    def jwt(self) -> dict[str, Any]:
        """``was.request.JWT``: the Bearer token's verified claims, or ``{"err": ...}``."""
        if self._jwt is _MISSING:
            token = tokens.bearer_token(self.request.env.get("HTTP_AUTHORIZATION"))
            if token is None:
                self._jwt = {"err": "no bearer token"}
            elif not self.app.securekey:
                self._jwt = {"err": "app.securekey is not set"}
            else:
                self._jwt = tokens.decode_jwt(token, self.app.securekey)
        return self._jwt  # type: ignore[no-any-return]

    def response_headers(self, status_code: int) -> list[tuple[str, str]]:
        """``Set-Cookie`` headers for what this request changed."""
        headers: list[tuple[str, str]] = []
        success = status_code < 400
        if self._session is not None:
            headers += self._session.set_cookie_headers(success)
        if self._mbox is not None:
            headers += self._mbox.set_cookie_headers(success)
        if self._csrf is not None:
            value = self._csrf.set_cookie()
            if value is not None:
                headers.append(("Set-Cookie", value))
        return headers


def authenticate_route(app: Any, was: Any, route: Any) -> None:
    """Authenticate the request when its route, handler or app asks for it (401 on failure)."""
    security: AppSecurity = app.security
    method = (
        route.options.get("authenticate")
        or security.route_methods.get(route.handler)
        or app.authenticate
    )
    if not method:
        return
    if method is True:
        method = app.authorization or "digest"
    request = was.request
    if app.securekey and security.nonce_source != app.securekey:
        # nonces made by one worker must verify in the others: key them by securekey
        security.nonces = auth.DigestNonces(derive_key(app.securekey, "atila/digest/nonce"))
        security.nonce_source = app.securekey

    def provider(username: str) -> Any:
        if security.authorization_handler is not None:
            return security.authorization_handler(was, username)
        users = app.users
        return users.get(username) if users is not None else None

    user = auth.authenticate(
        str(method),
        request.env.get("HTTP_AUTHORIZATION"),
        realm=app.realm or app.import_name,
        request_method=request.method,
        request_uri=request.uri,
        provider=provider,
        nonces=security.nonces,
        bearer=lambda token: security.bearer_handler(was, token),
        seen=replay_set(request.env),
    )
    if user is not None:
        request.user = user


class WasSecurity:
    """The spec's security names on ``was`` (mixed into :class:`atila.was.Was`)."""

    __slots__ = ()
    app: Any
    request: Any

    @property
    def session(self) -> SessionBox:
        """Alias of ``was.request.session``."""
        return self.request.session  # type: ignore[no-any-return]

    @property
    def mbox(self) -> MessageBox:
        """Alias of ``was.request.mbox``."""
        return self.request.mbox  # type: ignore[no-any-return]

    @property
    def user(self) -> Any:
        """Alias of ``was.request.user``."""
        return self.request.user

    @property
    def csrf_token(self) -> str:
        """The CSRF token for this browser (sets its cookie when needed)."""
        return self.request.security.csrf.token  # type: ignore[no-any-return]

    @property
    def csrf_token_input(self) -> str:
        """A hidden ``<input name="csrf_token">`` for forms."""
        return self.request.security.csrf.input()  # type: ignore[no-any-return]

    def verify_csrf(self) -> bool:
        """True when the request sent back this browser's CSRF token."""
        request = self.request
        given = request.get_header(CSRF_HEADER)
        if given is None:
            given = request.ARGS.get(CSRF_FIELD)
        return request.security.csrf.verify(given)  # type: ignore[no-any-return]

    def remove_csrf(self) -> None:
        """Delete the CSRF cookie (a new token is made on next need)."""
        self.request.security.csrf.remove()

    def encode_jwt(self, claims: dict[str, Any]) -> str:
        """A HS256 JWT of ``claims`` signed with ``app.securekey``."""
        return tokens.encode_jwt(claims, _require_key(self.app, "JWT"))

    def decode_jwt(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``, or ``{"err": "<why>"}``."""
        return tokens.decode_jwt(token, _require_key(self.app, "JWT"))

    def _ott_session(self) -> Any:
        return self.request.session if self.app.securekey else None

    def encode_ott(self, data: Any, timeout: float = 3600, session_key: str | None = None) -> str:
        """A one-time token carrying ``data`` for ``timeout`` seconds.

        With ``session_key`` the token is also kept in the session under that
        key, and :meth:`revoke_ott` (or losing the session) ends it.
        """
        key = _require_key(self.app, "one-time tokens")
        session = self.request.session if session_key else None
        return self.app.security.ott.encode(key, data, timeout, session, session_key)  # type: ignore[no-any-return]

    def decode_ott(self, token: str) -> Any:
        """The data of a valid one-time token, else None."""
        key = _require_key(self.app, "one-time tokens")
        seen = replay_set(self.request.env)
        return self.app.security.ott.decode(key, token, self._ott_session(), seen)

    def revoke_ott(self, token: str) -> None:
        """Make ``token`` invalid from now on."""
        key = _require_key(self.app, "one-time tokens")
        seen = replay_set(self.request.env)
        self.app.security.ott.revoke(key, token, self._ott_session(), seen)

    def verify_otp(self, otp: str | int | None, secret_key: str | bytes | None = None) -> bool:
        """True for the current RFC 6238 TOTP of ``secret_key`` (default ``app.securekey``),
        not used before."""
        key = secret_key or _require_key(self.app, "one-time passwords")
        seen = replay_set(self.request.env)
        return self.app.security.otp.verify(otp, key, seen=seen)  # type: ignore[no-any-return]
