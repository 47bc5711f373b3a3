"""The embedded hub: the workers of one server talk through a Unix socket it owns.

Nothing to install or start.  Before forking, the master creates a private
directory holding a listening Unix socket (``hub.sock``) and a lock file
(:class:`EmbeddedHubSocket`).  Every worker inherits the listener and
connects to it.  One worker at a time, the *relay*, accepts those connections
and forwards frames; the others wait for the lock in a thread:

* the relay holds an exclusive ``flock`` on the lock file; the kernel lets it
  go when the process exits, however it exits, and the next worker in line
  takes it and starts accepting on the same (inherited) listener;
* connections made while no worker accepts wait in the listener's backlog,
  and what the workers wrote waits in their socket buffers, so a worker that
  dies, the relay included, takes with it only its own clients and the frames
  the relay had read but not forwarded yet; the others reconnect at once.

Frames are length-prefixed: ``!I`` size, then an operation byte (``S``
subscribe, ``U`` unsubscribe, ``P`` publish, ``N`` nobody subscribes, ``H``
hello and ``W`` welcome), ``!H`` topic size, the topic and the payload.  A
worker sends its subscriptions then ``H``; the relay answers ``W`` once it
got that far, and only then does the worker count as connected (until then,
and while no relay accepts, its messages wait in the hub's outbox).  The
relay forwards a publish frame as it came to every other connection
subscribed to its topic, each over one stream, so messages from one sender
arrive in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shutil
import socket
import struct
import tempfile
import threading

from .base import Hub

__all__ = ["EmbeddedHub", "EmbeddedHubSocket"]

logger = logging.getLogger("skitai.hub")

_SIZE = struct.Struct("!I")
_TOPIC = struct.Struct("!cH")
_SUBSCRIBE, _UNSUBSCRIBE, _PUBLISH, _NOBODY = b"S", b"U", b"P", b"N"
_HELLO, _WELCOME = b"H", b"W"
#: Largest frame accepted (a WebSocket message is at most 1 MiB by default).
MAX_FRAME = 64 << 20
#: Output a relay lets pile up for one slow worker before it cuts that worker off.
MAX_BACKLOG = 64 << 20
#: Seconds between attempts to reach the relay's socket.
RETRY_DELAYS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0)


def frame(op: bytes, topic: str, payload: bytes = b"") -> bytes:
    """One frame of the embedded hub's protocol."""
    encoded = topic.encode()
    body = _TOPIC.pack(op, len(encoded)) + encoded + payload
    return _SIZE.pack(len(body)) + body


