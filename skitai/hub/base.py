"""The message hub's interface: topics between the processes of one application.

A :class:`Hub` lives in each worker process (``environ["skitai.hub"]`` and
``EngineContext.hub``).  It carries opaque ``bytes`` between processes:

* :meth:`Hub.publish` sends to the subscribers of a topic in every *other*
  process (the caller handles its own process itself, at once, so that local
  delivery never depends on the hub);
* :meth:`Hub.subscribe` registers a callback for a topic, on the event loop
  (``blocking=False``) or on the hub's own thread, one message at a time;
* :meth:`Hub.request` asks one process (a *node*) to run a named service and
  waits, bounded by ``timeout``, for its answer: how a WebSocket push reaches
  the worker holding the client and learns whether the client took it.

Messages from one sender reach each receiver in the order they were sent.
The backends (:mod:`skitai.hub.embedded`, :mod:`skitai.hub.redis`) only move
frames; everything else is here.

Faults: while the transport is down, messages wait in an outbox for up to
``grace`` seconds (a worker replacing the relay, a broker restarting); after
that :meth:`publish` returns False and drops them, logged once per outage,
until the transport is back.  Nothing here ever blocks the event loop, and a
handler thread waits at most ``timeout`` in :meth:`request`.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import os
import secrets
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_TIMEOUT",
    "HUB_ENVIRON_KEY",
    "Hub",
    "Service",
    "Subscriber",
    "node_id",
]

logger = logging.getLogger("skitai.hub")

#: The WSGI environ key holding the worker's :class:`Hub`.
HUB_ENVIRON_KEY = "skitai.hub"
#: Seconds :meth:`Hub.request` waits for an answer by default.
DEFAULT_TIMEOUT = 2.0
#: Seconds messages wait in the outbox while the transport is down.
DEFAULT_GRACE = 2.0
#: Messages the outbox holds at most while the transport is down.
OUTBOX_LIMIT = 100_000

#: ``callback(data)`` for a message of a subscribed topic.
Subscriber = Callable[[bytes], None]
#: ``service(data) -> answer`` run on the event loop for :meth:`Hub.request`.
Service = Callable[[bytes], bytes | None]

# Every payload starts with this header: the sender's node, the kind, a
# correlation number (requests and replies) and the length of a service name.
_HEADER = struct.Struct("!8sBQB")
_MESSAGE, _REQUEST, _REPLY = 0, 1, 2
_NO_ANSWER = b"\x00"  # a reply without an answer (the service returned None)


def node_id() -> str:
    """This process's node id: 8 hex digits, new in every process (checked by pid)."""
    pid = os.getpid()
    if _node[0] != pid:
        _node[:] = [pid, secrets.token_hex(4)]
    return str(_node[1])


_node: list[Any] = [0, ""]


def _log_hook_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("hub: a connect hook failed", exc_info=task.exception())


def node_topic(node: str) -> str:
    """The topic every node subscribes to for the requests and replies sent to it."""
    return "node." + node


