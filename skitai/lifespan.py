"""Worker start and stop for the apps that ask for it (:class:`skitai.types.LifecycleApp`).

In each worker process the engine builds one :class:`~skitai.context.EngineContext`,
calls :func:`start_apps` before serving and :func:`stop_apps` after the
worker drained its requests.  Apps without the hooks are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from skitai.context import AppMount, EngineContext
from skitai.mounts import MountTable
from skitai.states import States
from skitai.types import LifecycleApp

__all__ = ["build_context", "start_apps", "stop_apps"]

logger = logging.getLogger("skitai.lifespan")


def build_context(
    mounts: MountTable,
    states: States,
    *,
    worker_index: int = 0,
    workers: int = 1,
    threads: int = 1,
    devel: bool = False,
    hub: Any = None,
    websocket_clients: Any = None,
) -> EngineContext:
    """The context of one worker: every mount of ``mounts``, the state table and the hub."""
    app_mounts = tuple(
        AppMount(mount.name, mount.point, mount.app) for mount in mounts if mount.app is not None
    )
    static_dirs = tuple(
        (mount.point, mount.static.root) for mount in mounts if mount.static is not None
    )
    return EngineContext(
        app_mounts, states, worker_index, workers, threads, devel, static_dirs=static_dirs,
        hub=hub, websocket_clients=websocket_clients,
    )  # fmt: skip


def start_apps(context: EngineContext) -> list[Any]:
    """Call ``on_worker_start(context)`` of each lifecycle app once; return the started ones.

    When one raises, the apps already started are stopped (in reverse order)
    and the exception propagates: the worker cannot serve.
    """
    started: list[Any] = []
    for app in context.unique_apps():
        if not isinstance(app, LifecycleApp):
            continue
        try:
            app.on_worker_start(context)
        except BaseException:
            stop_apps(started)
            raise
        started.append(app)
    return started


def stop_apps(started: Iterable[Any]) -> None:
    """Call ``on_worker_stop()`` of each started app, last started first; log failures."""
    for app in reversed(list(started)):
        try:
            app.on_worker_stop()
        except Exception:  # noqa: BLE001 - one app's failure must not skip the others
            logger.exception("on_worker_stop of %r failed", app)
