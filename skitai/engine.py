"""The engine: the mount table and configuration behind ``skitai.mount``/``skitai.run``.

An ``Engine`` is set up in the master process (mounts, aliases, options), then
``run`` parses the command line and either serves in the foreground through
the :class:`~skitai.workers.Supervisor` or acts as a daemon command.

Development mode (``--devel``, ``Config.devel``) changes four things: one
worker; log level DEBUG; ``environ["skitai.devel"]`` is True in every
request (:data:`DEVEL_ENVIRON_KEY`: frameworks show tracebacks, and a WSGI
app that raises gets its traceback in the 500 body); and the server runs
under the :class:`~skitai.reloader.Reloader`, which starts a new server when a
source file changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cli
from .config import Config
from .context import CONTEXT_ENVIRON_KEY
from .corequests import ENVIRON_KEY as COREQUESTS_ENVIRON_KEY
from .corequests import Corequests
from .dispatch import MountDispatcher
from .hub import HUB_ENVIRON_KEY, HubPlan, check_broker
from .hub.replay import SharedReplay
from .hub.states import SharedStates
from .lifespan import build_context, start_apps, stop_apps
from .mounts import Mount, MountTable, normalize_mount_args
from .preference import Preference
from .reloader import Reloader, watched_roots
from .replay import REPLAY_ENVIRON_KEY, ReplayTable
from .server.threads import HandlerPool
from .server.websocket import clients as websocket_clients
from .server.worker import serve_worker
from .server.wsgi import DEVEL_ENVIRON_KEY
from .states import STATES_ENVIRON_KEY, StateTable, normalize_keys
from .workers import Supervisor, create_listener

logger = logging.getLogger("skitai")


class Engine:
    """Mounts plus configuration: one per server.

    ``base_dir`` is where relative mount targets are looked up (default: the
    running script's directory, :func:`script_dir`).
    """

    def __init__(self, base_dir: str | None = None) -> None:
        self.base_dir = base_dir
        self.mounts = MountTable()
        #: keys given to :meth:`register_states`, shared by the workers once serving
        self.state_keys: list[str] = []

    def register_states(self, *keys: str) -> None:
        """Name cross-worker state keys (see :func:`skitai.register_states`)."""
        if self.mounts.frozen:
            raise RuntimeError("register_states() must be called before the server starts")
        self.state_keys = normalize_keys([*self.state_keys, *keys])

    def mount(
        self,
        point: str,
        target: Any,
        *args: Any,
        name: Any = None,
        pref: Any = None,
        interface: str = "auto",
    ) -> Mount | list[Mount]:
        """Mount ``target`` at URL prefix ``point`` (see :func:`skitai.mount`)."""
        name, pref = normalize_mount_args(target, *args, name=name, pref=pref)
        base_dir = self.base_dir or script_dir()
        return self.mounts.add(point, target, name, pref, base_dir=base_dir, interface=interface)

    def run(self, **options: Any) -> int:
        """Parse the command line over ``options`` and serve or run a daemon command.

        ``name`` defaults to the running script's name (``serve`` for ``serve.py``).
        """
        if not options.get("name"):
            options["name"] = script_name()
        config = Config(**options)
        return cli.main(config, self.serve)

    def serve(self, config: Config) -> int:
        """Serve in the foreground until SIGTERM/SIGINT; return the exit code."""
        configure_logging(config)
        self.mounts.freeze()
        try:  # before listening: a server that cannot run never accepts a connection
            check_broker(config.broker)
        except ValueError as exc:
            print(f"skitai: {exc}", file=sys.stderr)
            return 1
        try:
            config.ssl_context()  # a bad certificate fails here, not in every worker
        except (OSError, ssl.SSLError) as exc:
            print(f"skitai: cannot load certificate {config.certfile}: {exc}", file=sys.stderr)
            return 1
        try:
            sock = _listener(config)
        except OSError as exc:
            print(f"skitai: cannot listen on {config.ip}:{config.port}: {exc}", file=sys.stderr)
            return 1
        if config.devel and config.listen_fd < 0:
            # development mode: this process holds the socket; servers run as children
            try:
                roots = watched_roots(self.base_dir or script_dir())
                return Reloader(config, sock, roots).run()
            finally:
                sock.close()
        host, port = sock.getsockname()[:2]
        logger.info(
            "serving %d mount(s) on %s://%s:%d with %d worker(s) x %d thread(s)",
            len(self.mounts),
            config.scheme,
            host,
            port,
            config.workers,
            config.threads,
        )
        try:  # before the fork: the workers inherit the embedded hub's socket
            hubs = HubPlan(config.broker, config.name)
        except (ValueError, OSError) as exc:
            print(f"skitai: {exc}", file=sys.stderr)
            sock.close()
            return 1
        logger.info("workers talk through the %s", hubs.describe())
        # created before the fork: every worker maps the same shared memory
        states = StateTable(self.state_keys)
        replay = ReplayTable(config.replay_capacity)
        try:
            return Supervisor(config, sock, self._worker_main(config, states, replay, hubs)).run()
        finally:
            replay.close()
            states.close()
            hubs.close()

    def _worker_main(
        self, config: Config, states: StateTable, replay: ReplayTable, hubs: HubPlan
    ) -> Any:
        mounts = self.mounts

        def worker_main(sock: socket.socket, index: int, ready: Callable[[], None]) -> None:
            hub = hubs.hub()
            websocket_clients.bind(hub)
            # one host shares the table's memory; a broker carries it to the other hosts
            shared = SharedStates(states, hub) if hub.spans_hosts else states
            seen = SharedReplay(replay, hub) if hub.spans_hosts else replay
            context = build_context(
                mounts, shared, worker_index=index, workers=config.workers,
                threads=config.threads, devel=config.devel, hub=hub,
                websocket_clients=websocket_clients,
            )  # fmt: skip
            environ = {
                CONTEXT_ENVIRON_KEY: context, STATES_ENVIRON_KEY: shared,
                REPLAY_ENVIRON_KEY: seen, HUB_ENVIRON_KEY: hub,
            }  # fmt: skip
            if config.devel:
                environ[DEVEL_ENVIRON_KEY] = True

            def make_dispatcher(cfg: Config, pool: HandlerPool) -> MountDispatcher:
                # called on the worker's running loop: corequests and the hub live on it
                environ[COREQUESTS_ENVIRON_KEY] = Corequests(asyncio.get_running_loop())
                hub.start()
                return MountDispatcher(cfg, mounts, pool, environ)

            started = start_apps(context)
            try:
                serve_worker(config, sock, make_dispatcher, on_ready=ready)
            finally:
                stop_apps(started)
                corequests = environ.get(COREQUESTS_ENVIRON_KEY)
                if corequests is not None:
                    corequests.close()

        return worker_main


def script_dir() -> str:
    """Directory of the running script: the base for relative mount paths."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else os.getcwd()


def script_name() -> str:
    """Name of the running script without ``.py`` (``"skitai"`` when there is none).

    The default app name: it names the pid and log files of ``start|stop|status``.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return "skitai"
    script = Path(path)
    return script.parent.name if script.stem == "__main__" else script.stem  # python -m pkg


def _listener(config: Config) -> socket.socket:
    """The listening socket: the one inherited from the reloader, or a new one."""
    if config.listen_fd < 0:
        return create_listener(config.ip, config.port, config.backlog)
    sock = socket.socket(fileno=config.listen_fd)
    sock.set_inheritable(False)  # as create_listener's: programs the app runs do not keep it
    return sock


def configure_logging(config: Config) -> None:
    """Log to stderr unless the application configured logging itself."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if config.devel else logging.INFO)
    access = logging.getLogger("skitai.access")
    access.propagate = False
    access.setLevel(logging.INFO)
    if not config.silent:
        access_handler = logging.StreamHandler(sys.stdout)
        access_handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(access_handler)


__all__ = [
    "DEVEL_ENVIRON_KEY",
    "Engine",
    "Preference",
    "configure_logging",
    "script_dir",
    "script_name",
]