def parse(body: bytes) -> tuple[bytes, str, bytes]:
    """``(op, topic, payload)`` of a frame body (without its size)."""
    op, size = _TOPIC.unpack_from(body)
    start = _TOPIC.size
    return op, body[start : start + size].decode(), body[start + size :]


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The next frame body; ``IncompleteReadError`` at the end, ``ValueError`` if too big."""
    (size,) = _SIZE.unpack(await reader.readexactly(_SIZE.size))
    if size > MAX_FRAME or size < _TOPIC.size:
        raise ValueError(f"hub frame of {size} bytes refused")
    return await reader.readexactly(size)


class EmbeddedHubSocket:
    """The master's part: a private directory with the listener and the lock file.

    Made before the fork so every worker inherits the listener; :meth:`close`
    (in the master, once the workers are gone) removes the directory.
    """

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="skitai-hub-")  # mode 0700: ours only
        self.path = os.path.join(self.directory, "hub.sock")
        self.lock_path = os.path.join(self.directory, "relay.lock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1024)
        self._master = os.getpid()

    def hub(self) -> EmbeddedHub:
        """The hub of a worker process (call after the fork)."""
        return EmbeddedHub(self.path, self.lock_path, self.listener)

    def close(self) -> None:
        """Close the listener and remove the directory (in the master only)."""
        self.listener.close()
        if os.getpid() == self._master:
            shutil.rmtree(self.directory, ignore_errors=True)


class EmbeddedHub(Hub):
    """A worker's hub over the relay's Unix socket; it becomes the relay when its turn comes."""

    kind = "embedded"

    def __init__(self, path: str, lock_path: str, listener: socket.socket) -> None:
        super().__init__()
        self._path = path
        self._lock_path = lock_path
        self._listener = listener
        self._writer: asyncio.StreamWriter | None = None
        self._relay: _Relay | None = None
        #: the loop keeps only a weak reference to a task: without this one the relay's
        #: task can be garbage-collected while it serves ("Task was destroyed but it is
        #: pending!"), and every cross-worker message is dropped from then on
        self._relay_task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=_wait_for_lock, args=(self._lock_path, loop, self._become_relay),
            name="skitai-hub-lock", daemon=True,
        ).start()  # fmt: skip
        attempt = 0
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(self._path)
            except OSError as exc:
                self._disconnected(exc)
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
                continue
            attempt = 0
            self._writer = writer
            for topic in self.topics:
                writer.write(frame(_SUBSCRIBE, topic))
            writer.write(frame(_HELLO, ""))  # connected once the relay answers it
            try:
                await self._read(reader)
                reason: object = "the relay closed the connection"
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                reason = exc
            finally:
                self._writer = None
                writer.close()
            self._disconnected(reason)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            op, topic, payload = parse(await read_frame(reader))
            if op == _PUBLISH:
                self._receive(topic, payload)
            elif op == _NOBODY:
                self._undeliverable(topic, payload)
            elif op == _WELCOME:
                self._connected()

    def _send(self, topic: str, payload: bytes) -> None:
        if self._writer is not None and self.connected:
            self._writer.write(frame(_PUBLISH, topic, payload))

    def _subscribe_remote(self, topic: str) -> None:
        if self._writer is not None:
            self._writer.write(frame(_SUBSCRIBE, topic))

    def _become_relay(self) -> None:
        """The lock is ours: accept the workers' connections from now on."""
        self._relay = _Relay()
        task = asyncio.get_running_loop().create_task(self._relay.serve(self._listener))
        task.add_done_callback(_log_failure)
        self._relay_task = task
        logger.info("hub: worker %d relays the embedded hub", os.getpid())


def _wait_for_lock(path: str, loop: asyncio.AbstractEventLoop, then: object) -> None:
    """Thread: block until this process holds the relay lock, then tell the loop."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held until the process exits
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the worker stops
        loop.call_soon_threadsafe(then)  # type: ignore[arg-type]


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("hub relay stopped", exc_info=task.exception())


class _Relay:
    """Forward publish frames between the workers' connections, by topic."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[asyncio.StreamWriter]] = {}

    async def serve(self, listener: socket.socket) -> None:
        server = await asyncio.start_unix_server(self._serve_worker, sock=listener)
        async with server:
            await server.serve_forever()

    async def _serve_worker(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        topics: set[str] = set()
        try:
            while True:
                body = await read_frame(reader)
                op, topic, _ = parse(body)
                if op == _PUBLISH:
                    self._forward(writer, topic, body)
                elif op == _SUBSCRIBE:
                    topics.add(topic)
                    self.subscribers.setdefault(topic, set()).add(writer)
                elif op == _UNSUBSCRIBE:
                    topics.discard(topic)
                    self._drop(writer, topic)
                elif op == _HELLO:
                    writer.write(frame(_WELCOME, ""))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass  # the worker went away (or spoke nonsense): forget it
        except asyncio.CancelledError:
            # This worker stops.  Ending normally spares the log asyncio's complaint
            # about a cancelled connection task (Python 3.11's start_unix_server).
            pass
        finally:
            for topic in topics:
                self._drop(writer, topic)
            writer.close()

    def _forward(self, sender: asyncio.StreamWriter, topic: str, body: bytes) -> None:
        data = _SIZE.pack(len(body)) + body
        delivered = False
        for writer in self.subscribers.get(topic, ()):
            if writer is sender or writer.is_closing():
                continue
            if writer.transport.get_write_buffer_size() > MAX_BACKLOG:
                logger.error("hub relay: a worker reads too slowly; cutting it off")
                writer.close()
                continue
            writer.write(data)
            delivered = True
        if not delivered and topic.startswith("node."):
            sender.write(_SIZE.pack(len(body)) + _NOBODY + body[1:])

    def _drop(self, writer: asyncio.StreamWriter, topic: str) -> None:
        writers = self.subscribers.get(topic)
        if writers is not None:
            writers.discard(writer)
            if not writers:
                del self.subscribers[topic]
