"""The message hub between the processes of one application (``environ["skitai.hub"]``).

Two backends behind one interface, :class:`~skitai.hub.base.Hub`:

* embedded (the default, nothing to install or start): the workers of one
  server reach each other through a Unix socket the server owns
  (:mod:`skitai.hub.embedded`);
* Redis, given ``skitai.run(broker="redis://host:6379/0")``, ``--broker URL``
  or ``SKITAI_BROKER``: every engine on every host sharing the broker
  (:mod:`skitai.hub.redis`).

The engine makes a :class:`HubPlan` in the master before forking and asks it
for each worker's hub after the fork; the worker starts the hub on its loop.
Over it the engine routes WebSocket pushes to the worker holding the client
(:class:`skitai.server.websocket.ClientRegistry`), and frameworks carry rooms
and events (Atila's ``WS_GROUPCHAT`` and ``was.broadcast``).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .base import DEFAULT_GRACE, DEFAULT_TIMEOUT, HUB_ENVIRON_KEY, Hub, node_id

__all__ = [
    "DEFAULT_GRACE", "DEFAULT_TIMEOUT", "HUB_ENVIRON_KEY", "Hub", "HubPlan", "check_broker",
    "node_id",
]  # fmt: skip


def check_broker(broker: str) -> None:
    """``ValueError`` unless ``broker`` is empty (the embedded hub) or a usable Redis URL."""
    if broker:
        from .redis import check_broker_url

        check_broker_url(broker)


def redact(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class HubPlan:
    """The master's choice of backend, made before the fork.

    ``broker`` empty: the embedded hub (its socket is made now, so the workers
    inherit it); else a Redis URL (checked now: a bad URL or a missing redis
    package is a ``ValueError`` before any worker starts).  ``namespace``
    keeps applications sharing a Redis apart (the app name).
    """

    def __init__(self, broker: str = "", namespace: str = "skitai") -> None:
        self.broker = broker
        self.namespace = namespace
        self._socket = None
        check_broker(broker)
        if not broker:
            from .embedded import EmbeddedHubSocket

            self._socket = EmbeddedHubSocket()

    def hub(self) -> Hub:
        """A new hub for this worker process (after the fork; start it on the loop)."""
        if self._socket is not None:
            return self._socket.hub()
        from .redis import RedisHub

        return RedisHub(self.broker, self.namespace)

    def describe(self) -> str:
        """For the start-up log line (a password in the broker URL is not shown)."""
        return f"broker {redact(self.broker)}" if self.broker else "embedded hub"

    def close(self) -> None:
        """Remove what the plan made (the master, after its workers stopped)."""
        if self._socket is not None:
            self._socket.close()
