"""What a worker tells the applications it serves about the server.

An :class:`EngineContext` is built once per worker process, after the fork.
The engine hands it to every mounted app that has the lifecycle hooks of
:class:`skitai.types.LifecycleApp` (``on_worker_start(context)`` /
``on_worker_stop()``) and puts it in each request's WSGI environ under
:data:`CONTEXT_ENVIRON_KEY` (``environ["skitai.context"]``), next to the shared
state table (``environ["skitai.states"]``) and the cross-worker replay table
(``environ["skitai.replay"]``, :mod:`skitai.replay`) and the message hub
(``environ["skitai.hub"]``, :mod:`skitai.hub`).

It is how apps find each other (seed section "Cross App Communication"):
:attr:`EngineContext.mounts` lists every app mount with its name and point,
so a framework can offer ``was.apps["search"]`` or build a URL into another
app.  The engine never looks inside the apps it lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from skitai.states import States

__all__ = ["CONTEXT_ENVIRON_KEY", "AppMount", "EngineContext"]

#: The WSGI environ key holding the worker's :class:`EngineContext`.
CONTEXT_ENVIRON_KEY = "skitai.context"


@dataclasses.dataclass(frozen=True)
class AppMount:
    """One mounted application: its mount name, URL point and WSGI callable."""

    name: str
    point: str
    app: Any


@dataclasses.dataclass(frozen=True)
class EngineContext:
    """The server as one worker sees it (read-only).

    ``mounts`` are the app mounts in mount order (static directories are not
    listed); ``states`` is the cross-worker table behind
    ``skitai.register_states``; ``worker_index`` counts from 0 to
    ``workers - 1``; ``threads`` is the worker's handler thread count;
    ``static_dirs`` are the static directory mounts as ``(point, directory)``
    pairs, in mount order (so an app can answer with one of their files);
    ``hub`` is the worker's message hub to the other workers and hosts
    (:class:`skitai.hub.Hub`, also ``environ["skitai.hub"]``) and
    ``websocket_clients`` the WebSocket client registry
    (:class:`skitai.server.websocket.ClientRegistry`: ``send(client_id,
    message)`` reaches a client on any worker); both None outside the engine.
    """

    mounts: tuple[AppMount, ...]
    states: States
    worker_index: int = 0
    workers: int = 1
    threads: int = 1
    devel: bool = False
    static_dirs: tuple[tuple[str, str], ...] = ()
    hub: Any = None
    websocket_clients: Any = None

    @property
    def apps(self) -> Mapping[str, Any]:
        """Mounted apps by mount name (the first mount wins when a name repeats)."""
        found: dict[str, Any] = {}
        for mount in self.mounts:
            found.setdefault(mount.name, mount.app)
        return found

    def point_of(self, app: Any) -> str | None:
        """The URL point ``app`` is (first) mounted at, or None when it is not mounted."""
        return next((m.point for m in self.mounts if m.app is app), None)

    def unique_apps(self) -> Iterator[Any]:
        """Each mounted app once, in mount order (an app may be mounted at several points)."""
        seen: set[int] = set()
        for mount in self.mounts:
            if id(mount.app) not in seen:
                seen.add(id(mount.app))
                yield mount.app
