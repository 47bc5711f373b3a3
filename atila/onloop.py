"""Which requests an Atila app answers on the engine's event loop.

Under Skitai, an Atila app is a :class:`skitai.types.LoopCallableApp`: for a
request whose body has arrived whole, the engine first calls
``app.call_on_loop(environ, start_response)`` on the worker's event loop.  The
app routes the request there and, when the route's handler never blocks, does
all of it on the loop (parameter binding, ``@app.inspect``, guards, hooks, the
call, the response), with no thread hand-off.  Otherwise it hands the request
(already routed) to a handler thread.  Other WSGI servers never call it.

A route runs on the loop when its handler is

* an ``async def`` (the coroutine is awaited on the loop),
* an ``@app.coroutine`` generator (or ``coroutine=True``): its steps run on
  the loop, up to a streamed body, which is sent from a handler thread,
* a ``def`` handler opted in with ``@app.route(..., nothread=True)`` or, for
  every ``def`` handler of the app, ``app.config.NOTHREAD = True`` (the name
  follows the spec's ``WS_NOTHREAD``: no queue, no thread; a blocking call in
  such a handler blocks the whole worker).  ``nothread=False`` on a route
  keeps it on the pool when the app says ``NOTHREAD``.

``app.config.LOOP_DISPATCH = False`` keeps every request of the app off the
loop (dispatch, hooks and guards on a handler thread; an ``async def``
handler's coroutine still runs on the loop, as before), for apps whose request
hooks block: :func:`django_bridge.users.install` sets it, since its
``before_request`` hook reads Django's user with the ORM, which Django
refuses on an event loop.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

from atila.coroutines import is_coroutine

__all__ = ["RESOLVED_KEY", "handler_kind", "runs_on_loop"]

#: Environ key of the route resolution made on the loop for a request sent on to a
#: handler thread (the thread does not route it twice).
RESOLVED_KEY = "atila.resolved"

_kinds: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def handler_kind(route: Any) -> str:
    """``"async"``, ``"coroutine"`` or ``"def"`` for a route's handler (worked out once)."""
    kind = _kinds.get(route)
    if kind is None:
        handler = route.handler
        func = getattr(route.endpoint, "func", handler)
        if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(handler):
            kind = "async"
        elif route.options.get("coroutine") or is_coroutine(handler):
            kind = "coroutine"
        else:
            kind = "def"
        _kinds[route] = kind
    return kind


def runs_on_loop(app: Any, route: Any) -> bool:
    """True when ``route``'s requests are answered on the event loop (module docstring)."""
    config = app.config
    if not config.get("LOOP_DISPATCH", True):
        return False
    if handler_kind(route) == "def":
        return bool(route.options.get("nothread", config.get("NOTHREAD", False)))
    return True
