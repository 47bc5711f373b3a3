"""The typed contract between the engine and the applications it mounts.

The engine talks to applications only through PEP 3333 WSGI callables or ASGI 3
callables plus the optional hooks described here; it never inspects an
application's class beyond telling the two interfaces apart
(:mod:`skitai.interfaces`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

#: ASGI 3 (https://asgi.readthedocs.io/en/latest/specs/main.html), as Starlette spells it.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@runtime_checkable
class RoutableApp(Protocol):
    """A WSGI app that can say whether it serves a path.

    When several mounts share a prefix (an app and a static directory both at
    ``/``), the engine asks each app in turn; an app that answers ``False``
    lets the request fall through to the next mount.  Apps without this hook
    are taken to serve every path under their mount point.  An app may also
    have ``yields_to_static(path) -> bool``: True when it serves ``path`` only
    through a catch-all route, so a static mount that has the file answers
    first (see :meth:`skitai.mounts.MountTable.resolve`).
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


@runtime_checkable
class LoopCallableApp(Protocol):
    """A WSGI app that can answer some requests on the worker's event loop.

    For a request whose body has arrived whole (and that is no WebSocket
    upgrade), the engine calls ``call_on_loop(environ, start_response)`` on the
    event loop instead of ``app(environ, start_response)`` on a handler thread.
    The environ is the same one a WSGI call gets (``wsgi.input`` holds the whole
    body in memory).  The app either answers, exactly as a WSGI call would (a
    body iterable, possibly a :class:`DeferredBody`), running no code that may
    block, or returns ``None`` *before* having called ``start_response``: the
    engine then calls ``app(environ, start_response)`` with the same environ on
    a handler thread (one hop there, the response goes back as for any WSGI
    call).  A whole (list or tuple) body is sent from the loop; a stream or a
    file goes out from a handler thread.  Other servers never call it.
    Atila's app is one (``async def`` handlers never leave the loop).
    """

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]: ...

    def call_on_loop(
        self, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """Answer on the event loop, or None to be called on a handler thread."""
        ...


@runtime_checkable
class DeferredBody(Protocol):
    """A WSGI response iterable whose response is not known yet (a corequest runs).

    An app returns one *without* having called ``start_response``.  The
    engine then frees the handler thread and calls ``on_ready(fn)``; ``fn``
    (called once, from any thread, when the corequests are done) queues
    ``resume()`` on a handler thread.  ``resume()`` calls ``start_response``
    and returns the real body, or another ``DeferredBody`` to wait again.
    Servers that do not know this protocol simply iterate the object, which
    waits and then yields the real body (so the app stays plain WSGI).

    Optional: a true ``resume_on_loop`` attribute says that ``resume()`` runs
    no code that may block (the app only builds the response from finished
    corequests).  When ``fn`` then fires on the worker's event loop, Skitai
    calls ``resume()`` right there and sends a whole (list or tuple) body
    without handing the request to a handler thread; other bodies (streams,
    files) still go out from a handler thread.
    The worker's corequest hub is ``environ["skitai.corequests"]``
    (:class:`skitai.corequests.Corequests`).
    """

    def __iter__(self) -> Iterator[bytes]: ...

    def on_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once :meth:`resume` will not wait."""
        ...

    def resume(self) -> Iterable[bytes]:
        """Call ``start_response`` and return the body (or another ``DeferredBody``)."""
        ...


@runtime_checkable
class ReplaySet(Protocol):
    """A set of byte keys with expiry, for replay checks (``environ["skitai.replay"]``).

    Skitai's is :class:`skitai.replay.ReplayTable`: one fixed-size table in
    memory shared by every worker process, so a key recorded by one worker is
    seen by all.  Keys are opaque bytes; callers prefix them with a namespace
    of their own (``b"atila/ott/..."``).  Bounded memory: when a key cannot be
    recorded because the table is full, :meth:`add_if_absent` answers False
    (fail closed: a replay check refuses), never evicting a live key.
    """

    def add_if_absent(self, key: bytes, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds (> 0); True when it was not recorded before,
        False when it was (a replay) or when it cannot be recorded (full: fail closed)."""
        ...

    def contains(self, key: bytes) -> bool:
        """True when ``key`` is recorded and its ``ttl`` has not run out."""
        ...

    def discard(self, key: bytes) -> bool:
        """Forget ``key``; True when it was recorded."""
        ...
