"""The handler thread pool: ``threads`` threads per worker process.

A deliberately small pool: a ``SimpleQueue`` of calls and N daemon threads.
It avoids the future objects of ``concurrent.futures`` because every request
passes through it and results travel back by ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("skitai.threads")


class HandlerPool:
    """Run callables on a fixed set of threads."""

    def __init__(self, size: int, name: str = "skitai-handler") -> None:
        self.size = max(1, size)
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None]
        self._queue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
            for i in range(self.size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; exceptions are logged, never lost silently."""
        self._queue.put((fn, args))

    def _run(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:
                logger.exception("unhandled error in handler thread")

    def shutdown(self, timeout: float | None = None) -> None:
        """Let queued work finish, then stop the threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
