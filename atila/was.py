"""``was``: the per-request façade handlers receive as their first argument.

A :class:`Was` is made for each request and holds only ``app``, ``request``
and ``response``; everything else is a thin attribute delegating to the
module that owns it (responses, URL building, logging).  The current one is
kept in a context variable: :func:`current_was` returns it and raises
:class:`~atila.storage.OutsideRequestError` outside a request, and
``from atila import was`` gives :data:`was`, a proxy to it, for handlers and
helpers that do not take ``was`` as an argument.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from atila import responses
from atila.errors import HTTPError
from atila.request import Request
from atila.storage import OutsideRequestError, SharedStore

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["Was", "WasProxy", "bind_was", "current_was", "unbind_was", "was"]

_current: ContextVar[Was | None] = ContextVar("atila.was", default=None)
_request_ids = itertools.count(1)

#: ``was.log`` categories that are logging levels; others log at INFO.
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fail": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


class Was:
    """The request façade (spec: ``was.request``, ``was.response``, ``was.API`` ...)."""

    __slots__ = ("app", "request", "response", "_id")

    #: ``was.API(...)``: a JSON API response (see :mod:`atila.responses`).
    API = responses.API
    #: ``was.Fault(status, message, code, debug, more_info, ...)``.
    Fault = staticmethod(responses.Fault)
    #: ``raise was.Error("404 Not Found", "no such photo")``.
    Error = HTTPError
    #: ``was.File(path, mimetype=None, filename=None)``.
    File = responses.File
    #: ``was.Static(url)``: a file of the app's static directory.
    Static = responses.Static
    #: ``was.Queue(producer)``: threaded streaming.
    Queue = responses.Queue
    #: ``was.redirect(url, status="302 Found")``.
    redirect = staticmethod(responses.redirect)

    def __init__(self, app: Atila, request: Request, response: responses.Response) -> None:
        self.app = app
        self.request = request
        self.response = response
        self._id: str | None = None

    def __repr__(self) -> str:
        return f"<Was {self.request!r}>"

    @property
    def g(self) -> SharedStore:
        """``app.g``, the app's global namespace."""
        return self.app.g

    @property
    def env(self) -> dict[str, Any]:
        """The WSGI environ (``was.request.env``)."""
        return self.request.env

    @property
    def id(self) -> str:
        """This request's id (``<pid>-<n>``), used to find its log lines."""
        if self._id is None:
            self._id = f"{os.getpid()}-{next(_request_ids)}"
        return self._id

    # -- URLs ----------------------------------------------------------------

    def urlfor(self, target: Any, *args: Any, **kwargs: Any) -> str:
        """URL of handler ``target`` (function or name) called with ``args``/``kwargs``."""
        return self.app.urls.urlfor(target, *args, script_name=self.request.script_name, **kwargs)

    def urlpatch(self, target: Any, **kwargs: Any) -> str:
        """URL of ``target`` keeping this request's URL parameters, updated by ``kwargs``."""
        return self.app.urls.urlpatch(
            target, self.request.URL, script_name=self.request.script_name, **kwargs
        )

    def basepath(self, target: Any) -> str:
        """Path of ``target`` up to its first URL parameter."""
        return self.app.urls.basepath(target, script_name=self.request.script_name)

    def static(self, path: str) -> str:
        """URL of a static file: ``config.STATIC_URL`` + ``path``."""
        return _join_url(self.app.config.STATIC_URL, path)

    def media(self, path: str) -> str:
        """URL of a media file: ``config.MEDIA_URL`` + ``path``."""
        return _join_url(self.app.config.MEDIA_URL, path)

    def pipe(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Call handler ``target`` (function or name) directly and return its result."""
        return self.app.pipe(self, target, *args, **kwargs)

    # -- logging -------------------------------------------------------------

    def log(self, msg: Any, category: str = "info") -> None:
        """Log ``msg`` to the app's logger; a category that is not a level logs at INFO."""
        level = _LEVELS.get(category.lower())
        if level is None:
            self.app.logger.info("[%s] %s", category, msg)
        else:
            self.app.logger.log(level, "%s", msg)

    def traceback(self, id: str = "") -> str:  # noqa: A002 - spec name
        """Log the exception being handled with ``id`` (default: the request id); return the id."""
        ident = id or self.id
        exc_info = sys.exc_info()
        self.app.logger.error("[%s] traceback", ident, exc_info=exc_info if exc_info[0] else None)
        return ident


def _join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def current_was() -> Was:
    """The ``was`` of the request being handled; raises outside a request."""
    value = _current.get()
    if value is None:
        raise OutsideRequestError("was is only available while a request is handled")
    return value


def bind_was(value: Was) -> Token[Was | None]:
    """Make ``value`` the current ``was``; give the token to :func:`unbind_was`."""
    return _current.set(value)


def unbind_was(token: Token[Was | None]) -> None:
    """Restore the ``was`` that was current before :func:`bind_was`."""
    _current.reset(token)


class WasProxy:
    """``from atila import was``: forwards attribute access to :func:`current_was`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(current_was(), name)

    def __repr__(self) -> str:
        value = _current.get()
        return f"<was proxy to {value!r}>" if value is not None else "<was proxy (no request)>"


#: The current request's ``was`` (a proxy; valid only while a request is handled).
was = WasProxy()
