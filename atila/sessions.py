"""``was.request.session``: cookie sessions (spec "Access Session", "Named Session").

There is no server-side store: the session's data, its expiry and the
client address that last wrote it travel in one sealed cookie
(:mod:`atila.sealing`: encrypted, HMAC-SHA256 signed with ``app.securekey``).
A tampered, expired, or foreign-key cookie is an empty session.

Expiry rules (spec):

* setting, altering or removing a value extends the expiry to
  ``now + session_timeout`` (a getter never extends it);
* ``touch()`` extends by ``session_timeout``, ``set_expiry(t)`` sets it to
  ``now + t``; after ``set_expiry`` automatic extension resumes only once
  ``now + session_timeout`` is later than the expiry that was set;
* ``mount(..., extend=False)`` turns automatic extension off.

Cookies are ``ATLSES`` (default) and ``ATLSES_<NAME>`` (named sessions),
``HttpOnly`` and ``SameSite=Lax`` by default, ``Path=/``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Any

from atila.cookieboxes import BoxContext, BoxSet, CookieBox, CookieOptions, forward

__all__ = ["DEFAULT_SESSION_TIMEOUT", "IMPENDING_RATIO", "Session", "SessionBox"]

#: ``app.session_timeout`` when it is None (seconds).
DEFAULT_SESSION_TIMEOUT = 1200
#: ``impending()`` is true when less than this part of the period remains.
IMPENDING_RATIO = 0.2
#: Namespace of ended sessions in the replay set (``atila/session/<session id>``).
ENDED_PREFIX = b"atila/session/"


class Session(CookieBox):
    """One session cookie's data and expiry."""

    prefix = "ATLSES"

    def __init__(
        self,
        name: str | None,
        ctx: BoxContext,
        session_timeout: int | None = None,
        securekey: str | bytes | None = None,
        path: str | None = None,
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = True,
        extend: bool = True,
    ) -> None:
        self.timeout = int(session_timeout or ctx.session_timeout)
        self.extend = extend
        options = CookieOptions(path or "/", domain, secure, http_only)
        super().__init__(name, ctx, securekey or ctx.securekey, options)

    # -- cookie payload ------------------------------------------------------

    def load(self, payload: dict[str, Any] | None) -> None:
        now = self._ctx.now()
        self._data: dict[str, Any] = {}
        self._expires = 0.0
        self._period = float(self.timeout)
        self._addr: str | None = None
        self._exists = False
        #: this session's id: every cookie of one session carries it, so ending the
        #: session (``expire``) ends every copy of its cookies
        self._sid: str | None = None
        if payload is None:
            return
        expires, data, sid = payload.get("e"), payload.get("d"), payload.get("s")
        if not isinstance(expires, (int, float)) or expires <= now or not isinstance(data, dict):
            self._stale = True
            return
        if isinstance(sid, str):
            revoked = self._ctx.revoked
            if revoked is not None and revoked.contains(ENDED_PREFIX + sid.encode()):
                self._stale = True  # ended by expire(), maybe on another worker or host
                return
            self._sid = sid
        self._data = data
        self._expires = float(expires)
        period = payload.get("p")
        self._period = float(period) if isinstance(period, (int, float)) else self._period
        self._addr = payload.get("a") if isinstance(payload.get("a"), str) else None
        self._exists = True

    def dump(self) -> dict[str, Any] | None:
        if not self._data:
            return None
        if self._sid is None:
            self._sid = secrets.token_urlsafe(12)
        return {
            "d": self._data, "e": self._expires, "p": self._period, "a": self._addr,
            "s": self._sid,
        }  # fmt: skip

    def max_age(self) -> int | None:
        return max(0, int(self._expires - self._ctx.now()) + 1)

    def present(self) -> bool:
        """True when the request carried a valid session (``exists``)."""
        return self._exists

    def _modified(self) -> None:
        now = self._ctx.now()
        if self.extend or self._expires <= now:
            if now + self.timeout > self._expires:
                self._expires = now + self.timeout
                self._period = float(self.timeout)
        self._addr = self._ctx.remote_addr
        self._changed()

    # -- the spec's methods ----------------------------------------------------

    def set(self, key: str, val: Any) -> None:
        """Set ``key`` (the value must be JSON-serialisable); extends the expiry."""
        json.dumps(val)  # refuse what the cookie cannot carry, here rather than later
        self._data[str(key)] = val
        self._modified()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` or ``default`` (does not extend the expiry)."""
        return self._data.get(key, default)

    def source_verified(self) -> bool:
        """True when this request comes from the address that last wrote the session."""
        return self._addr is None or self._addr == self._ctx.remote_addr

    def getv(self, key: str, default: Any = None) -> Any:
        """``get`` when :meth:`source_verified`, else ``default``."""
        return self.get(key, default) if self.source_verified() else default

    def remove(self, key: str) -> None:
        """Remove ``key`` (no error when absent); extends the expiry."""
        if key in self._data:
            del self._data[key]
            self._modified()

    def clear(self) -> None:
        """Remove every value."""
        self._data.clear()
        self._modified()

    def keys(self) -> KeysView[str]:
        """The keys."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """The values."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """The ``(key, value)`` pairs."""
        return self._data.items()

    def has_key(self, key: str) -> bool:
        """``key in session``."""
        return key in self._data

    def set_expiry(self, timeout: float) -> None:
        """Expire ``timeout`` seconds from now (auto-extension waits until it is shorter)."""
        self._expires = self._ctx.now() + float(timeout)
        self._period = float(timeout)
        self._addr = self._ctx.remote_addr
        self._changed()

    def touch(self) -> None:
        """Extend the expiry by ``session_timeout`` without changing a value."""
        now = self._ctx.now()
        if now + self.timeout > self._expires:
            self._expires = now + self.timeout
            self._period = float(self.timeout)
        self._addr = self._ctx.remote_addr
        self._changed()

    def expire(self) -> None:
        """End the session now: its data is dropped and its cookie deleted.

        Copies of its cookies taken before are refused from then on, by every
        worker under Skitai (and every host sharing a broker), until they would
        have expired anyway.
        """
        revoked, now = self._ctx.revoked, self._ctx.now()
        if self._sid is not None and revoked is not None and self._expires > now:
            # fail closed is moot here: a full table only means the copies live on
            revoked.add_if_absent(ENDED_PREFIX + self._sid.encode(), self._expires - now + 1)
        self._sid = None
        self._data = {}
        self._expires = 0.0
        self._changed()
        self._delete = True

    def use_time(self) -> float:
        """Seconds elapsed of the current period (since the expiry was last set)."""
        if not self._expires:
            return 0.0
        return max(0.0, self._ctx.now() - (self._expires - self._period))

    def impending(self) -> bool:
        """True when less than 20% of the current period remains (or it is over)."""
        remaining = self._expires - self._ctx.now()
        return remaining < self._period * IMPENDING_RATIO

    def expires(self) -> float:
        """The expiry as a Unix time (0 when the session has none)."""
        return self._expires

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, val: Any) -> None:
        self.set(key, val)

    def __delitem__(self, key: str) -> None:
        if key not in self._data:
            raise KeyError(key)
        self.remove(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {self.name or 'default'} keys={sorted(self._data)}>"


class SessionBox(BoxSet[Session]):
    """``was.request.session``: the current session (default, or the last mounted)."""

    def __init__(self, ctx: BoxContext) -> None:
        super().__init__(Session, ctx)

    def mount(
        self,
        name: str | None = None,
        session_timeout: int | None = None,
        securekey: str | bytes | None = None,
        path: str | None = None,
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = True,
        extend: bool = True,
    ) -> SessionBox:
        """Make session ``name`` (None: the default) current, creating it when needed."""
        options = {
            "session_timeout": session_timeout, "securekey": securekey, "path": path,
            "domain": domain, "secure": secure, "http_only": http_only, "extend": extend,
        }  # fmt: skip
        return self._mount(name, options)  # type: ignore[return-value]

    # Data calls go to the current session (see Session for each method).
    set = forward("set")
    get = forward("get")
    getv = forward("getv")
    source_verified = forward("source_verified")
    remove = forward("remove")
    clear = forward("clear")
    keys = forward("keys")
    values = forward("values")
    items = forward("items")
    has_key = forward("has_key")
    set_expiry = forward("set_expiry")
    touch = forward("touch")
    expire = forward("expire")
    use_time = forward("use_time")
    impending = forward("impending")
    __getitem__ = forward("__getitem__")
    __setitem__ = forward("__setitem__")
    __delitem__ = forward("__delitem__")
    __contains__ = forward("__contains__")
    __iter__ = forward("__iter__")
    __len__ = forward("__len__")

    def __repr__(self) -> str:
        return f"<SessionBox current={self.current!r}>"
