"""``was.Map`` / ``was.Mapped``: a JSON response mapping names to corequest results.

Spec: "Map / Mapped Response".  A :class:`Map` is a
:class:`~skitai.corequests.Pending`: the handler returns it at once and the
engine builds the response when every corequest is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atila import responses
from skitai.corequests import Corequests, CorequestTimeout, Pending, Task, TaskGroup, when_all

if TYPE_CHECKING:
    from atila.was import Was

__all__ = ["MAP_OPTIONS", "Map", "Mapped"]

#: ``was.Map`` options (keyword names starting with ``__``).
MAP_OPTIONS = ("__timeout", "__mtime", "__etag", "__maxage")


def _mapped_value(name: str, value: Any) -> tuple[str, Any]:
    """Apply the naming rules: ``x``, ``x__one``, ``x__one__FIELD``, ``x__FIELD``."""
    if not isinstance(value, Pending):
        return name, value
    key, _, rule = name.partition("__")
    if not rule:
        return key, _fetch(value)
    head, _, field = rule.partition("__")
    if head == "one":
        row = value.one() if isinstance(value, Task) else _fetch(value)
        return key, row[field] if field else row
    row = value.one() if isinstance(value, Task) else _fetch(value)
    return key, row[rule]


def _fetch(value: Pending) -> Any:
    fetch = getattr(value, "fetch", None)
    return fetch(0) if isinstance(value, Task) else (fetch() if fetch else value.resolve())


def _dotted(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)] if part.isdigit() else (data[0][part] if data else None)
        else:
            data = data[part]
    return data


class Map(Pending):
    """``was.Map(status=None, *tasks, name=task_or_value, __timeout=, __mtime=, __etag=,
    __maxage=)``: a JSON response mapping names to corequest results.

    Unnamed tasks are waited for and left out.  ``name__one`` maps the only
    row, ``name__one__FIELD`` (or ``name__FIELD``) one field of it.
    ``__mtime``/``__etag`` name a value by dotted path (``"result.0.updated"``)
    for ``Last-Modified``/``ETag``; ``__maxage`` sets ``Cache-Control``;
    ``__timeout`` answers ``504`` if the tasks are not all done in time.
    """

    def __init__(self, *args: Any, **named: Any) -> None:
        self.status: Any = None
        if args and isinstance(args[0], str | int) and not isinstance(args[0], bool):
            self.status, args = args[0], args[1:]
        self.options = {key: named.pop(key) for key in MAP_OPTIONS if key in named}
        self.unnamed = [a for a in args if isinstance(a, Pending)]
        self.named = named
        #: the hub whose loop times ``__timeout`` (set by ``was.Map``; else a timer thread)
        self.hub: Corequests | None = None

    def _pending(self) -> list[Pending]:
        return [*self.unnamed, *(v for v in self.named.values() if isinstance(v, Pending))]

    @property
    def resume_on_loop(self) -> bool:
        """True when every corequest is a plain task (or group of them): building the
        JSON then runs no handler code that could block (no ``then`` callback)."""
        return all(_plain(item) for item in self._pending())

    def on_ready(self, fn: Callable[[], None]) -> None:
        timeout = self.options.get("__timeout")
        if timeout is None:
            when_all(self._pending(), fn)
            return
        fired = threading.Event()
        lock = threading.Lock()

        def once() -> None:
            with lock:
                if fired.is_set():
                    return
                fired.set()
            fn()

        if self.hub is not None:
            loop = self.hub.loop
            loop.call_soon_threadsafe(loop.call_later, float(timeout), once)
        else:
            timer = threading.Timer(float(timeout), once)
            timer.daemon = True
            timer.start()
        when_all(self._pending(), once)

    def resolve(self, *leading: Any) -> Any:
        was = leading[0] if leading else None
        for task in self.unnamed:
            _fetch_or_timeout(task)
        payload: dict[str, Any] = {}
        for name, value in self.named.items():
            if isinstance(value, Pending):
                _ready_or_timeout(value)
            key, data = _mapped_value(name, value)
            payload[key] = data
        if was is not None:
            self._cache_headers(was, payload)
        return responses.API(self.status, **payload) if self.status else responses.API(payload)

    def _cache_headers(self, was: Was, payload: dict[str, Any]) -> None:
        options = self.options
        maxage = int(options.get("__maxage") or 0)
        etag = options.get("__etag")
        mtime = options.get("__mtime")
        if etag and mtime:
            was.response.set_etag_mtime(
                str(_dotted(payload, etag)), _dotted(payload, mtime), max_age=maxage
            )
        elif etag:
            was.response.set_etag(str(_dotted(payload, etag)), max_age=maxage)
        elif mtime:
            was.response.set_mtime(_dotted(payload, mtime), max_age=maxage)
        elif maxage:
            was.response.set_header("Cache-Control", f"max-age={maxage}")


def _plain(item: Pending) -> bool:
    if type(item) is Task:
        return True
    return type(item) is TaskGroup and all(_plain(task) for task in item)


def _ready_or_timeout(value: Pending) -> None:
    done = getattr(value, "done", None)
    if done is not None and not done():
        raise CorequestTimeout("was.Map: corequests not finished in time")
    if isinstance(value, TaskGroup):
        for task in value:
            _ready_or_timeout(task)


def _fetch_or_timeout(task: Pending) -> Any:
    _ready_or_timeout(task)
    return _fetch(task)


def Mapped(was: Was, tasks: TaskGroup, status: Any = None, **options: Any) -> Map:  # noqa: N802
    """``was.Mapped(was.Tasks(...))``: :class:`Map` over a task group's names."""
    unnamed = [t for name, t in tasks.items() if name is None]
    named = {name: t for name, t in tasks.items() if name is not None}
    args = (status, *unnamed) if status else tuple(unnamed)
    return Map(*args, **named, **options)
