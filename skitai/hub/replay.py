"""The replay table across hosts, when the engines share a broker.

On one host the workers share the :class:`~skitai.replay.ReplayTable` in
memory.  With a broker, :class:`SharedReplay` wraps it (it is what
``environ["skitai.replay"]`` holds then) and keeps the
:class:`~skitai.types.ReplaySet` contract across hosts:

* ``add_if_absent`` asks this host's table first (a replay within the host is
  refused without a round trip), then claims the key in the broker with
  ``SET NX PX`` (atomic: of two hosts offered the same digest ``nc`` at once,
  one wins), and tells the other hosts, which record it in their tables;
* ``contains`` reads this host's table only (the fast path of revocation
  checks stays memory), which the other hosts' announcements keep complete;
* ``discard`` forgets the key here, in the broker and on the other hosts;
* after each (re)connection a worker records the broker's live keys in its
  table, so a host that was cut off catches up.

While the broker is unreachable the checks hold within this host only: the
key is recorded here, the failure is logged (once per outage), and the
answer is this host's (a replay sent to another host during the outage could
pass; refusing every digest login and token instead would turn a broker
restart into an outage of the application).
"""

from __future__ import annotations

import hashlib
import logging
import struct
import time

from skitai.replay import ReplayTable

from .base import Hub

__all__ = ["REPLAY_TOPIC", "SharedReplay"]

logger = logging.getLogger("skitai.hub")

#: The hub topic announcing recorded and discarded keys to the other hosts.
REPLAY_TOPIC = "skitai.replay"
#: Broker key names: ``replay:<blake2b of the key>``.
_PREFIX = "replay:"
_ADD, _DISCARD = b"a", b"d"
_TTL = struct.Struct("!d")


def _name(key: bytes) -> str:
    return _PREFIX + hashlib.blake2b(key, digest_size=16).hexdigest()


class SharedReplay:
    """A :class:`~skitai.replay.ReplayTable` whose keys hold on every host sharing ``hub``."""

    def __init__(self, table: ReplayTable, hub: Hub) -> None:
        self.table = table
        self.hub = hub
        self._degraded = False
        hub.subscribe(REPLAY_TOPIC, self._apply)
        hub.on_connect(self._catch_up)

    def add_if_absent(self, key: bytes, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds on every host; False for a replay (or full)."""
        if not self.table.add_if_absent(key, ttl):
            return False
        claimed = self.hub.claim(_name(key), key, ttl)
        if claimed is False:
            return False  # another host recorded it first: a replay
        if claimed is None:
            self._note_degraded()
        else:
            self._degraded = False
        self.hub.publish(REPLAY_TOPIC, _ADD + _TTL.pack(ttl) + key)
        return True

    def contains(self, key: bytes) -> bool:
        """True when ``key`` is recorded (here, or announced by another host)."""
        return self.table.contains(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.contains(key)

    def discard(self, key: bytes) -> bool:
        """Forget ``key`` on every host; True when it was recorded here or in the broker."""
        here = self.table.discard(key)
        there = self.hub.release(_name(key))
        self.hub.publish(REPLAY_TOPIC, _DISCARD + _TTL.pack(0.0) + key)
        return here or bool(there)

    def _note_degraded(self) -> None:
        if not self._degraded:
            self._degraded = True
            logger.error("replay checks hold within this host only until the broker is back")

    def _apply(self, data: bytes) -> None:
        op, (ttl,), key = data[:1], _TTL.unpack_from(data, 1), data[1 + _TTL.size :]
        if op == _ADD:
            self.table.add_if_absent(key, ttl)
        elif op == _DISCARD:
            self.table.discard(key)

    async def _catch_up(self) -> None:
        began = time.monotonic()
        for key, left in await self.hub.claimed(_PREFIX):
            left -= time.monotonic() - began
            if left > 0:
                self.table.add_if_absent(key, left)
