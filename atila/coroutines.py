"""Handlers that wait without holding a thread: ``@app.coroutine`` generators and
``async def`` handlers.

Spec: "Generator Based Coroutine".  A coroutine handler is a generator:

* ``task = yield was.db(...).execute()`` (any corequest, ``was.Tasks``, a
  ``then``) parks the request until the corequest is done and sends the
  finished task back; the handler thread is free meanwhile;
* ``yield "text"`` / ``yield b"bytes"`` starts streaming the response; from
  then on the generator is the response body and a later corequest is waited
  for on the thread sending the body;
* ``return value`` is the response (or the last chunk when streaming).

An ``async def`` handler runs on the worker's event loop as a task (in the
request's context, so ``was`` works) and may ``await`` corequests
(``await task`` gives the finished task: ``(await task).fetch()``) and any
asyncio code.  Blocking calls in it block the whole worker: use
``was.Thread`` for those.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import weakref
from collections.abc import Callable, Generator, Iterator
from types import GeneratorType
from typing import Any

from skitai.corequests import Corequests, CorequestTimeout, Pending, Task

__all__ = [
    "AsyncCall",
    "Coroutine",
    "Input",
    "LoopCall",
    "ON_LOOP_KEY",
    "as_pending",
    "is_coroutine",
    "mark_coroutine",
]

#: Environ key, True while a request is dispatched on the engine's event loop
#: (:mod:`atila.onloop`): its coroutines then continue there.
ON_LOOP_KEY = "atila.on_loop"

_marked: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def mark_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    """``@app.coroutine``: the handler is a generator-based coroutine."""
    _marked.add(func)
    return func


def is_coroutine(func: Callable[..., Any]) -> bool:
    """True for handlers marked by ``@app.coroutine``."""
    try:
        return func in _marked
    except TypeError:
        return False


def _encode(item: str | bytes) -> bytes:
    return item.encode("utf-8") if isinstance(item, str) else bytes(item)


def wait_for(item: Pending) -> None:
    """Block the calling (handler) thread until ``item`` is ready."""
    ready = threading.Event()
    item.on_ready(ready.set)
    ready.wait()


class Input(Pending):
    """``data = yield was.Input(n)``: up to ``n`` bytes of the request body (``b""`` at
    its end), read on a task thread so the handler thread is free meanwhile."""

    def __init__(self, was: Any, size: int = 65536) -> None:
        from atila.corequests import hub_of

        stream = was.request.env.get("wsgi.input")
        read = stream.read if stream is not None else (lambda _n: b"")
        self.task = hub_of(was).thread(read, (max(1, int(size)),))

    def on_ready(self, fn: Callable[[], None]) -> None:
        self.task.on_ready(fn)

    def resolve(self, *leading: Any) -> bytes:
        return bytes(self.task.fetch())


def _sent_back(item: Pending) -> Any:
    """What a ``yield`` of ``item`` evaluates to: the data for ``was.Input``, else the task."""
    return item.resolve() if isinstance(item, Input) else item


class Coroutine(Pending):
    """Drives a coroutine handler's generator (see the module docstring).

    ``resume_on_loop``: a handler started on the event loop (:mod:`atila.onloop`)
    takes its next steps there too; one started on a handler thread stays on
    handler threads.
    """

    def __init__(self, generator: Generator[Any, Any, Any], on_loop: bool = False) -> None:
        self.resume_on_loop = on_loop
        self._generator = generator
        self._sent: Any = None
        self._waiting: Pending | None = None

    def on_ready(self, fn: Callable[[], None]) -> None:
        if self._waiting is None:
            fn()
        else:
            self._waiting.on_ready(fn)

    def resolve(self, *leading: Any) -> Any:
        if self._waiting is not None:
            self._sent = _sent_back(self._waiting)
            self._waiting = None
        while True:
            try:
                item = self._generator.send(self._sent)
            except StopIteration as stop:
                return stop.value
            if isinstance(item, str | bytes):
                return self._stream(_encode(item))
            if not isinstance(item, Pending):
                self._generator.close()
                raise TypeError(f"a coroutine handler yielded {type(item).__name__}: "
                                "yield corequests, str or bytes")  # fmt: skip
            if isinstance(item, Task) and item.done():
                self._sent = item
                continue
            self._waiting = item
            return self

    def _stream(self, first: bytes) -> Iterator[bytes]:
        generator = self._generator

        def body() -> Iterator[bytes]:
            yield first
            sent: Any = None
            try:
                while True:
                    try:
                        item = generator.send(sent)
                    except StopIteration as stop:
                        if isinstance(stop.value, str | bytes) and stop.value:
                            yield _encode(stop.value)
                        return
                    sent = None
                    if isinstance(item, str | bytes):
                        if item:
                            yield _encode(item)
                    elif isinstance(item, Pending):
                        wait_for(item)
                        sent = _sent_back(item)
                    else:
                        raise TypeError(f"a coroutine handler yielded {type(item).__name__}")
            finally:
                generator.close()

        return _Streamed(body())


class _Streamed:
    """The streamed body (not a generator: it must not be taken for a new coroutine)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class AsyncCall(Pending):
    """An ``async def`` handler's coroutine, running on the worker's loop."""

    #: the response is built on the loop the handler ran on (see DeferredResponse)
    resume_on_loop = True

    def __init__(self, coro: Any, hub: Corequests) -> None:
        self.task = hub.coroutine(coro)

    def on_ready(self, fn: Callable[[], None]) -> None:
        self.task.on_ready(fn)

    def resolve(self, *leading: Any) -> Any:
        return self.task.raw()


class LoopCall(Pending):
    """An ``async def`` handler's coroutine started from the event loop itself (the
    request is dispatched there, :mod:`atila.onloop`): a plain asyncio task, without
    the thread-safe future a corequest carries for readers on other threads."""

    resume_on_loop = True

    def __init__(self, coro: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.task = loop.create_task(coro)

    def on_ready(self, fn: Callable[[], None]) -> None:
        if self.task.done():
            fn()
        else:
            self.task.add_done_callback(lambda _task: fn())

    def resolve(self, *leading: Any) -> Any:
        if self.task.cancelled():  # the worker stops: answered like a cancelled corequest
            raise CorequestTimeout("the handler was cancelled")
        return self.task.result()


def as_pending(result: Any, was: Any) -> Pending | None:
    """``result`` as a :class:`Pending` when the response must wait for it, else None."""
    if isinstance(result, Pending):
        return result
    if inspect.iscoroutine(result):
        if was.request.env.get(ON_LOOP_KEY):
            return LoopCall(result, asyncio.get_running_loop())
        from atila.corequests import hub_of

        return AsyncCall(result, hub_of(was))
    if isinstance(result, GeneratorType):
        route = was.request.route
        if route is not None and (route.options.get("coroutine") or is_coroutine(route.handler)):
            return Coroutine(result, bool(was.request.env.get(ON_LOOP_KEY)))
    return None
