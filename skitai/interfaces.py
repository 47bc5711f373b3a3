"""Telling WSGI and ASGI applications apart, once, when they are mounted.

``skitai.mount(point, app)`` takes either kind.  The rule (uvicorn's, in
``uvicorn/config.py``, extended to WSGI):

* a function, or an object whose ``__call__`` is an ``async def``, taking three
  parameters ``(scope, receive, send)``: **ASGI 3**;
* a class whose ``__call__`` is an ``async def`` taking ``(receive, send)``
  (instances made from the scope): **ASGI 2**, wrapped into ASGI 3;
* anything else callable: **WSGI** (``(environ, start_response)``, PEP 3333).

``functools.partial`` objects and ``functools.wraps`` decorators are looked
through.  The rule cannot see an ASGI app hidden behind a plain ``def`` that
returns a coroutine (some middleware written by hand does that): mount it with
``interface="asgi"`` (or ``"wsgi"`` to force the other way).  A mount never
guesses silently between the two when the signature says neither: an
``async def`` that does not take three parameters is refused with a
:class:`~skitai.mount_targets.MountError` naming the override.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Literal

from skitai.mount_targets import MountError, describe

__all__ = ["INTERFACES", "Interface", "asgi3", "detect_interface"]

Interface = Literal["wsgi", "asgi"]
#: Values of ``skitai.mount(..., interface=...)``.
INTERFACES = ("auto", "wsgi", "asgi")


def _target(app: Any) -> Any:
    """The function whose kind decides: the app itself, or its ``__call__``."""
    while isinstance(app, functools.partial):
        app = app.func
    if inspect.isfunction(app) or inspect.ismethod(app):
        return inspect.unwrap(app)
    return getattr(app, "__call__", None)  # noqa: B004 - the method itself is inspected


def _positional(function: Any) -> int | None:
    """How many positional parameters ``function`` takes (bound ``self`` excluded); None: *args."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in parameters:
        if parameter.kind is parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def detect_interface(app: Any, interface: str = "auto") -> Interface:
    """``"wsgi"`` or ``"asgi"`` for ``app`` (see the module's rule); ``interface`` overrides.

    Raises :class:`MountError` for an unknown ``interface`` and for an
    ``async def`` that is neither ASGI 3 nor ASGI 2.
    """
    if interface not in INTERFACES:
        raise MountError(f"interface must be one of {', '.join(INTERFACES)}, not {interface!r}")
    if interface != "auto":
        return interface  # type: ignore[return-value]
    if inspect.isclass(app):
        call = getattr(app, "__call__", None)  # noqa: B004
        if inspect.iscoroutinefunction(call):
            return "asgi"  # ASGI 2: App(scope) then await instance(receive, send)
        return "wsgi"  # PEP 3333 allows a class: App(environ, start_response) is the iterable
    function = _target(app)
    if not inspect.iscoroutinefunction(function):
        return "wsgi"
    count = _positional(function)
    if count is None or count == 3:
        return "asgi"
    raise MountError(
        f"cannot mount {describe(app)}: an async callable taking {count} parameter(s) is "
        "neither ASGI 3 (scope, receive, send) nor WSGI; pass interface='asgi' or 'wsgi' "
        "to say which it is"
    )


def asgi3(app: Any) -> Any:
    """``app`` as an ASGI 3 callable: ASGI 2 classes are wrapped, the rest is unchanged."""
    if not inspect.isclass(app):
        return app

    async def asgi2_app(scope: Any, receive: Any, send: Any) -> None:
        await app(scope)(receive, send)

    asgi2_app.__qualname__ = getattr(app, "__qualname__", "asgi2_app")
    return asgi2_app
