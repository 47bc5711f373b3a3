"""Routes each request to its mount: a WSGI app on a handler thread (or on the event
loop when it offers ``call_on_loop``, :class:`skitai.types.LoopCallableApp`), an ASGI
app on the event loop, or static files.

``MountDispatcher`` implements :class:`skitai.server.state.Dispatcher` over a
frozen :class:`~skitai.mounts.MountTable`.  Static files are answered on the
event loop (one ``stat``, then ``sendfile``); applications run on the worker's
:class:`~skitai.server.threads.HandlerPool`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from .config import Config
from .mounts import Mount, MountTable
from .server.asgi import ASGIContainer
from .server.asgi_common import extension_from_environ
from .server.asgi_lifespan import Lifespans
from .server.exchange import Exchange
from .server.proxy import TrustedProxies
from .server.threads import HandlerPool
from .server.wsgi import WSGIContainer, split_path
from .static import StaticResponse, fs_path
from .types import LoopCallableApp

logger = logging.getLogger("skitai.dispatch")

_NOT_FOUND = b"Not Found\n"
_TEXT = ("Content-Type", "text/plain; charset=utf-8")


class MountDispatcher:
    """Answers exchanges from the mount table."""

    def __init__(
        self,
        config: Config,
        mounts: MountTable,
        pool: HandlerPool,
        extra_environ: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.mounts = mounts
        self.pool = pool
        self.container = WSGIContainer(config.workers > 1, extra_environ, pool.submit)
        self.asgi = ASGIContainer(
            extension_from_environ(extra_environ or {}), pool.submit, config.devel
        )
        self.lifespans = Lifespans(self._asgi_apps())
        self.proxies = TrustedProxies(config.forwarded_allow_ips)
        self._health = config.health.encode("latin-1") if config.health else None
        #: ``call_on_loop`` of the WSGI apps that have one, by mount point
        self._loop_calls = {
            mount.point: mount.app.call_on_loop
            for mount in mounts
            if mount.interface == "wsgi" and isinstance(mount.app, LoopCallableApp)
        }
        self._limits = {
            mount.point: int(getattr(mount.pref, "max_client_body_size", 0) or 0)
            for mount in mounts
        }

    def body_limit(self, target: bytes) -> int:
        """The ``max_client_body_size`` of the mount serving ``target`` (or the server's)."""
        path = target.partition(b"?")[0].decode("latin-1")
        mount = self.mounts.resolve(path)
        if mount is not None:
            limit = self._limits.get(mount.point, 0)
            if limit:
                return limit
        return self.config.max_client_body_size

    def dispatch(self, exchange: Exchange) -> None:
        """Answer ``exchange`` (event loop)."""
        if exchange.path == self._health:
            self._answer_health(exchange)
            return
        client, scheme = self.proxies.resolve(exchange.client[0], exchange.headers)
        if client is not None or scheme is not None:
            exchange.forwarded(client, scheme)
        if not exchange.path.startswith(b"/"):
            if exchange.path == b"*" and exchange.method == "OPTIONS":
                exchange.respond(
                    "200 OK", [("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")]
                )
                return
            exchange.respond("400 Bad Request", [_TEXT], b"request target must be a path\n")
            return
        path = split_path(exchange)
        mount = self.mounts.resolve(path)
        if mount is None:
            exchange.respond("404 Not Found", [_TEXT], _NOT_FOUND)
        elif mount.interface == "asgi":
            self.asgi.call(exchange, mount.app, "" if mount.point == "/" else mount.point, path)
        elif mount.app is not None:
            script_name = "" if mount.point == "/" else mount.point
            loop_call = self._loop_calls.get(mount.point)
            body = exchange.body
            if (
                loop_call is not None
                and (body is None or body.complete)
                and not exchange.websocket_request
            ):  # the app may answer right here (skitai.types.LoopCallableApp)
                self.container.call_on_loop(
                    exchange, mount.app, loop_call, script_name, mount.relative(path)
                )
                return
            self.pool.submit(
                self.container.call, exchange, mount.app, script_name, mount.relative(path)
            )
        else:
            self._serve_static(exchange, mount, path)

    def _asgi_apps(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(label, app, lifespan state) of each distinct ASGI app, in mount order."""
        apps: dict[int, tuple[str, Any, dict[str, Any]]] = {}
        for mount in self.mounts:
            if mount.interface == "asgi" and id(mount.app) not in apps:
                label = f"{mount.name} at {mount.point}"
                self.asgi.names[id(mount.app)] = label
                apps[id(mount.app)] = (label, mount.app, self.asgi.state_of(mount.app))
        return list(apps.values())

    async def startup(self) -> None:
        """Run the ASGI apps' lifespan startup (the worker's loop, before it serves)."""
        await self.lifespans.startup()

    async def shutdown(self) -> None:
        """Run the ASGI apps' lifespan shutdown (after the worker drained)."""
        await self.lifespans.shutdown(self.config.graceful_timeout)

    @staticmethod
    def _answer_health(exchange: Exchange) -> None:
        """The load balancer's probe: 503 once this worker drains, so it stops sending."""
        headers = [_TEXT, ("Cache-Control", "no-store")]
        if exchange.protocol.draining:
            exchange.respond("503 Service Unavailable", headers, b"draining\n")
        else:
            exchange.respond("200 OK", headers, b"ok\n")

    def _serve_static(self, exchange: Exchange, mount: Mount, path: str) -> None:
        assert mount.static is not None
        # "" is the mount point itself: StaticFiles redirects it to "<point>/".
        relative = fs_path(mount.relative(path))
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in exchange.headers
        }
        response = mount.static.prepare(exchange.method, relative, headers)
        status = f"{response.status} {response.reason}"
        if response.status in (301, 302, 307, 308):
            response.headers = [
                self._absolute_location(mount, exchange, h) for h in response.headers
            ]
        if response.path is None:
            exchange.respond(status, response.headers, response.body)
            return
        self._send_file(exchange, status, response)

    def _send_file(self, exchange: Exchange, status: str, response: StaticResponse) -> None:
        assert response.path is not None
        try:
            file = open(response.path, "rb")  # noqa: SIM115 - closed when sent
        except OSError:
            exchange.respond("404 Not Found", [_TEXT], _NOT_FOUND)
            return
        exchange.start(status, response.headers, response.length, compress=False)
        task = exchange.protocol.loop.create_task(
            exchange.send_file(file, response.offset, response.length)
        )
        task.add_done_callback(lambda _task: file.close())

    @staticmethod
    def _absolute_location(
        mount: Mount, exchange: Exchange, header: tuple[str, str]
    ) -> tuple[str, str]:
        name, value = header
        if name.lower() != "location":
            return header
        prefix = "" if mount.point == "/" else mount.point
        location = quote(prefix + value, safe="/")
        if exchange.query:
            location += "?" + exchange.query.decode("latin-1")
        return name, location


__all__ = ["MountDispatcher"]
