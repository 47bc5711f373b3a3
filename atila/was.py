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
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from atila import jsonenc, responses
from atila.corequests import WasCorequests
from atila.errors import HTTPError
from atila.otp import generate_otp
from atila.request import Request
from atila.security import WasSecurity
from atila.storage import OutsideRequestError, SharedStore
from atila.upstreams import WasUpstreams

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["Was", "WasProxy", "bind_was", "current_was", "generate_otp", "unbind_was", "was"]

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


class Was(WasSecurity, WasCorequests, WasUpstreams):
    """The request façade (spec: ``was.request``, ``was.response``, ``was.API`` ...)."""

    __slots__ = ("app", "request", "response", "_id", "websocket", "__weakref__")

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
        #: the WebSocket connection of an ``@app.websocket`` route (``client_id``, ``send``)
        self.websocket: Any = None

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
        """URL of handler ``target`` (function or name) called with ``args``/``kwargs``.

        ``"search:query"`` names handler ``query`` of the app mounted as
        ``search`` (spec "URL Building for Resource Accessing").
        """
        if isinstance(target, str) and ":" in target:
            app_name, _, handler = target.partition(":")
            return self.apps[app_name].build_url(handler, *args, **kwargs)  # type: ignore[no-any-return]
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

    # -- other apps, events, shared state (atila.composition) --------------------

    @property
    def apps(self) -> Any:
        """The apps of this server by mount name: ``was.apps["search"].config``."""
        return self.app.apps

    def broadcast(self, event: str, *args: Any, **kwargs: Any) -> bool:
        """Send ``event`` to the ``@app.on_broadcast`` handlers of every app, worker and host
        (``app.broadcast``: True when on its way to the other processes)."""
        return self.app.broadcast(event, *args, **kwargs)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call this app's ``@app.on(event)`` handlers."""
        return self.app.emit(event, *args, **kwargs)

    def setlu(self, key: str, *more: str) -> float:
        """Mark shared state ``key`` updated now, for every worker process."""
        return self.app.setlu(key, *more)

    def getlu(self, *keys: str) -> float:
        """The last update time of shared state ``keys`` (the latest of them)."""
        return self.app.getlu(*keys)

    # -- templates (atila.templates) ------------------------------------------

    def render(self, name: str, /, *args: Any, **kwargs: Any) -> str:
        """Render template ``name`` with a dict *or* keyword arguments (not both)."""
        return self.app.templates.render(self, name, args, kwargs)

    def render_or_API(self, name: str, /, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - spec name
        """Rendered ``name`` for clients accepting ``text/html``, else ``was.API`` of the data."""
        return self.app.templates.render_or_api(self, name, args, kwargs)

    def render_or_Map(self, name: str, /, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - spec name
        """``was.Map(*args, **kwargs)`` for API clients; for HTML clients ``name``
        rendered with the mapped values once the corequests are done."""
        return self.app.templates.render_or_map(self, name, self.Map(*args, **kwargs))

    def render_or_Mapped(self, name: str, /, tasks: Any, **options: Any) -> Any:  # noqa: N802
        """:meth:`render_or_Map` over ``was.Mapped(tasks, **options)``."""
        return self.app.templates.render_or_map(self, name, self.Mapped(tasks, **options))

    def jstream(self, obj: Any, key: str | None = None) -> Any:
        """``was.jstream(obj, key=None)``: answer ``obj`` as JSON (``{key: obj}`` with a key).

        A mapping becomes a :class:`~atila.responses.API`; any other value is
        encoded with the app's ``JSON_ENCODER``/``PRETTY_JSON``.
        """
        if key is not None:
            obj = {key: obj}
        if isinstance(obj, Mapping):
            return responses.API(obj)
        config = self.app.config
        self.response.set_header("Content-Type", "application/json")
        return jsonenc.dumps(obj, config.JSON_ENCODER, bool(config.PRETTY_JSON))

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
