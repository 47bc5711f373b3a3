"""App events (spec "App Event Handling", "Creating and Handling Custom Event",
"Communication with Event").

An :class:`EventBus` keeps, per event name, the handler functions registered
with ``@app.on(event)`` (or ``@app.on_broadcast(event)`` on the broadcast
bus) in registration order.  :meth:`EventBus.emit` calls each handler as
``handler(was, *args, **kwargs)`` in the emitting thread and returns their
results; a failing handler is logged and does not stop the others (an event
is a notification, not a call whose failure the emitter must handle).

:func:`after` builds the ``@app.emit_after(event)`` /
``@app.broadcast_after(event)`` wrappers: the wrapped function runs, then
the event is sent with no arguments.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LIFECYCLE_EVENTS", "REQUEST_EVENTS", "EventBus", "after"]

Handler = Callable[..., Any]

#: Events the app sends itself around mounting and reloading (spec "App Lifecycle Hook").
LIFECYCLE_EVENTS = (
    "before_mount",
    "mounted",
    "mounted_or_reloaded",
    "before_reload",
    "reloaded",
    "before_umount",
    "umounted",
)
#: Events sent around each request: ``(was)``, and ``(was, exc_info)`` for ``request:failed``.
REQUEST_EVENTS = (
    "request:before_start",
    "request:success",
    "request:failed",
    "request:teardown",
    "request:finished",
)


class EventBus:
    """Event name -> handlers, safe to change while other threads emit."""

    def __init__(self, logger: logging.Logger) -> None:
        self._handlers: dict[str, tuple[Handler, ...]] = {}
        self._lock = threading.Lock()
        self._logger = logger

    def add(self, event: str, handler: Handler) -> None:
        """Call ``handler`` whenever ``event`` is emitted (after those added before)."""
        if not isinstance(event, str) or not event:
            raise TypeError(f"an event name must be a non-empty string, got {event!r}")
        with self._lock:
            self._handlers[event] = (*self._handlers.get(event, ()), handler)

    def remove(self, event: str, handler: Handler) -> None:
        """Stop calling ``handler`` for ``event`` (no error when it is not there)."""
        with self._lock:
            kept = tuple(h for h in self._handlers.get(event, ()) if h is not handler)
            if kept:
                self._handlers[event] = kept
            else:
                self._handlers.pop(event, None)

    def handlers(self, event: str) -> tuple[Handler, ...]:
        """The handlers of ``event``, in call order."""
        return self._handlers.get(event, ())

    def __contains__(self, event: object) -> bool:
        return event in self._handlers

    def emit(self, was: Any, event: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call every handler of ``event`` with ``(was, *args, **kwargs)``; return the results.

        A handler that raises is logged (with its traceback) and skipped.
        """
        results = []
        for handler in self._handlers.get(event, ()):
            try:
                results.append(handler(was, *args, **kwargs))
            except Exception:  # noqa: BLE001 - one listener must not break the emitter
                self._logger.exception("handler %r of event %r failed", handler, event)
        return results


def after(send: Callable[[str], Any], event: str) -> Callable[[Handler], Handler]:
    """A decorator running the function, then ``send(event)``; the result is kept."""

    def decorator(func: Handler) -> Handler:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = func(*args, **kwargs)
            send(event)
            return result

        return wrapper

    return decorator
