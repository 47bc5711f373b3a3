"""Function, process and shell-command corequests (``was.Thread``, ``was.Process``,
``was.Subprocess``): blocking work kept off the handler threads and the loop.

* threads: one :class:`~concurrent.futures.ThreadPoolExecutor` per worker
  (the function runs in a copy of the caller's context, so context variables
  such as Atila's ``was`` stay visible);
* processes: a ``forkserver`` process pool, created on first use (the function
  and its arguments must be picklable);
* shell commands: ``asyncio.create_subprocess_shell`` on the loop; the result
  is the command's standard output as text (``CorequestError`` with its
  standard error when it exits non-zero).
"""

from __future__ import annotations

import asyncio
import contextvars
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from .errors import CorequestError

#: Threads per worker for ``was.Thread`` (and ``ThreadPass``) by default.
DEFAULT_TASK_THREADS = 8


class TaskRunners:
    """The executors behind function and process corequests (one per worker)."""

    def __init__(self, threads: int = DEFAULT_TASK_THREADS) -> None:
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="skitai-task")
        self._processes: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def thread(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a task thread in the caller's context."""
        context = contextvars.copy_context()
        return self._threads.submit(context.run, fn, *args, **kwargs)

    def process(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` in a worker process of the pool."""
        with self._lock:
            if self._processes is None:
                self._processes = ProcessPoolExecutor(
                    mp_context=multiprocessing.get_context("forkserver")
                )
            pool = self._processes
        return pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Stop the executors (queued work is dropped)."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)


async def run_shell(command: str, timeout: float | None) -> str:
    """Run ``command`` in a shell; its standard output (``CorequestError`` on failure)."""
    process = await asyncio.create_subprocess_shell(
        command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode:
        message = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise CorequestError(f"{command!r} failed: {message}", "500 Internal Server Error")
    return out.decode(errors="replace")


__all__ = ["DEFAULT_TASK_THREADS", "TaskRunners", "run_shell"]
