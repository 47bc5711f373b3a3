"""One worker process: an event loop serving HTTP on the shared listening socket.

``serve_worker`` runs until SIGTERM, then stops accepting, takes
the connections already waiting in the listener's queue, closes its copy of
the listener, drains its connections (:mod:`skitai.server.draining`, up to
``Config.graceful_timeout``) and returns.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import sys
from collections.abc import Callable

from ..config import Config
from .asgi_lifespan import APP_START_FAILED, LifespanFailed
from .draining import drain, settle
from .http11 import HttpProtocol
from .state import Dispatcher, ServerState
from .threads import HandlerPool

logger = logging.getLogger("skitai.worker")

try:  # uvloop is optional: a faster drop-in event loop
    import uvloop
except ImportError:  # pragma: no cover - depends on the installation
    uvloop = None


def serve_worker(
    config: Config,
    sock: socket.socket,
    make_dispatcher: type[Dispatcher] | object,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve on ``sock`` until told to stop.

    ``make_dispatcher(config, pool)`` builds the request dispatcher once the
    worker's handler pool exists; ``on_ready()`` is called once connections
    are accepted (the supervisor's readiness report).  A dispatcher may have
    ``async startup()`` and ``async shutdown()`` (ASGI lifespan): awaited
    before accepting and after the drain.  When startup raises
    :class:`~skitai.server.asgi_lifespan.LifespanFailed`, the worker says why on
    stderr and exits with :data:`~skitai.server.asgi_lifespan.APP_START_FAILED`.
    """
    runner = uvloop.run if uvloop is not None else asyncio.run
    runner(_serve(config, sock, make_dispatcher, on_ready))


async def _serve(
    config: Config,
    sock: socket.socket,
    make_dispatcher: object,
    on_ready: Callable[[], None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    pool = HandlerPool(config.threads)
    dispatcher = make_dispatcher(config, pool)  # type: ignore[operator]
    startup = getattr(dispatcher, "startup", None)
    if startup is not None:
        try:
            await startup()
        except LifespanFailed as exc:
            pool.shutdown(0)
            print(f"skitai: an ASGI app failed to start: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(APP_START_FAILED) from exc
    state = ServerState(config, loop, dispatcher)
    ssl_context = config.ssl_context()
    server = await loop.create_server(
        lambda: HttpProtocol(state), sock=sock, backlog=config.backlog, ssl=ssl_context
    )
    state.start()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    # A terminal's Ctrl-C reaches every process of its group at once.  The master
    # turns it into SIGTERM for each worker after letting go of the listener, so
    # that the worker that closes the listener last leaves no connection queued.
    loop.add_signal_handler(signal.SIGINT, _leave_interrupt_to_master)
    if on_ready is not None:
        on_ready()
    await stopping.wait()
    logger.info("worker stopping: %d connection(s) open", len(state.connections))
    if uvloop is None:
        # asyncio sets an accepted connection up in a task, and its Server.close()
        # resets those not set up yet (Python 3.11): stop the accept callback and
        # let them join before the listener is closed.
        loop.remove_reader(sock.fileno())
        await settle()
    adopting = [
        loop.create_task(_adopt(loop, state, conn, ssl_context)) for conn in _accept_pending(sock)
    ]
    # Closed in the same step as the last accept: nothing can queue in between.
    server.close()
    sock.close()
    if adopting:  # joined (TLS: handshake done) before the drain marks them
        await asyncio.wait(adopting, timeout=config.header_timeout)
    await drain(state, config.graceful_timeout)
    state.stop()
    shutdown = getattr(dispatcher, "shutdown", None)
    if shutdown is not None:
        await shutdown()
    await loop.run_in_executor(None, pool.shutdown, 1.0)


def _leave_interrupt_to_master() -> None:
    """SIGINT in a worker: nothing to do, the master's SIGTERM follows (see ``_serve``)."""


def _accept_pending(sock: socket.socket) -> list[socket.socket]:
    """Accept every connection waiting in the listener's queue (never blocks).

    The worker that closes the shared listener last would otherwise close it
    on connections the kernel already completed and whose clients may have
    sent their request: the kernel resets them.  Taking them here means they
    are answered (with ``Connection: close``) like any draining connection.
    """
    accepted = []
    while True:
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return accepted
        except OSError as exc:
            logger.warning("accepting queued connections before closing: %s", exc)
            return accepted
        conn.setblocking(False)
        accepted.append(conn)


async def _adopt(
    loop: asyncio.AbstractEventLoop,
    state: ServerState,
    conn: socket.socket,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Serve a connection taken from the queue by :func:`_accept_pending`."""
    try:
        await loop.connect_accepted_socket(lambda: HttpProtocol(state), conn, ssl=ssl_context)
    except (OSError, ssl.SSLError) as exc:  # the client went away, or a failed TLS handshake
        logger.debug("queued connection lost before it was served: %s", exc)
        conn.close()
