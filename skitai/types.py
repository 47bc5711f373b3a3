"""The typed contract between the engine and the applications it mounts.

The engine talks to applications only through PEP 3333 WSGI callables plus the
optional hooks described here; it never inspects an application's class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@runtime_checkable
class RoutableApp(Protocol):
    """A WSGI app that can say whether it serves a path.

    When several mounts share a prefix (an app and a static directory both at
    ``/``), the engine asks each app in turn; an app that answers ``False``
    lets the request fall through to the next mount.  Apps without this hook
    are taken to serve every path under their mount point.
    """

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]: ...

    def has_route(self, path: str) -> bool:
        """Return True when ``path`` (relative to the mount point) is served."""
        ...


@runtime_checkable
class ConfigurableApp(Protocol):
    """A WSGI app that accepts the runtime preference given to ``skitai.mount``."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]: ...

    def apply_preference(self, pref: Any) -> None:
        """Override the app's own settings with ``pref`` (a ``skitai.Preference``)."""
        ...


@runtime_checkable
class LifecycleApp(Protocol):
    """A WSGI app that wants to know when a worker starts and stops serving it.

    In each worker process, after the fork and before the first request, the
    engine calls ``on_worker_start(context)`` once per mounted app (an
    :class:`skitai.context.EngineContext`); after the worker stopped
    accepting and drained its requests it calls ``on_worker_stop()``.  An
    exception from ``on_worker_start`` stops the worker (it is logged and the
    supervisor's failed-start policy applies); one from ``on_worker_stop`` is
    logged.
    """

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]: ...

    def on_worker_start(self, context: Any) -> None:
        """Start serving in this worker (``context``: a ``skitai.context.EngineContext``)."""
        ...

    def on_worker_stop(self) -> None:
        """Stop serving in this worker: release what ``on_worker_start`` acquired."""
        ...
