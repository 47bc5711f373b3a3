"""Response payloads: body iterables, files with validators and ranges, queues.

The machinery behind :mod:`atila.responses`:

* :class:`Body` turns the documented body objects (``str``/``bytes``, file-like
  with ``read()``, iterators and generators, objects with ``more()``, lists of
  those) into one iterable of bytes whose ``close()`` closes them all;
* :class:`File` (``was.File``) and :class:`Static` (``was.Static``) with
  :func:`serve_file`: ``ETag``/``Last-Modified``, 304, single ``Range`` → 206/416;
* :class:`StreamQueue` and :class:`QueueBody` behind ``was.Queue``;
* the header-list helpers and conditional-request checks both modules share.
"""

from __future__ import annotations

import datetime as dt
import io
import mimetypes
import os
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from email.utils import formatdate, parsedate_to_datetime
from types import GeneratorType
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from atila.errors import HTTPError

CHUNK_SIZE = 64 * 1024
Headers = list[tuple[str, str]]


class RequestView(Protocol):
    """The request facts file serving and 304 checks need (a ResponseContext)."""

    method: str
    if_none_match: str | None
    if_modified_since: str | None
    range: str | None
    if_range: str | None
    static_root: str | None
    static_url: str
    static_dirs: tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- headers


def get_header(headers: Headers, name: str, default: str | None = None) -> str | None:
    """The first value of ``name`` in a header list (case-insensitive)."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return default


def remove_header(headers: Headers, name: str) -> None:
    """Remove every ``name`` header from the list, in place."""
    wanted = name.lower()
    headers[:] = [item for item in headers if item[0].lower() != wanted]


def setdefault_header(headers: Headers, name: str, value: str) -> None:
    """Append ``name: value`` unless the list already has ``name``."""
    if get_header(headers, name) is None:
        headers.append((name, value))


# --------------------------------------------------------------------------- validators


def to_timestamp(value: Any) -> float | None:
    """Epoch seconds from a number, a datetime (naive = UTC) or an HTTP date."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    try:
        return parsedate_to_datetime(str(value)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison) or is ``*``."""
    if header.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(candidate) == wanted for candidate in header.split(","))


def is_fresh(ctx: RequestView, etag: str | None, mtime: float | None, length: int | None) -> bool:
    """Whether a GET/HEAD client's cached copy is current (answer 304).

    ``If-None-Match`` decides when present; otherwise ``If-Modified-Since``
    (with the legacy ``; length=n`` compared to ``length`` when both are given).
    """
    if ctx.method not in ("GET", "HEAD"):
        return False
    if ctx.if_none_match:
        return etag is not None and etag_matches(ctx.if_none_match, etag)
    if ctx.if_modified_since and mtime is not None:
        date, _, extra = ctx.if_modified_since.partition(";")
        since = to_timestamp(date.strip())
        if since is None:
            return False
        key, _, claimed = extra.strip().partition("=")
        if length is not None and key.lower() == "length" and claimed.strip() != str(length):
            return False
        return int(mtime) <= since
    return False


# --------------------------------------------------------------------------- bodies


def _read_chunks(read: Callable[[int], Any]) -> Iterator[Any]:
    while chunk := read(CHUNK_SIZE):
        yield chunk


def _call_chunks(produce: Callable[[], Any]) -> Iterator[Any]:
    while True:
        try:
            chunk = produce()
        except StopIteration:
            return
        if not chunk:
            return
        yield chunk


def _source(part: Any) -> Iterator[Any]:
    """The chunk iterator of one body part; ``TypeError`` when it is none of the kinds."""
    if isinstance(part, str | bytes | bytearray | memoryview):
        return iter((part,))
    if isinstance(part, Mapping):
        raise TypeError("a dict inside a list/tuple body cannot be sent; return was.API")
    read = getattr(part, "read", None)
    if callable(read):
        return _read_chunks(read)
    more = getattr(part, "more", None)
    if callable(more):
        return _call_chunks(more)
    if hasattr(part, "__iter__"):
        return iter(part)
    produce = getattr(part, "next", None) or getattr(part, "_next", None)
    if callable(produce):
        return _call_chunks(produce)
    raise TypeError(f"cannot send {type(part).__name__} as a response body")


def _part_length(part: Any) -> int | None:
    if isinstance(part, str):
        return len(part.encode("utf-8"))
    if isinstance(part, bytes | bytearray):
        return len(part)
    if isinstance(part, memoryview):
        return part.nbytes
    if isinstance(part, io.BytesIO):
        with part.getbuffer() as view:
            return max(view.nbytes - part.tell(), 0)
    if isinstance(part, io.BufferedReader | io.FileIO):
        try:
            info = os.fstat(part.fileno())
            if stat.S_ISREG(info.st_mode):
                return max(info.st_size - part.tell(), 0)
        except (OSError, ValueError):
            return None
    return None


class Body:
    """The body parts of a response as one iterable of bytes.

    ``length`` is the total size when every part's size is known (strings,
    bytes, regular binary files), else ``None``; ``content_type`` is guessed
    from a lone named file. ``close()`` (also run when the parts are exhausted)
    closes every part that has ``close()``.
    """

    def __init__(self, parts: list[Any]) -> None:
        self._parts = parts
        self._sources = [_source(part) for part in parts]
        self._index = 0
        self._closed = False
        lengths = [_part_length(part) for part in parts]
        self.length: int | None = None if None in lengths else sum(lengths)  # type: ignore[arg-type]
        name = getattr(parts[0], "name", None) if len(parts) == 1 else None
        self.content_type = mimetypes.guess_type(name)[0] if isinstance(name, str) else None

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        while self._index < len(self._sources):
            for chunk in self._sources[self._index]:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                elif not isinstance(chunk, bytes | bytearray | memoryview):
                    raise TypeError(f"body chunk must be str or bytes, not {type(chunk).__name__}")
                if chunk:
                    return bytes(chunk)
            self._index += 1
        self.close()
        raise StopIteration

    def close(self) -> None:
        """Close every part (once)."""
        if self._closed:
            return
        self._closed = True
        for source in self._sources:
            if isinstance(source, GeneratorType):
                source.close()
        for part in self._parts:
            close = getattr(part, "close", None)
            if callable(close):
                close()


# --------------------------------------------------------------------------- files


class File:
    """``was.File(path, mimetype=None, filename=None)``: stream a local file.

    The type is guessed from ``filename`` or ``path`` when not given;
    ``filename`` also sends ``Content-Disposition: attachment``. A missing or
    non-regular file raises :class:`HTTPError` 404 at once.
    """

    def __init__(
        self, path: str | os.PathLike[str], mimetype: str | None = None, filename: str | None = None
    ) -> None:
        self.path = os.fspath(path)
        try:
            info = os.stat(self.path)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise HTTPError(404, "file not found")
        self.stat = info
        guessed = mimetypes.guess_type(filename or self.path)[0]
        self.mimetype = mimetype or guessed or "application/octet-stream"
        self.filename = filename


class Static:
    """``was.Static(url)``: answer with a file of the app's static directory.

    ``url`` is a static URL (``"/robots.txt"``, ``was.static("a.css")``) or a
    path relative to the static directory; it is resolved when the response is
    built, never outside that directory. Without a static directory of the app
    (``pref.set_static``), the engine's static mount (``skitai.mount("/",
    "./static")``) with the longest point prefixing ``url`` is used.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def resolve(
        self,
        static_root: str | None,
        static_url: str = "/",
        static_dirs: tuple[tuple[str, str], ...] = (),
    ) -> File:
        """The :class:`File` for ``url``; :class:`HTTPError` 404 when there is none."""
        path = unquote(urlsplit(self.url).path)
        if not static_root:
            for point, directory in sorted(static_dirs, key=lambda d: -len(d[0])):
                if point == "/" or path == point or path.startswith(point + "/"):
                    static_root, static_url = directory, point
                    break
            else:
                raise HTTPError(404, "no static directory is configured")
        prefix = static_url or "/"
        if path.startswith(prefix):
            path = path[len(prefix) :]
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if any(part == ".." or "\\" in part or "\x00" in part for part in parts):
            raise HTTPError(404, "file not found")
        root = os.path.realpath(static_root)
        full = os.path.realpath(os.path.join(root, *parts))
        if os.path.commonpath([root, full]) != root:
            raise HTTPError(404, "file not found")
        return File(full)


