"""``register_states``/``setlu``/``getlu`` across hosts, when the engines share a broker.

On one host the workers share the :class:`~skitai.states.StateTable` in
memory: a ``setlu`` is seen by every worker at once, with no message.  With a
broker, :class:`SharedStates` wraps that table (it is what
``environ["skitai.states"]`` and ``EngineContext.states`` hold then):

* ``getlu`` reads the local table (the fast path stays memory);
* ``setlu`` writes it, publishes ``{key: timestamp}`` on the hub and keeps
  the value in the broker (a Redis hash), so other hosts advance their tables
  (the latest timestamp wins, whatever order updates arrive in);
* after each (re)connection a worker reads the broker's values and advances
  its table, and writes back the values its table has that are later, so an
  engine started later, or a host cut off from the broker for a while,
  catches up by itself.

While the broker is down ``setlu`` still works on this host; other hosts see
the update once it is back.
"""

from __future__ import annotations

import json
import logging

from skitai.states import StateTable

from .base import Hub

__all__ = ["STATES_RECORD", "STATES_TOPIC", "SharedStates"]

logger = logging.getLogger("skitai.hub")

#: The hub topic carrying ``setlu`` updates between hosts.
STATES_TOPIC = "skitai.states"
#: The broker record (a Redis hash) holding the latest value of each key.
STATES_RECORD = "states"


class SharedStates:
    """A :class:`~skitai.states.StateTable` kept in step with other hosts through ``hub``."""

    def __init__(self, table: StateTable, hub: Hub) -> None:
        self.table = table
        self.hub = hub
        hub.subscribe(STATES_TOPIC, self._apply)
        hub.on_connect(self._catch_up)

    def __contains__(self, key: object) -> bool:
        return key in self.table

    def setlu(self, key: str, timestamp: float | None = None) -> float:
        """Record that ``key`` was updated at ``timestamp`` (default: now), on every host."""
        value = self.table.setlu(key, timestamp)
        self._share(key, value)
        return value

    def _share(self, key: str, value: float) -> None:
        self.hub.publish(STATES_TOPIC, json.dumps({key: value}).encode())
        self.hub.remember(STATES_RECORD, key, repr(value).encode())

    def getlu(self, key: str) -> float:
        """The last update time of ``key`` known on this host."""
        return self.table.getlu(key)

    def _apply(self, data: bytes) -> None:
        for key, value in json.loads(data).items():
            if key in self.table:
                self.table.advance(key, float(value))

    async def _catch_up(self) -> None:
        kept = await self.hub.recall(STATES_RECORD)
        for key, local in self.table.items():
            remote = float(kept[key]) if key in kept else 0.0
            if remote > local:
                self.table.advance(key, remote)
            elif local > remote and local > self.table.created:
                # set here while the broker was away (or it forgot): tell the others now
                self._share(key, local)
