"""The app's life in a worker: start, stop, reload events, ``wac``, shared state.

Spec sections "App Lifecycle Hook", "Inverval Base App Maintenancing",
"Define Conditional Prework" (``@app.if_updated``) and "Inter Process Update
Notification".

:class:`Lifecycle` runs, once per worker process (Skitai calls
``app.on_worker_start(context)``; under another WSGI server the first request
does it)::

    before_mount(wac) -> services mounted -> mounted(wac) -> mounted_or_reloaded(wac)
    ... for each reload: before_reload(wac), reloaded(wac), mounted_or_reloaded(wac)
    before_umount(wac) -> __umount__ of each service -> umounted(wac)

``wac`` is an :class:`AppContext`: what a handler's ``was`` offers that does not
need a request (``app``, ``config``, ``logger``, ``numthreads``, ``apps``,
``setlu``/``getlu``, ``emit``/``broadcast``, ``register``/``unregister``).
``wac.register(name, obj)`` makes ``obj`` an attribute of every ``was`` of
every app in the process (``was.searcher``).

Shared state lives in the engine (``skitai.register_states``): the app reads
the table from the :class:`~skitai.context.EngineContext`; without a Skitai
server a process-local table stands in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atila.corequests import WasCorequests
from atila.upstreams import WasUpstreams
from atila.was import Was, current_was
from skitai.states import LocalStateTable, States

if TYPE_CHECKING:
    from atila.app import Atila
    from skitai.context import EngineContext

__all__ = ["AppContext", "IfUpdated", "Lifecycle", "Maintainer", "registered_objects"]

logger = logging.getLogger("atila.lifecycle")

#: Default seconds between maintenance ticks (``app.config.MAINTAIN_INTERVAL``).
DEFAULT_MAINTAIN_INTERVAL = 60.0
#: Stand-in for the engine's state table when no Skitai server runs the app.
_local_states = LocalStateTable()
#: ``wac.register`` objects, by name (set as ``Was`` class attributes).
_registered: dict[str, Any] = {}
_registered_lock = threading.Lock()


def registered_objects() -> dict[str, Any]:
    """A copy of the objects made visible on ``was`` by ``wac.register``."""
    with _registered_lock:
        return dict(_registered)


class AppLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The app's :class:`logging.Logger` plus the spec's named-logger helpers.

    ``get(name)`` and ``make_logger(name, ...)`` both return the standard child logger
    ``<app logger>.<name>``; rotation arguments (``"daily"``) are accepted and left to
    the logging configuration.  Any other attribute is the wrapped logger's.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)

    def get(self, name: str) -> logging.Logger:
        """The child logger ``name``."""
        return self.logger.getChild(name)

    def make_logger(self, name: str, *args: Any, **kwargs: Any) -> logging.Logger:
        """The child logger ``name`` (the spec's file rotation arguments are ignored)."""
        del args, kwargs
        return self.logger.getChild(name)


class AppContext(WasCorequests, WasUpstreams):
    """``wac``: the app-wide (not per-request) side of ``was`` (with its corequests:
    ``wac.db("@mydb", callback=...)``, ``wac.get(...)``, ``wac.rpc(...)``)."""

    def __init__(self, app: Atila) -> None:
        self.app = app

    def __repr__(self) -> str:
        return f"<wac of {self.app!r}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with _registered_lock:
            if name in _registered:
                return _registered[name]
        raise AttributeError(f"wac has no attribute {name!r} (register it with wac.register)")

    @property
    def config(self) -> Any:
        """``app.config``."""
        return self.app.config

    @property
    def logger(self) -> AppLogger:
        """The app's logger, with the spec's ``wac.logger.get("app")`` and
        ``wac.logger.make_logger("login", "daily")`` for named child loggers."""
        return AppLogger(self.app.logger)

    @property
    def numthreads(self) -> int:
        """Handler threads per worker (1 without a Skitai server)."""
        context = self.app.lifecycle.context
        return context.threads if context is not None else 1

    @property
    def apps(self) -> Any:
        """``app.apps``: the apps of this server by mount name."""
        return self.app.apps

    @property
    def g(self) -> Any:
        """``app.g``."""
        return self.app.g

    def setlu(self, key: str, *more: str) -> float:
        """``app.setlu``."""
        return self.app.setlu(key, *more)

    def getlu(self, *keys: str) -> float:
        """``app.getlu``."""
        return self.app.getlu(*keys)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> list[Any]:
        """``app.emit``."""
        return self.app.emit(event, *args, **kwargs)

    def broadcast(self, event: str, *args: Any, **kwargs: Any) -> bool:
        """``app.broadcast``."""
        return self.app.broadcast(event, *args, **kwargs)

    @staticmethod
    def register(name: str, obj: Any) -> None:
        """Make ``obj`` available as ``was.<name>`` (and ``wac.<name>``) to every app.

        Registering a name again replaces the object; a name ``was`` already
        has (``request``, ``urlfor`` ...) raises ``ValueError``.
        """
        with _registered_lock:
            if name not in _registered and (name.startswith("_") or hasattr(Was, name)):
                raise ValueError(f"cannot register {name!r}: was.{name} already exists")
            _registered[name] = obj
            setattr(Was, name, obj)

    @staticmethod
    def unregister(name: str) -> Any:
        """Remove a registered object; return it (None when there was none)."""
        with _registered_lock:
            obj = _registered.pop(name, None)
            if hasattr(Was, name) and name not in Was.__dict__.get("__slots__", ()):
                try:
                    delattr(Was, name)
                except AttributeError:
                    pass
            return obj


class IfUpdated:
    """The ``run_before`` function behind ``@app.if_updated(key, func)``.

    ``func(was, key)`` runs before the handler when ``key``'s last update time
    (``was.setlu(key)`` in any worker) is newer than the last one this
    process acted on.  The starting point is the value when the app started
    in this worker, so only later updates trigger it.
    """

    def __init__(self, key: str, func: Callable[..., Any]) -> None:
        self.key = key
        self.func = func
        self._seen: float | None = None
        self._lock = threading.Lock()

    def baseline(self, states: States) -> None:
        """Take the current update time of the key as seen."""
        self._seen = states.getlu(self.key)

    def __call__(self, was: Any) -> Any:
        updated = was.app.getlu(self.key)
        with self._lock:
            if self._seen is None:
                self._seen = updated
                return None
            if updated <= self._seen:
                return None
            self._seen = updated
        return self.func(was, self.key)


@dataclass
class _Job:
    func: Callable[..., Any]
    interval: int
    threaded: bool


class Maintainer:
    """``@app.maintain`` jobs, run on a daemon thread every ``MAINTAIN_INTERVAL`` seconds.

    A job with ``interval=n`` runs on every n-th tick as ``func(wac, now,
    count)`` (``count``: ticks so far); with ``threading=True`` each run gets
    its own thread, so a slow job does not delay the others.
    """

    def __init__(self, app: Atila) -> None:
        self.app = app
        self.jobs: dict[str, _Job] = {}
        self.count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, func: Callable[..., Any], interval: int = 1, threaded: bool = False) -> None:
        """Add a job; its function name must be unique in the app."""
        name = func.__name__
        if name in self.jobs:
            raise ValueError(f"a maintenance job named {name!r} already exists")
        if int(interval) < 1:
            raise ValueError(f"maintain interval must be at least 1 tick, not {interval!r}")
        self.jobs[name] = _Job(func, int(interval), threaded)

    def remove(self, func: Callable[..., Any]) -> None:
        """Remove ``func``'s job if it is there."""
        job = self.jobs.get(func.__name__)
        if job is not None and job.func is func:
            del self.jobs[func.__name__]

    def start(self) -> None:
        """Start ticking (no thread without jobs; idempotent)."""
        if self._thread is not None or not self.jobs:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="atila-maintain", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait a little for a job that is running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _run(self) -> None:
        while True:
            interval = float(self.app.config.get("MAINTAIN_INTERVAL", DEFAULT_MAINTAIN_INTERVAL))
            if self._stop.wait(interval):
                return
            self.count += 1
            now = time.time()
            for job in list(self.jobs.values()):
                if self.count % job.interval == 0:
                    self._run_job(job, now)

    def _run_job(self, job: _Job, now: float) -> None:
        args = (self.app.lifecycle.wac, now, self.count)
        if job.threaded:
            threading.Thread(target=self._call, args=(job, args), daemon=True).start()
        else:
            self._call(job, args)

    def _call(self, job: _Job, args: tuple[Any, ...]) -> None:
        try:
            job.func(*args)
        except Exception:  # noqa: BLE001 - a failing job must not stop maintenance
            self.app.logger.exception("maintenance job %r failed", job.func.__name__)


