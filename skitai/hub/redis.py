"""The Redis hub: every engine on every host that shares the broker acts as one application.

Chosen with ``skitai.run(broker="redis://host:6379/0")``, ``--broker URL`` or
the ``SKITAI_BROKER`` environment variable.  It needs the ``redis`` package
(``pip install atila-stack[redis]``, redis-py's asyncio API).

Each topic is a Redis pub/sub channel ``skitai:<app name>:<topic>`` (pub/sub
ignores database numbers, so the app name, ``--name`` or the script's name,
keeps two applications on one Redis apart).  A worker holds two connections:
one subscribed to its topics, one publishing.  One task publishes, in
pipelined batches, in the order messages were posted: Redis delivers each
connection's messages in order, so each sender's order holds.

A broker that is down, restarting or unreachable never reaches a request:
publishing happens on the loop in the background, connection attempts time
out (``socket_connect_timeout``), and the subscriber reconnects with a
growing pause (up to 1 s) and subscribes again.  Messages posted meanwhile
wait ``grace`` seconds, then are dropped (see :mod:`skitai.hub.base`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .base import Hub

__all__ = ["RedisHub", "check_broker_url"]

logger = logging.getLogger("skitai.hub")

#: Seconds to wait for a connection to the broker.
CONNECT_TIMEOUT = 2.0
#: Messages published in one pipeline at most.
BATCH = 512
#: Pauses between reconnection attempts, growing.
RETRY_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0)
_SCHEMES = ("redis://", "rediss://", "unix://")


def check_broker_url(url: str) -> str:
    """Return ``url`` if it names a Redis broker and redis-py is installed; else ValueError."""
    if not url.startswith(_SCHEMES):
        raise ValueError(f"the broker must be a redis://, rediss:// or unix:// URL, not {url!r}")
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise ValueError(
            "the broker needs the redis package: pip install 'atila-stack[redis]'"
        ) from None
    return url


class RedisHub(Hub):
    """A worker's hub over Redis pub/sub."""

    kind = "redis"
    spans_hosts = True

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__()
        self.url = url
        self.prefix = f"skitai:{namespace}:"
        self._client: Any = None
        self._pubsub: Any = None
        #: ``(topic, payload)`` to publish, or ``(record, (field, value))`` to HSET
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        #: failed connection attempts in a row (sets the pause before the next)
        self._attempts = 0
        self._listening: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self._client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=CONNECT_TIMEOUT, socket_keepalive=True
        )
        self._queue = asyncio.Queue()
        publisher = asyncio.get_running_loop().create_task(self._publish_forever(RedisError))
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._listening = loop.create_task(self._listen())
                try:
                    await self._listening
                    reason: object = "subscription ended"
                except (RedisError, OSError) as exc:
                    reason = exc
                except asyncio.CancelledError:
                    if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                        raise  # the worker stops
                    reason = "publishing failed"  # _reconnect(): subscribe anew
                self._disconnected(reason)
                await self._close_pubsub()
                await asyncio.sleep(RETRY_DELAYS[min(self._attempts, len(RETRY_DELAYS) - 1)])
                self._attempts += 1
        finally:
            publisher.cancel()
            await self._close_pubsub()
            await self._client.aclose()

    async def _listen(self) -> None:
        """Subscribe to every topic, then hand over messages until the connection fails."""
        pubsub = self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*(self.prefix + topic for topic in self.topics))
        await self._client.ping()  # the publishing connection answers too
        self._connected()
        self._attempts = 0
        prefix_size = len(self.prefix)
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            channel = message["channel"].decode()
            self._receive(channel[prefix_size:], message["data"])

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except (OSError, RuntimeError) as exc:  # a connection already broken
                logger.debug("closing the hub's subscription: %s", exc)

    async def _publish_forever(self, errors: type[Exception]) -> None:
        """Publish what :meth:`_send` queued, in order, batch by batch."""
        queue = self._queue
        assert queue is not None
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < BATCH:
                batch.append(queue.get_nowait())
            pipeline = self._client.pipeline(transaction=False)
            for name, value in batch:
                if isinstance(value, tuple):
                    pipeline.hset(self.prefix + name, *value)
                else:
                    pipeline.publish(self.prefix + name, value)
            try:
                counts = await pipeline.execute()
            except (errors, OSError) as exc:
                self._disconnected(exc)
                # sent again, first, once the broker is back (records catch up by themselves)
                self._hold_again([item for item in batch if not isinstance(item[1], tuple)])
                self._reconnect()
                continue
            for (topic, payload), count in zip(batch, counts, strict=True):
                if count == 0 and topic.startswith("node."):
                    self._undeliverable(topic, payload)

    def _reconnect(self) -> None:
        """Publishing failed: connect and subscribe anew, then send what waits."""
        if self._listening is not None:
            self._listening.cancel()

    def _send(self, topic: str, payload: bytes) -> None:
        assert self._queue is not None
        self._queue.put_nowait((topic, payload))

    def remember(self, record: str, field: str, value: bytes) -> None:
        """HSET ``field`` of hash ``skitai:<name>:<record>``, in order with the messages."""
        if self.loop is not None and self.connected:
            self._call_on_loop(self._queue_record, record, field, value)

    def _queue_record(self, record: str, field: str, value: bytes) -> None:
        if self._queue is not None:
            self._queue.put_nowait((record, (field, value)))

    def claim(self, name: str, value: bytes, ttl: float) -> bool | None:
        """``SET name value NX PX ttl``, waiting at most :attr:`timeout` (a handler thread)."""
        milliseconds = max(1, int(ttl * 1000))
        answer = self._command(lambda c: c.set(self.prefix + name, value, nx=True, px=milliseconds))
        return None if answer is _UNAVAILABLE else answer is not None

    def release(self, name: str) -> bool | None:
        """``DEL name``, waiting at most :attr:`timeout` (a handler thread)."""
        answer = self._command(lambda c: c.delete(self.prefix + name))
        return None if answer is _UNAVAILABLE else bool(answer)

    def _command(self, command: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run one Redis command from a handler thread; :data:`_UNAVAILABLE` if it cannot."""
        from redis.exceptions import RedisError

        loop = self.loop
        if loop is None or asyncio._get_running_loop() is loop or not self._wait_until_up():
            return _UNAVAILABLE
        future = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(command(self._client), self.timeout), loop
        )
        try:
            return future.result(self.timeout + 1.0)
        except (RedisError, OSError, TimeoutError, concurrent.futures.TimeoutError) as exc:
            logger.warning("hub: the broker did not answer: %s", exc or type(exc).__name__)
            return _UNAVAILABLE

    async def claimed(self, prefix: str) -> list[tuple[bytes, float]]:
        """SCAN the keys named ``prefix*`` with their values and time left."""
        from redis.exceptions import RedisError

        found: list[tuple[bytes, float]] = []
        try:
            names = [n async for n in self._client.scan_iter(self.prefix + prefix + "*", 1000)]
            for start in range(0, len(names), 1000):
                pipeline = self._client.pipeline(transaction=False)
                for name in names[start : start + 1000]:
                    pipeline.get(name)
                    pipeline.pttl(name)
                answers = await pipeline.execute()
                for value, left in zip(answers[::2], answers[1::2], strict=True):
                    if value is not None and left > 0:
                        found.append((value, left / 1000))
        except (RedisError, OSError) as exc:
            logger.warning("hub: cannot read the keys %r from the broker: %s", prefix, exc)
        return found

    async def recall(self, record: str) -> dict[str, bytes]:
        """HGETALL of ``skitai:<name>:<record>`` (empty when the broker does not answer)."""
        from redis.exceptions import RedisError

        try:
            found = await asyncio.wait_for(
                self._client.hgetall(self.prefix + record), CONNECT_TIMEOUT
            )
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("hub: cannot read %r from the broker: %s", record, exc)
            return {}
        return {field.decode(): value for field, value in found.items()}

    def _subscribe_remote(self, topic: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None:
            task = asyncio.get_running_loop().create_task(pubsub.subscribe(self.prefix + topic))
            task.add_done_callback(_ignore_failure)


#: What :meth:`RedisHub._command` returns when the broker cannot answer.
_UNAVAILABLE = object()


def _ignore_failure(task: asyncio.Task[Any]) -> None:
    # A failed SUBSCRIBE means a broken connection: the listener reconnects and
    # subscribes to every topic again.
    if not task.cancelled():
        task.exception()
