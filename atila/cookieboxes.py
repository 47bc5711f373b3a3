"""What sessions and message boxes share: sealed cookies, named boxes, ``mount``/``exists``.

A *box* is one sealed cookie (see :mod:`atila.sealing`) holding a small JSON
payload.  :class:`BoxSet` is what ``was.request.session`` and
``was.request.mbox`` are: the default box plus the named boxes a handler
``mount()``-ed, the current one receiving the data calls.  Each box writes
its cookie (or deletes it) when the response is made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from atila.cookies import delete_cookie_header, set_cookie_header
from atila.sealing import seal, unseal

__all__ = ["BoxContext", "BoxSet", "CookieBox", "CookieOptions", "forward"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Browsers drop cookies larger than about 4 KiB.
COOKIE_SIZE_WARNING = 4000
logger = logging.getLogger("atila.cookieboxes")


@dataclass(frozen=True)
class BoxContext:
    """What a box needs to know about the request and the app."""

    cookies: dict[str, str]
    remote_addr: str
    securekey: str | bytes
    session_timeout: int
    now: Callable[[], float]
    #: where ended sessions are recorded (the server's replay set, or the app's own
    #: per-process one): a copy of an expired session's cookie is refused everywhere
    revoked: Any = None


@dataclass(frozen=True)
class CookieOptions:
    """Attributes of a box's cookie (``mount(path=, domain=, secure=, http_only=)``)."""

    path: str = "/"
    domain: str | None = None
    secure: bool = False
    http_only: bool = True
    same_site: str | None = "Lax"


class CookieBox:
    """One sealed cookie: loads its payload, writes it back when changed."""

    #: cookie name prefix (``ATLSES``/``ATLMBX``); named boxes add ``_<NAME>``
    prefix = ""

    def __init__(
        self, name: str | None, ctx: BoxContext, key: str | bytes, options: CookieOptions
    ) -> None:
        if name is not None and not _NAME.match(name):
            raise ValueError(f"invalid box name {name!r}: use letters, digits, '_' and '-'")
        self.name = name
        self.cookie_name = self.prefix if name is None else f"{self.prefix}_{name}"
        self._ctx = ctx
        self._key = key
        self.options = options
        raw = ctx.cookies.get(self.cookie_name)
        payload = unseal(raw, key, f"{self.prefix}:{name or ''}") if raw else None
        #: True when the request carried a cookie that was not a valid box
        self._stale = bool(raw) and not isinstance(payload, dict)
        self._had_cookie = bool(raw)
        self._dirty = False
        self._delete = False
        self.load(payload if isinstance(payload, dict) else None)

    def load(self, payload: dict[str, Any] | None) -> None:
        """Take the unsealed payload (None: no valid cookie)."""
        raise NotImplementedError

    def dump(self) -> dict[str, Any] | None:
        """The payload to seal; None deletes the cookie."""
        raise NotImplementedError

    def max_age(self) -> int | None:
        """The cookie's Max-Age (None: a browser-session cookie)."""
        return None

    def finish(self, success: bool) -> None:
        """Called once before the cookie is written (``success``: status below 400)."""

    def present(self) -> bool:
        """True when the request carried a valid box."""
        raise NotImplementedError

    def _changed(self) -> None:
        self._dirty = True
        self._delete = False

    def set_cookie(self, success: bool = True) -> str | None:
        """The ``Set-Cookie`` value for the response, or None when nothing changed."""
        self.finish(success)
        if self._dirty and not self._delete:
            payload = self.dump()
            if payload is not None:
                sealed = seal(payload, self._key, f"{self.prefix}:{self.name or ''}")
                if len(sealed) > COOKIE_SIZE_WARNING:
                    logger.warning(
                        "cookie %s is %d bytes: browsers may drop it; store less",
                        self.cookie_name,
                        len(sealed),
                    )
                return set_cookie_header(
                    self.cookie_name,
                    sealed,
                    max_age=self.max_age(),
                    path=self.options.path,
                    domain=self.options.domain,
                    secure=self.options.secure,
                    http_only=self.options.http_only,
                    same_site=self.options.same_site,
                )
            self._delete = True
        if (self._delete and self._had_cookie) or self._stale:
            return delete_cookie_header(self.cookie_name, self.options.path, self.options.domain)
        return None


Box = TypeVar("Box", bound=CookieBox)


class BoxSet(Generic[Box]):
    """The default box and the named ones; data calls go to the current box."""

    def __init__(self, factory: Callable[..., Box], ctx: BoxContext) -> None:
        self._factory = factory
        self._ctx = ctx
        self._boxes: dict[str | None, Box] = {}
        self._current: Box | None = None

    @property
    def current(self) -> Box:
        """The box ``mount()`` selected last (the default box at first)."""
        if self._current is None:
            self._current = self._get(None, {})
        return self._current

    def _get(self, name: str | None, options: dict[str, Any]) -> Box:
        box = self._boxes.get(name)
        if box is None:
            box = self._boxes[name] = self._factory(name, self._ctx, **options)
        return box

    def _mount(self, name: str | None, options: dict[str, Any]) -> BoxSet[Box]:
        self._current = self._get(name, options)
        return self

    def exists(self, name: str | None = None) -> bool:
        """True when the request carried a valid (unexpired) box ``name``."""
        box = self._boxes.get(name)
        if box is None:
            box = self._factory(name, self._ctx)
        return box.present()

    def set_cookie_headers(self, success: bool) -> list[tuple[str, str]]:
        """``Set-Cookie`` headers of every box used in this request."""
        headers = []
        for box in self._boxes.values():
            value = box.set_cookie(success)
            if value is not None:
                headers.append(("Set-Cookie", value))
        return headers


def forward(name: str) -> Any:
    """A :class:`BoxSet` method that calls method ``name`` of the current box."""

    def method(self: BoxSet[Any], *args: Any, **kwargs: Any) -> Any:
        return getattr(self.current, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"The current box's ``{name}`` (see the box class)."
    return method
