"""Per-request hooks and autoruns (spec "Registering Per Request Calling Functions",
"Define Autoruns").

:class:`RequestHooks` runs ``before_request``, ``finish_request``,
``failed_request`` and ``teardown_request`` functions around a handler in
exactly the documented order::

    try:
        try:
            content = before_request(was)      # each hook; the first non-None answers
            if content is not None:
                return content
            content = view(was, ...)
        except Exception:
            content = failed_request(was, sys.exc_info())   # first non-None wins
            if content is None:
                raise
        else:
            finish_request(was)
    finally:
        teardown_request(was)
    return content

``run_before``/``run_after`` functions are per handler (see
:class:`atila.endpoint.Endpoint`); :func:`run_autoruns` calls them.
:class:`FileModified` is the ``run_before`` function behind
``@app.if_file_modified`` (spec "Define Conditional Prework").
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["FileModified", "Hook", "RequestHooks", "run_autoruns"]

Hook = Callable[..., Any]


class RequestHooks:
    """The app's per-request hook functions, each list in registration order."""

    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.finish: list[Hook] = []
        self.failed: list[Hook] = []
        self.teardown: list[Hook] = []

    def __bool__(self) -> bool:
        return bool(self.before or self.finish or self.failed or self.teardown)

    def run(self, was: Any, view: Callable[[], Any]) -> Any:
        """Call ``view()`` inside the hooks; return its content (or a hook's)."""
        try:
            try:
                for hook in self.before:
                    content = hook(was)
                    if content is not None:
                        return content
                content = view()
            except Exception:
                content = self._failed(was, sys.exc_info())
                if content is None:
                    raise
            else:
                for hook in self.finish:
                    hook(was)
        finally:
            for hook in self.teardown:
                hook(was)
        return content

    def _failed(self, was: Any, exc_info: Any) -> Any:
        for hook in self.failed:
            content = hook(was, exc_info)
            if content is not None:
                return content
        return None


def run_autoruns(
    was: Any, before: Sequence[Hook], after: Sequence[Hook], view: Callable[[], Any]
) -> Any:
    """``@app.run_before`` functions, then ``view()``, then ``@app.run_after`` functions.

    A ``run_before`` function returning anything but None answers the request
    instead (the later ones and the view are skipped, ``run_after`` too).
    ``run_after`` return values are ignored.
    """
    for func in before:
        content = func(was)
        if content is not None:
            return content
    content = view()
    for func in after:
        func(was)
    return content


class FileModified:
    """Calls ``func(was, path)`` before a handler once ``path``'s mtime has changed.

    The file is looked at no more often than every ``interval`` seconds; its
    mtime when the decorator was applied is the starting point, so ``func``
    runs only for later changes (a missing file counts as mtime 0).
    """

    def __init__(self, path: str, func: Hook, interval: float = 1.0) -> None:
        self.path = path
        self.func = func
        self.interval = interval
        self._lock = threading.Lock()
        self._mtime = self._current_mtime()
        self._checked = time.monotonic()

    def _current_mtime(self) -> float:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return 0.0

    def __call__(self, was: Any) -> None:
        now = time.monotonic()
        if now - self._checked < self.interval:
            return None
        with self._lock:
            if now - self._checked < self.interval:
                return None
            self._checked = now
            mtime = self._current_mtime()
            changed = mtime != self._mtime
            self._mtime = mtime
        if changed:
            self.func(was, self.path)
        return None
