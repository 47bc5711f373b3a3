"""The public methods of larger apps, mixed into :class:`atila.Atila`.

Each method is a thin façade over the module that owns the concept:
service mounting, extends/overrides and reloading in :mod:`atila.services`,
events in :mod:`atila.events`, lifecycle, maintenance and shared state in
:mod:`atila.lifecycle`.  The engine hooks ``on_worker_start(context)`` and
``on_worker_stop()`` (:class:`skitai.types.LifecycleApp`) are here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from atila.events import LIFECYCLE_EVENTS, REQUEST_EVENTS, EventBus, after
from atila.lifecycle import IfUpdated, Lifecycle
from atila.messaging import Messaging
from atila.services import ServiceRegistry, ServiceUnit

__all__ = ["Composition"]

Handler = Callable[..., Any]


class Composition:
    """Services, lifecycle hooks, events, maintenance, shared state and cross-app access."""

    logger: logging.Logger
    hooks: Any
    debug: bool

    def _init_composition(self) -> None:
        self.services = ServiceRegistry(self)  # type: ignore[arg-type]
        self.events = EventBus(self.logger)
        self.broadcasts = EventBus(self.logger)
        self.lifecycle = Lifecycle(self)  # type: ignore[arg-type]
        #: rooms and broadcasts across workers and hosts (the engine's hub)
        self.messaging = Messaging(self)  # type: ignore[arg-type]
        self._request_events: set[str] = set()
        #: the app that replaced this one when its module was reloaded
        self._successor: Composition | None = None

    # -- engine hooks (skitai.types.LifecycleApp) ---------------------------------

    def on_worker_start(self, context: Any = None) -> None:
        """Skitai calls this in each worker before serving: mount services, start hooks.

        In development mode (``context.devel``, ``--devel``) ``debug`` is turned on
        first, so ``debug_only`` services mount too.
        """
        if getattr(context, "devel", False):
            self.debug = True
        self.lifecycle.start(context)

    def on_worker_stop(self) -> None:
        """Skitai calls this in each worker after serving: umount services, stop hooks."""
        self.newest().lifecycle.stop()

    def newest(self) -> Any:
        """This app, or the app that replaced it when its module was reloaded."""
        app = self
        while app._successor is not None:
            app = app._successor
        return app

    def adopt(self, old: Any) -> None:
        """Take over from ``old``, the app this one replaces after a module reload.

        The new app gets ``old``'s preference and engine context, mounts its
        services, then sends ``reloaded`` and ``mounted_or_reloaded``; from
        then on ``old`` hands every request to it.
        """
        preference = getattr(old, "_preference", None)
        if preference is not None:
            self.apply_preference(preference)  # type: ignore[attr-defined]
        self.lifecycle.adopt(old.lifecycle)
        self.messaging.adopt(old.messaging)
        old._successor = self
        self.emit("reloaded")
        self.emit("mounted_or_reloaded")

    def _own_append(self, handlers: list[Handler], func: Handler) -> None:
        """Append a hook; a service unit registering it takes it back when unmounted."""
        handlers.append(func)
        self.services.own(lambda: handlers.remove(func) if func in handlers else None)

    # -- services -----------------------------------------------------------------

    def mount(self, point: Any, target: Any = None, **options: Any) -> ServiceUnit | None:
        """Mount a service module (or a directory of files) at URL prefix ``point``.

        ``app.mount("/regist", auth, ns="regist", debug_only=True,
        authenticate="bearer", my_option=1)``; ``point`` may be left out
        (``app.mount(auth)`` mounts at ``/``).  The module's ``__setup__(app,
        mntopt)`` then ``__mount__(app, mntopt)`` run when the app starts (at
        once when called from a ``__setup__``); options other than ``ns``,
        ``debug_only``, ``authenticate`` and ``point`` become its ``__mntopt__``.
        """
        if target is None:
            point, target = "/", point
        return self.services.mount(point, target, options)

    def extends(self, package: ModuleType) -> None:
        """Use ``package``'s services, templates and static files below the app's own."""
        if package not in self.services.extended:
            self.services.extended.append(package)

    def overrides(self, package: ModuleType) -> None:
        """Let ``package``'s services, templates and static files replace the app's own."""
        if package not in self.services.overridden:
            self.services.overridden.append(package)

    def resource_dirs(self, kind: str) -> list[str]:
        """``<package>/<kind>`` directories in search order (overrides, app, extends)."""
        return self.services.resource_dirs(kind)

    # -- events ---------------------------------------------------------------------

    def on(self, event: str) -> Callable[[Handler], Handler]:
        """Call the decorated ``func(was, *args)`` whenever ``event`` is emitted."""

        def decorator(func: Handler) -> Handler:
            self.events.add(event, func)
            self.services.own(lambda: self.events.remove(event, func))
            if event in REQUEST_EVENTS:
                self._install_request_event(event)
            return func

        return decorator

    def emit(self, event: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call this app's handlers of ``event``; return their results."""
        return self.events.emit(self.lifecycle.event_was(), event, *args, **kwargs)

    def emit_after(self, event: str) -> Callable[[Handler], Handler]:
        """Emit ``event`` (no arguments) after the decorated function returns."""
        return after(self.emit, event)

    def on_broadcast(self, event: str) -> Callable[[Handler], Handler]:
        """Call the decorated ``func(was, *args)`` when any app broadcasts ``event``."""

        def decorator(func: Handler) -> Handler:
            self.broadcasts.add(event, func)
            self.services.own(lambda: self.broadcasts.remove(event, func))
            return func

        return decorator

    def broadcast(self, event: str, *args: Any, **kwargs: Any) -> bool:
        """Send ``event`` to the ``on_broadcast`` handlers of every app, worker and host.

        This worker's apps run theirs now, in this thread; the other workers'
        (and, with a broker, hosts') apps get it through the hub, so the
        arguments must be JSON values (``TypeError`` otherwise).  Returns
        True when it is on its way to the other processes, False when the hub
        is down (logged): then only this worker's apps got it.
        """
        data = Messaging.encode_broadcast(event, args, kwargs)
        apps = {id(app): app for app in self.apps.values()}  # an app may have several mounts
        for app in apps.values():
            if isinstance(app, Composition):
                app.broadcasts.emit(app.lifecycle.event_was(), event, *args, **kwargs)
        return self.newest().messaging.publish_broadcast(data)

    def broadcast_after(self, event: str) -> Callable[[Handler], Handler]:
        """Broadcast ``event`` (no arguments) after the decorated function returns."""
        return after(self.broadcast, event)

    def _install_request_event(self, event: str) -> None:
        """Feed a ``request:*`` event from the per-request hooks (once per event)."""
        if event in self._request_events:
            return
        self._request_events.add(event)
        if event == "request:before_start":
            self.hooks.before.insert(0, lambda was: self._emit_ignored(event))
        elif event == "request:success":
            self.hooks.finish.append(lambda was: self._emit_ignored(event))
        elif event == "request:failed":
            self.hooks.failed.append(lambda was, exc_info: self._emit_ignored(event, exc_info))
        else:  # request:teardown, request:finished
            self.hooks.teardown.append(lambda was: self._emit_ignored(event))

    def _emit_ignored(self, event: str, *args: Any) -> None:
        self.emit(event, *args)

    # -- lifecycle hooks (spec "App Lifecycle Hook") --------------------------------

    def before_mount(self, func: Handler) -> Handler:
        """``func(wac)`` runs when the app starts in a worker, before its services mount."""
        return self.on("before_mount")(func)

    def mounted(self, func: Handler) -> Handler:
        """``func(wac)`` runs once the services are mounted."""
        return self.on("mounted")(func)

    def mounted_or_reloaded(self, func: Handler) -> Handler:
        """``func(wac)`` runs after ``mounted`` and after every reload."""
        return self.on("mounted_or_reloaded")(func)

    def before_reload(self, func: Handler) -> Handler:
        """``func(wac)`` runs before service modules are reloaded."""
        return self.on("before_reload")(func)

    def reloaded(self, func: Handler) -> Handler:
        """``func(wac)`` runs after service modules were reloaded."""
        return self.on("reloaded")(func)

    def before_umount(self, func: Handler) -> Handler:
        """``func(wac)`` runs when the worker stops, before the services' ``__umount__``."""
        return self.on("before_umount")(func)

    def umounted(self, func: Handler) -> Handler:
        """``func(wac)`` runs last when the worker stops."""
        return self.on("umounted")(func)

    # -- maintenance and shared state --------------------------------------------------

    def maintain(self, interval: Any = 1, threading: bool = False) -> Any:
        """Run the decorated ``func(wac, now, count)`` every ``interval`` maintenance ticks.

        A tick is ``app.config.MAINTAIN_INTERVAL`` seconds (default 60);
        ``threading=True`` runs each call on its own thread.  Usable bare
        (``@app.maintain``) or called (``@app.maintain(10, threading=True)``).
        """
        if callable(interval):
            return self.maintain()(interval)

        def decorator(func: Handler) -> Handler:
            self.lifecycle.maintainer.add(func, interval, threading)
            self.services.own(lambda: self.lifecycle.maintainer.remove(func))
            if self.lifecycle.started:
                self.lifecycle.maintainer.start()
            return func

        return decorator

    def if_updated(self, key: str, func: Handler) -> Callable[[Handler], Handler]:
        """Before the handler, call ``func(was, key)`` when state ``key`` was updated
        (``was.setlu(key)``) in any worker since this worker last saw it."""
        tracker = IfUpdated(key, func)
        self.lifecycle.track(tracker)
        return self.run_before(tracker)  # type: ignore[attr-defined, no-any-return]

    @property
    def states(self) -> Any:
        """The cross-worker state table (``skitai.register_states``)."""
        return self.lifecycle.states

    def setlu(self, key: str, *more: str) -> float:
        """Mark state ``key`` (and ``more`` keys) updated now, in every worker; return the time."""
        value = self.states.setlu(key)
        for other in more:
            self.states.setlu(other, value)
        return value

    def getlu(self, *keys: str) -> float:
        """The latest update time among ``keys``."""
        return max(self.states.getlu(key) for key in keys)

    # -- cross app --------------------------------------------------------------------

    @property
    def apps(self) -> Mapping[str, Any]:
        """The apps of this server by mount name (``was.apps["search"]``).

        Without a Skitai server it holds only this app, under its import name.
        """
        context = self.lifecycle.context
        if context is None:
            return {getattr(self, "import_name", "app"): self}
        return {
            name: app.newest() if isinstance(app, Composition) else app
            for name, app in context.apps.items()
        }

    def mount_point(self) -> str | None:
        """The URL point the engine mounted this app at (None when unknown)."""
        context = self.lifecycle.context
        return context.point_of(self.lifecycle.origin) if context is not None else None


#: Every event name the app sends by itself.
BUILTIN_EVENTS = (*LIFECYCLE_EVENTS, *REQUEST_EVENTS)
