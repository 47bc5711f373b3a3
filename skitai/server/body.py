"""Request bodies: received on the event loop, read by handler threads or ASGI apps.

A body is fed by the protocol (``feed``/``feed_eof``/``abort``, loop side) and
read through the PEP 3333 ``wsgi.input`` interface (thread side) or, by the
ASGI container, with :meth:`RequestBody.next_chunk` (loop side).  Bodies up to
``Config.body_buffer_size`` are complete before the application is called; a
larger body streams, with reading paused while the unread buffer is full.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

from .errors import ClientDisconnected, RequestTimeout


class RequestBody:
    """A request body shared between the event loop and one handler thread."""

    __slots__ = (
        "_chunks",
        "_buffered",
        "_complete",
        "_error",
        "_cond",
        "_high_water",
        "_on_drained",
        "_paused",
        "_read_timeout",
        "_waiter",
        "received",
    )

    def __init__(
        self,
        high_water: int,
        read_timeout: float,
        on_drained: Callable[[], None] | None = None,
    ) -> None:
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._complete = False
        self._error: BaseException | None = None
        self._cond = threading.Condition(threading.Lock())
        self._high_water = high_water
        self._on_drained = on_drained
        self._paused = False
        self._read_timeout = read_timeout
        #: an ASGI receive() waiting on the loop for data (next_chunk)
        self._waiter: asyncio.Future[None] | None = None
        #: total bytes received so far (loop side)
        self.received = 0

    # -- loop side -----------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True once the whole body has been received."""
        return self._complete

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return self._buffered

    def feed(self, data: bytes) -> bool:
        """Append received bytes; return True when the reader should be paused."""
        with self._cond:
            self._chunks.append(data)
            self._buffered += len(data)
            self.received += len(data)
            self._cond.notify()
            if self._buffered >= self._high_water:
                self._paused = True
            self._wake()
            return self._paused

    def feed_eof(self) -> None:
        """Mark the body complete (unless it was aborted: the error stays)."""
        with self._cond:
            if self._error is not None:
                return
            self._complete = True
            self._cond.notify_all()
        self._wake()

    def abort(self, error: BaseException) -> None:
        """Make pending and future reads raise ``error`` (client gone, timeout)."""
        with self._cond:
            if not self._complete:
                self._error = error
            self._cond.notify_all()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    @property
    def exhausted(self) -> bool:
        """True once everything was received and read (loop side)."""
        return self._complete and not self._chunks

    async def next_chunk(self) -> bytes:
        """Loop side (ASGI ``receive``): what is buffered, waiting until something is.

        Returns ``b""`` at the end of the body; raises the error given to
        :meth:`abort` (client gone, body too large, timeout).  Reading frees
        buffer space, so the protocol resumes reading the socket: the client
        sends only as fast as the application asks (back-pressure).
        """
        while not self._chunks and not self._complete:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if not self._chunks:
            return b""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._consumed(len(data))
        return data

    def take_all(self) -> bytes:
        """Return and consume everything buffered (loop side, complete bodies)."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return data

    # -- thread side (wsgi.input) ------------------------------------------------
    def _wait(self) -> None:
        """Block until data, EOF or an error is there (lock held)."""
        while not self._chunks and not self._complete:
            if self._error is not None:
                raise self._error
            if not self._cond.wait(self._read_timeout):
                raise RequestTimeout("request body timed out")
        if not self._chunks and self._error is not None and not self._complete:
            raise self._error

    def _consumed(self, size: int) -> None:
        """Account for ``size`` bytes read; resume the reader below half water."""
        self._buffered -= size
        if self._paused and self._buffered <= self._high_water // 2:
            self._paused = False
            if self._on_drained is not None:
                self._on_drained()

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes (all remaining when negative or None); fewer only at the end.

        Like a buffered file, and like gunicorn's ``wsgi.input``: apps commonly
        call ``read(CONTENT_LENGTH)`` once and expect the whole body.
        """
        parts = []
        remaining = -1 if size is None else size
        while remaining != 0:
            chunk = self._read_some(65536 if remaining < 0 else remaining)
            if not chunk:
                break
            parts.append(chunk)
            if remaining > 0:
                remaining -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_some(self, size: int) -> bytes:
        """Read what is buffered, up to ``size`` bytes, waiting only when nothing is."""
        with self._cond:
            self._wait()
            if not self._chunks:
                return b""
            chunk = self._chunks[0]
            if len(chunk) <= size:
                self._chunks.pop(0)
            else:
                self._chunks[0] = chunk[size:]
                chunk = chunk[:size]
            self._consumed(len(chunk))
            return chunk

    def readline(self, size: int = -1) -> bytes:
        """Read one line (up to and including ``\\n``), at most ``size`` bytes."""
        parts: list[bytes] = []
        total = 0
        with self._cond:
            while size < 0 or total < size:
                self._wait()
                if not self._chunks:
                    break
                chunk = self._chunks[0]
                limit = len(chunk) if size < 0 else min(len(chunk), size - total)
                end = chunk.find(b"\n", 0, limit)
                take = limit if end < 0 else end + 1
                if take == len(chunk):
                    self._chunks.pop(0)
                else:
                    self._chunks[0] = chunk[take:]
                parts.append(chunk[:take])
                total += take
                self._consumed(take)
                if end >= 0:
                    break
        return b"".join(parts)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """Read lines until EOF (or about ``hint`` bytes)."""
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


__all__ = ["RequestBody", "ClientDisconnected"]