class Lifecycle:
    """Start and stop of one app in one process, and the events around them."""

    def __init__(self, app: Atila) -> None:
        self.app = app
        self.wac = AppContext(app)
        self.context: EngineContext | None = None
        self.maintainer = Maintainer(app)
        self.trackers: list[IfUpdated] = []
        #: True once started; other threads wait on the lock while a start runs
        self.started = False
        self._starting = False
        self.stopped = False
        #: the app object the engine mounted (an app replaced by a reload keeps it)
        self.origin: Any = app
        self._reloader: Any = None
        self._lock = threading.RLock()

    @property
    def states(self) -> States:
        """The engine's shared state table, or the process-local stand-in."""
        return self.context.states if self.context is not None else _local_states

    def event_was(self) -> Any:
        """The ``was`` for an event handler: the request's, or ``wac`` outside a request."""
        try:
            was = current_was()
        except RuntimeError:
            return self.wac
        return was if was.app is self.app else self.wac

    def start(self, context: EngineContext | None) -> None:
        """Mount services and send the start events (once; later calls do nothing)."""
        with self._lock:
            if self.started or self._starting:  # done, or re-entered from a start hook
                return
            self.context = context
            self.app.messaging.attach(getattr(context, "hub", None))
            self._starting = True
            try:
                self.app.emit("before_mount")
                self.app.services.setup()
                for tracker in self.trackers:
                    tracker.baseline(self.states)
                self.app.emit("mounted")
                self.app.emit("mounted_or_reloaded")
            finally:
                self._starting = False
            self.started = True
            self.maintainer.start()
            if self.app.use_reloader:
                from atila.reloader import Reloader

                self._reloader = Reloader(self.app)
                self._reloader.start()

    def stop(self) -> None:
        """Stop the threads, then ``before_umount``, ``__umount__`` hooks, ``umounted``."""
        with self._lock:
            if not self.started or self.stopped:
                return
            self.stopped = True
            if self._reloader is not None:
                self._reloader.stop()
            self.maintainer.stop()
            self.app.emit("before_umount")
            self.app.services.umount_all()
            self.app.emit("umounted")

    def adopt(self, old: Lifecycle) -> None:
        """Continue ``old``'s life in this (reloaded) app: same context, reloader, origin.

        Mounts this app's services and starts its maintenance; the caller
        sends the reload events.  ``old`` counts as stopped afterwards.
        """
        with self._lock:
            self.context = old.context
            self.origin = old.origin
            self.started = True
            self.app.services.setup()
            for tracker in self.trackers:
                tracker.baseline(self.states)
            self._reloader, old._reloader = old._reloader, None
            old.stopped = True
            self.maintainer.start()

    def emit_reload(self, event: str) -> None:
        """Send a reload event (``before_reload``, ``reloaded``, ``mounted_or_reloaded``)."""
        self.app.emit(event)

    def track(self, tracker: IfUpdated) -> None:
        """Register an ``@app.if_updated`` tracker (baselined now if the app already started)."""
        self.trackers.append(tracker)
        if self.started:
            tracker.baseline(self.states)
