"""Rooms and broadcasts across processes, over the engine's message hub.

Under Skitai each worker has a hub (``EngineContext.hub``, also
``environ["skitai.hub"]``: the embedded one between the workers of a server,
or Redis between every engine sharing a broker).  An app's
:class:`Messaging` subscribes, when the worker starts, to:

* ``atila.broadcast``: ``was.broadcast(event, *args)`` from any process; each
  app runs its ``@app.on_broadcast`` handlers once, on the hub's thread (they
  may block), in the order the sender broadcast;
* ``atila.rooms:<app import name>``: what a ``WS_GROUPCHAT`` handler returned
  in another process, sent to this worker's members of the room.

The sender delivers in its own process itself, at once; the hub carries the
message to the others.  Broadcast arguments cross processes as JSON, so
they must be JSON values (a ``TypeError`` otherwise, in every process count,
so code tried with one worker behaves the same with many).  Without a hub
(another WSGI server, the in-process test client) there are no other
processes to reach.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atila.app import Atila
    from atila.websocket import WebSocketRoute

__all__ = ["BROADCAST_TOPIC", "Messaging"]

logger = logging.getLogger("atila.messaging")

#: The hub topic of ``was.broadcast``.
BROADCAST_TOPIC = "atila.broadcast"


class Messaging:
    """One app's end of the hub: publishes its rooms and broadcasts, receives others'."""

    def __init__(self, app: Atila) -> None:
        self.app = app
        #: the worker's hub once the app started under Skitai (None otherwise)
        self.hub: Any = None
        #: WS_GROUPCHAT routes by room key (see :meth:`add_room`)
        self.rooms: dict[str, WebSocketRoute] = {}

    @property
    def room_topic(self) -> str:
        return "atila.rooms:" + self.app.import_name

    def attach(self, hub: Any) -> None:
        """Subscribe to the app's topics on ``hub`` (once, when the worker starts)."""
        if hub is None or self.hub is not None:
            return
        self.hub = hub
        hub.subscribe(BROADCAST_TOPIC, self._on_broadcast, blocking=True)
        hub.subscribe(self.room_topic, self._on_room)

    def adopt(self, old: Messaging) -> None:
        """Continue ``old``'s subscriptions (a reloaded app): they reach the newest app."""
        self.hub = old.hub

    def add_room(self, key: str, route: WebSocketRoute) -> None:
        """Make ``route`` (a WS_GROUPCHAT route) a room spanning every process."""
        self.rooms[key] = route

    # -- sending (any thread) ---------------------------------------------------------
    @staticmethod
    def encode_broadcast(event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        """The broadcast as it crosses processes; TypeError for non-JSON arguments."""
        try:
            return json.dumps({"event": event, "args": args, "kwargs": kwargs}).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"broadcast {event!r}: arguments reach other workers as JSON ({exc})"
            ) from None

    def publish_broadcast(self, data: bytes) -> bool:
        """Send an encoded broadcast to the other processes (True: on its way, or none)."""
        return self.hub is None or self.hub.publish(BROADCAST_TOPIC, data)

    def publish_room(self, key: str, message: str | bytes) -> bool:
        """Send a room message to the room's members in the other processes."""
        if self.hub is None:
            return True
        kind, body = (b"t", message.encode()) if isinstance(message, str) else (b"b", message)
        return bool(self.hub.publish(self.room_topic, key.encode() + b"\0" + kind + body))

    # -- receiving (hub) ------------------------------------------------------------------
    def _on_broadcast(self, data: bytes) -> None:
        message = json.loads(data)
        app = self.app.newest()
        app.broadcasts.emit(
            app.lifecycle.event_was(), message["event"], *message["args"], **message["kwargs"]
        )

    def _on_room(self, data: bytes) -> None:
        key, _, rest = data.partition(b"\0")
        route = self.app.newest().messaging.rooms.get(key.decode())
        if route is None:
            return
        body = rest[1:]
        route.send_here(body.decode() if rest[:1] == b"t" else body)
