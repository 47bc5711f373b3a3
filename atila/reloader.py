"""Hot reloading of service modules (spec "Hot Reloading", "Debugging and Reloading App").

With ``app.use_reloader`` on, each worker process runs one :class:`Reloader`:
a daemon thread blocked in :func:`watchfiles.watch` (inotify through the
``notify`` crate, no polling loop) on the directories of the app's package
and of its service modules.  A changed ``.py`` file that belongs to a
mounted service (or a helper module loaded from those directories) is
reloaded in place by :meth:`atila.services.ServiceRegistry.reload`; the
server keeps answering with the previous routes until the new table is
swapped in.  A change to the app's own module reloads the whole app
(:func:`reload_app`); an app defined in the script being run (``__main__``)
needs a restart.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from atila.services import compiles, modules_at, reload_module

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["Reloader", "reload_app"]

logger = logging.getLogger("atila.reloader")


class Reloader:
    """Watch the app's source directories and reload changed service modules."""

    def __init__(self, app: Atila) -> None:
        self.app = app
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def directories(self) -> list[str]:
        """The directories watched (recursively): the app's package or module directory and
        the directory of every mounted service module, without nesting duplicates."""
        candidates = []
        home = self.app.services.home_package()
        module = home or sys.modules.get(self.app.import_name)
        file = getattr(module, "__file__", None)
        if file:
            candidates.append(os.path.dirname(os.path.realpath(file)))
        candidates.extend(os.path.dirname(f) for f in self.app.services.watched_files())
        kept: list[str] = []
        for directory in sorted(set(candidates), key=len):
            if not any(directory == k or directory.startswith(k + os.sep) for k in kept):
                kept.append(directory)
        return kept

    def start(self) -> None:
        """Start the watching thread (returns once the watcher is set up)."""
        directories = self.directories()
        if not directories:
            logger.warning("use_reloader: no source directory to watch for %r", self.app)
            return
        self._thread = threading.Thread(
            target=self._run, args=(directories,), name="atila-reloader", daemon=True
        )
        self._thread.start()
        self._ready.wait(5.0)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _run(self, directories: list[str]) -> None:
        from watchfiles import PythonFilter, watch

        logger.info("watching %s for changes", ", ".join(directories))
        app_file = getattr(sys.modules.get(self.app.import_name), "__file__", None)
        app_file = os.path.realpath(app_file) if app_file else None
        self._ready.set()
        for changes in watch(
            *directories,
            watch_filter=PythonFilter(),
            stop_event=self._stop,
            debounce=200,
            step=50,
            yield_on_timeout=False,
        ):
            paths = {os.path.realpath(path) for _, path in changes}
            try:
                if app_file in paths:
                    self.app = reload_app(self.app, paths) or self.app
                else:
                    self.app.services.reload(paths)
            except Exception:  # noqa: BLE001 - the watcher must survive a bad reload
                logger.exception("reloading %s failed", ", ".join(sorted(paths)))


def reload_app(app: Atila, paths: set[str]) -> Atila | None:
    """Reload the module defining ``app`` (and the other changed modules); return the new app.

    The module must keep the app in the same attribute.  Order: the other
    changed modules are reloaded, ``app``'s services unmounted (``__umount__``)
    after ``before_reload``, the app's module reloaded, and the new app takes
    over: the old app's preference, engine context and reloader, its services
    mounted, ``reloaded`` and ``mounted_or_reloaded`` sent.  The engine keeps
    calling the old app object, which hands every call to the newest one.
    A module that does not compile, or fails to import, leaves the old app
    serving (its services mounted again).
    """
    module = sys.modules.get(app.import_name)
    if module is None or module.__name__ == "__main__":
        logger.warning("%s changed: restart the server to apply it", app.import_name)
        return None
    others = [m for m in modules_at(paths) if m is not module]
    if not all(compiles(m) for m in [module, *others]):
        return None
    attribute = next((name for name, value in vars(module).items() if value is app), None)
    if attribute is None:
        logger.warning("cannot reload %s: the app is not one of its attributes", module.__name__)
        return None
    app.emit("before_reload")
    app.services.umount_all()
    app.lifecycle.maintainer.stop()
    try:
        for other in others:
            reload_module(other)
        reload_module(module)
        new = getattr(module, attribute, None)
        if new is None or new is app or not callable(getattr(new, "adopt", None)):
            raise TypeError(f"{module.__name__}.{attribute} is no longer an Atila app")
        new.adopt(app)
    except Exception:  # noqa: BLE001 - a broken edit must not take the app down
        logger.exception("cannot reload %s: the previous version keeps serving", module.__name__)
        app.services.remount_all()
        app.lifecycle.maintainer.start()
        return None
    logger.info("reloaded app %s", module.__name__)
    return new  # type: ignore[no-any-return]