class FileChunks:
    """``length`` bytes of a file from ``start``, read in chunks; ``close()`` closes it."""

    def __init__(self, path: str, start: int, length: int) -> None:
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError:
            raise HTTPError(404, "file not found") from None
        if start:
            self._file.seek(start)
        self._left = length

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        chunk = self._file.read(min(CHUNK_SIZE, self._left)) if self._left > 0 else b""
        if not chunk:
            self.close()
            raise StopIteration
        self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        """Close the file."""
        self._file.close()


UNSATISFIABLE = (-1, -1)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a single ``bytes=`` range, :data:`UNSATISFIABLE`, or ``None``.

    ``None`` means "ignore the header and send everything" (another unit,
    several ranges, or a malformed value).
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if not first:
        if not last or int(last) == 0:
            return UNSATISFIABLE
        return max(size - int(last), 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return start, min(int(last), size - 1) if last else size - 1


def _if_range_allows(if_range: str | None, etag: str, mtime: float) -> bool:
    if not if_range:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    since = to_timestamp(value)
    return since is not None and int(mtime) == int(since)


def serve_file(
    obj: File | Static, status: str, headers: Headers, ctx: RequestView
) -> tuple[str, Any, int | None]:
    """``(status, body, length)`` for a :class:`File`/:class:`Static`; sets its headers.

    With a 200 status: 304 when the client's copy is current, 206 for a
    satisfiable single range, 416 for an unsatisfiable one. HEAD opens nothing.
    """
    if isinstance(obj, Static):
        file = obj.resolve(ctx.static_root, ctx.static_url, ctx.static_dirs)
    else:
        file = obj
    info = file.stat
    size, mtime = info.st_size, info.st_mtime
    etag = f'"{info.st_mtime_ns:x}-{size:x}"'
    setdefault_header(headers, "Content-Type", file.mimetype)
    remove_header(headers, "ETag")
    remove_header(headers, "Last-Modified")
    headers += [("ETag", etag), ("Last-Modified", formatdate(mtime, usegmt=True))]
    setdefault_header(headers, "Accept-Ranges", "bytes")
    if file.filename:
        ascii_name = file.filename.encode("ascii", "replace").decode().replace('"', "")
        disposition = f'attachment; filename="{ascii_name}"'
        if ascii_name != file.filename:
            disposition += f"; filename*=UTF-8''{quote(file.filename)}"
        headers.append(("Content-Disposition", disposition))
    start, length = 0, size
    if status.startswith("200"):
        if is_fresh(ctx, etag, mtime, None):
            return "304 Not Modified", b"", None
        if ctx.range and _if_range_allows(ctx.if_range, etag, mtime):
            selected = parse_range(ctx.range, size)
            if selected == UNSATISFIABLE:
                headers.append(("Content-Range", f"bytes */{size}"))
                return "416 Range Not Satisfiable", b"", 0
            if selected is not None:
                start, length = selected[0], selected[1] - selected[0] + 1
                headers.append(("Content-Range", f"bytes {selected[0]}-{selected[1]}/{size}"))
                status = "206 Partial Content"
    if ctx.method == "HEAD":
        return status, b"", length
    return status, FileChunks(file.path, start, length), length


# --------------------------------------------------------------------------- queues


class StreamClosed(Exception):
    """Raised by :meth:`StreamQueue.put` once the response is closed: stop producing."""


class StreamQueue:
    """What a ``was.Queue`` producer writes to: ``put(item)``; ``put(None)`` ends.

    Bounded, so the producer waits while the client is slow; ``put`` raises
    :class:`StreamClosed` after the response was closed (client gone).
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self._maxsize = maxsize
        self.closed = False

    def _has_room(self) -> bool:
        return self.closed or len(self._items) < self._maxsize

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item`` (``str``/``bytes``; ``None`` ends the stream)."""
        with self._cond:
            if block and not self._cond.wait_for(self._has_room, timeout):
                raise TimeoutError("stream queue is full")
            if self.closed:
                raise StreamClosed("the response was closed")
            self._items.append(item)
            self._cond.notify_all()

    def get(self) -> Any:
        """Take the next item, waiting for one."""
        with self._cond:
            self._cond.wait_for(lambda: self._items)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def finish(self) -> None:
        """End the stream, even when the queue is full."""
        with self._cond:
            self._items.append(None)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop accepting items; wakes a waiting producer."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class QueueBody:
    """The body of a ``was.Queue`` response: starts the producer thread on first read."""

    def __init__(self, producer: Callable[[StreamQueue], Any]) -> None:
        self.producer = producer
        self.queue = StreamQueue()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __iter__(self) -> QueueBody:
        return self

    def __next__(self) -> bytes:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="atila-queue", daemon=True)
            self.thread.start()
        while True:
            item = self.queue.get()
            if item is None:
                self.close()
                if self.error is not None:
                    raise RuntimeError("the queue producer failed") from self.error
                raise StopIteration
            chunk = item if isinstance(item, bytes) else str(item).encode("utf-8")
            if chunk:
                return chunk

    def _run(self) -> None:
        try:
            self.producer(self.queue)
        except StreamClosed:
            pass
        except Exception as exc:  # noqa: BLE001 - user code; re-raised by the reader
            self.error = exc
        finally:
            self.queue.finish()

    def close(self) -> None:
        """Tell the producer to stop (its next ``put`` raises :class:`StreamClosed`)."""
        self.queue.close()


__all__ = [
    "Body",
    "CHUNK_SIZE",
    "File",
    "FileChunks",
    "QueueBody",
    "Static",
    "StreamClosed",
    "StreamQueue",
    "UNSATISFIABLE",
    "etag_matches",
    "get_header",
    "is_fresh",
    "parse_range",
    "remove_header",
    "serve_file",
    "setdefault_header",
    "to_timestamp",
]