class Hub:
    """One process's end of the message hub (the backend-independent part).

    Backends implement :meth:`_run` (connect, keep connected, call
    :meth:`_connected`/:meth:`_disconnected`, hand received payloads to
    :meth:`_receive`), :meth:`_send` (write one payload for a topic; called on
    the loop only while connected) and :meth:`_subscribe_remote`.
    """

    #: the backend's name, for logs: ``embedded`` or ``redis``
    kind = "base"
    #: whether it reaches other hosts (a broker); one host shares memory instead
    spans_hosts = False

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, grace: float = DEFAULT_GRACE) -> None:
        self.node = node_id()
        self.timeout = timeout
        self.grace = grace
        self.loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[str, list[tuple[Subscriber, bool]]] = {}
        self._services: dict[str, Service] = {}
        self._waiting: dict[int, asyncio.Future[bytes | None]] = {}
        self._numbers = itertools.count(1)
        #: ``(deadline, topic, payload)`` held while the transport is down
        self._outbox: collections.deque[tuple[float, str, bytes]] = collections.deque()
        self._up = False
        #: set while up: what a handler thread waits on (within ``grace``) before a command
        self._up_event = threading.Event()
        #: monotonic time the transport went down (None while up; 0.0 before the first connect)
        self._down_since: float | None = 0.0
        self._dropping = False
        self._blocking = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="skitai-hub")
        self._task: asyncio.Task[None] | None = None
        self._connect_hooks: list[Callable[[], Awaitable[None]]] = []

    # -- any thread -------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while messages flow to the other processes."""
        return self._up

    def subscribe(self, topic: str, callback: Subscriber, *, blocking: bool = False) -> None:
        """Call ``callback(data)`` for each message published to ``topic`` by another process.

        It runs on the event loop and must not block, unless ``blocking`` is
        True: then it runs on the hub's thread, one message at a time, in order.
        """
        first = topic not in self._subscribers
        self._subscribers.setdefault(topic, []).append((callback, blocking))
        if first and self.loop is not None:
            self._call_on_loop(self._subscribe_remote, topic)

    def provide(self, service: str, handler: Service) -> None:
        """Answer :meth:`request` calls for ``service`` with ``handler(data)`` (on the loop)."""
        self._services[service] = handler

    def publish(self, topic: str, data: bytes) -> bool:
        """Send ``data`` to the subscribers of ``topic`` in every other process.

        True when it went out or waits in the outbox for the transport to
        come back (within ``grace``); False when the hub is down longer than
        that or not started: the message is dropped (and logged).
        """
        return self._post(topic, self._pack(_MESSAGE, 0, "", data), self.grace)

    def request(
        self, node: str, service: str, data: bytes, timeout: float | None = None
    ) -> bytes | None:
        """Run ``service`` on ``node`` with ``data`` and return its answer (a handler thread).

        None when the node does not answer within ``timeout`` (default
        :attr:`timeout`), does not exist, has no such service, its answer was
        None, or the hub is down.  On the event loop use :meth:`arequest`.
        """
        loop = self.loop
        if loop is None or not self._accepting():
            return None
        if asyncio._get_running_loop() is loop:
            raise RuntimeError("Hub.request() would block the event loop: await arequest()")
        wait = self.timeout if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(self.arequest(node, service, data, wait), loop)
        try:
            return future.result(wait + 1.0)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            return None

    def notify(self, node: str, service: str, data: bytes) -> bool:
        """Run ``service`` on ``node`` without waiting for its answer (True: sent)."""
        return self._post(node_topic(node), self._pack(_REQUEST, 0, service, data), self.grace)

    def on_connect(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``await hook()`` on the loop after each (re)connection (to catch up)."""
        self._connect_hooks.append(hook)

    def remember(self, record: str, field: str, value: bytes) -> None:
        """Keep ``field`` of the shared ``record`` in the broker (for processes that
        start or reconnect later; see :meth:`recall`).  Nothing without a broker."""

    def claim(self, name: str, value: bytes, ttl: float) -> bool | None:
        """Set key ``name`` in the broker for ``ttl`` seconds unless it is set (a handler
        thread; atomic across hosts).  True: it was not set; False: it was; None: no
        broker, the broker is unavailable, or called on the event loop."""
        return None

    def release(self, name: str) -> bool | None:
        """Delete key ``name`` from the broker (True: it was set; None as :meth:`claim`)."""
        return None

    # -- event loop -------------------------------------------------------------------
    async def recall(self, record: str) -> dict[str, bytes]:
        """Every field of the shared ``record`` the broker keeps (empty without one)."""
        return {}

    async def claimed(self, prefix: str) -> list[tuple[bytes, float]]:
        """``(value, seconds left)`` of every key :meth:`claim` set whose name starts
        with ``prefix`` (empty without a broker)."""
        return []

    async def arequest(
        self, node: str, service: str, data: bytes, timeout: float | None = None
    ) -> bytes | None:
        """:meth:`request` for the event loop."""
        loop = asyncio.get_running_loop()
        number = next(self._numbers)
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._waiting[number] = future
        wait = self.timeout if timeout is None else timeout
        try:
            payload = self._pack(_REQUEST, number, service, data)
            # held no longer than the asker waits: a late push must not arrive after a False
            if not self._post(node_topic(node), payload, min(wait, self.grace)):
                return None
            return await asyncio.wait_for(future, wait)
        except TimeoutError:
            logger.warning("hub: node %s did not answer %r in time", node, service)
            return None
        finally:
            self._waiting.pop(number, None)

    def start(self) -> None:
        """Start moving messages (on the worker's running loop)."""
        self.loop = asyncio.get_running_loop()
        self._down_since = time.monotonic()
        self._task = self.loop.create_task(self._run(), name=f"skitai-hub-{self.kind}")
        self._task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._up = False
            self._up_event.clear()
            logger.critical("hub (%s) stopped", self.kind, exc_info=task.exception())

    async def close(self) -> None:
        """Stop (pending requests answer None)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._blocking.shutdown(wait=False)

    # -- for the backends (event loop) ------------------------------------------------
    @property
    def topics(self) -> list[str]:
        """Every topic this process subscribes to: its node's, then the subscribers'."""
        return [node_topic(self.node), *self._subscribers]

    def _connected(self) -> None:
        """The transport is up (and subscribed): send what waited."""
        if self._down_since is not None and self._dropping:
            logger.warning("hub (%s): connected again; cross-process messages flow", self.kind)
        self._up, self._down_since, self._dropping = True, None, False
        self._up_event.set()
        outbox, self._outbox = self._outbox, collections.deque()
        now = time.monotonic()
        for deadline, topic, payload in outbox:
            if deadline >= now:  # else its sender was told False (or stopped waiting)
                self._send(topic, payload)
        loop = asyncio.get_running_loop()
        for hook in self._connect_hooks:
            loop.create_task(hook()).add_done_callback(_log_hook_failure)

    def _disconnected(self, reason: object) -> None:
        """The transport is down: hold messages for ``grace`` seconds, then drop them."""
        if self._up:
            logger.warning("hub (%s): connection lost (%s); reconnecting", self.kind, reason)
        self._up = False
        self._up_event.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()

    def _receive(self, topic: str, payload: bytes) -> None:
        """A payload from the transport: dispatch it to the topic's subscribers."""
        if len(payload) < _HEADER.size:
            return
        origin, kind, number, name_size = _HEADER.unpack_from(payload)
        if origin.decode("ascii") == self.node and kind == _MESSAGE:
            return  # our own message, echoed by a broadcast transport (Redis)
        start = _HEADER.size + name_size
        data = payload[start:]
        if kind != _MESSAGE:
            name = payload[_HEADER.size : start].decode()
            self._on_request_or_reply(origin.decode("ascii"), kind, number, name, data)
            return
        for callback, blocking in self._subscribers.get(topic, ()):
            if blocking:
                self._blocking.submit(self._call, callback, data)
            else:
                self._call(callback, data)

    def _undeliverable(self, topic: str, payload: bytes) -> None:
        """Nobody subscribes to ``topic`` (the transport knows): fail a request at once."""
        if len(payload) >= _HEADER.size:
            _, kind, number, _ = _HEADER.unpack_from(payload)
            future = self._waiting.get(number) if kind == _REQUEST else None
            if future is not None and not future.done():
                future.set_result(None)

    def _send(self, topic: str, payload: bytes) -> None:
        raise NotImplementedError

    def _subscribe_remote(self, topic: str) -> None:
        """Subscribe to ``topic`` on the current connection, if any (else the next
        connection subscribes to every topic)."""
        raise NotImplementedError

    async def _run(self) -> None:
        raise NotImplementedError

    # -- internals ----------------------------------------------------------------------
    def _pack(self, kind: int, number: int, name: str, data: bytes) -> bytes:
        encoded = name.encode()
        return _HEADER.pack(self.node.encode("ascii"), kind, number, len(encoded)) + encoded + data

    def _wait_until_up(self) -> bool:
        """A handler thread: whether the transport is up, waiting while it may come
        back within ``grace`` (a worker starting, a broker restarting)."""
        if self._up:
            return True
        down = self._down_since
        if down is None or not self._accepting():
            return False
        return self._up_event.wait(max(0.0, self.grace - (time.monotonic() - down)))

    def _accepting(self) -> bool:
        """Whether a message posted now goes out or waits within ``grace``."""
        down = self._down_since
        if self._up or (down is not None and time.monotonic() - down <= self.grace):
            return True
        if not self._dropping:
            self._dropping = True
            logger.error(
                "hub (%s): down for over %.1fs; cross-process messages dropped until it is back",
                self.kind,
                self.grace,
            )
        return False

    def _post(self, topic: str, payload: bytes, hold: float) -> bool:
        if self.loop is None or not self._accepting():
            return False
        self._call_on_loop(self._send_or_hold, topic, payload, time.monotonic() + hold)
        return True

    def _send_or_hold(self, topic: str, payload: bytes, deadline: float) -> None:
        if self._up:
            self._send(topic, payload)
        elif len(self._outbox) < OUTBOX_LIMIT:
            self._outbox.append((deadline, topic, payload))

    def _hold_again(self, items: list[tuple[str, bytes]]) -> None:
        """Messages the transport failed to send: first in line once it is back."""
        deadline = time.monotonic() + self.grace
        for topic, payload in reversed(items):
            self._outbox.appendleft((deadline, topic, payload))

    def _call_on_loop(self, func: Callable[..., None], *args: Any) -> None:
        loop = self.loop
        assert loop is not None
        if asyncio._get_running_loop() is loop:
            func(*args)
        else:
            loop.call_soon_threadsafe(func, *args)

    def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - one subscriber must not stop the others
            logger.exception("hub subscriber %r failed", callback)

    def _on_request_or_reply(
        self, origin: str, kind: int, number: int, name: str, data: bytes
    ) -> None:
        if kind == _REPLY:
            future = self._waiting.get(number)
            if future is not None and not future.done():
                future.set_result(None if data == _NO_ANSWER else data[1:])
            return
        service = self._services.get(name)
        if service is None:
            logger.warning("hub: node %s asked for unknown service %r", origin, name)
            answer = None
        else:
            try:
                answer = service(data)
            except Exception:  # noqa: BLE001 - the asker gets None, this process goes on
                logger.exception("hub service %r failed", name)
                answer = None
        if number:  # 0: a notification, nobody waits
            reply = _NO_ANSWER if answer is None else b"\x01" + answer
            reply = self._pack(_REPLY, number, "", reply)
            self._send_or_hold(node_topic(origin), reply, time.monotonic() + self.timeout)
