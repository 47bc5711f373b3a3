"""One worker process: an event loop serving HTTP on the shared listening socket.

``serve_worker`` runs until SIGTERM or SIGINT, then stops accepting, lets the
requests in flight finish (up to ``Config.graceful_timeout``) and returns.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

from ..config import Config
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
) -> None:
    """Serve on ``sock`` until told to stop.

    ``make_dispatcher(config, pool)`` builds the request dispatcher once the
    worker's handler pool exists.
    """
    runner = uvloop.run if uvloop is not None else asyncio.run
    runner(_serve(config, sock, make_dispatcher))


async def _serve(config: Config, sock: socket.socket, make_dispatcher: object) -> None:
    loop = asyncio.get_running_loop()
    pool = HandlerPool(config.threads)
    dispatcher = make_dispatcher(config, pool)  # type: ignore[operator]
    state = ServerState(config, loop, dispatcher)
    server = await loop.create_server(
        lambda: HttpProtocol(state), sock=sock, backlog=config.backlog, ssl=config.ssl_context()
    )
    state.start()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    logger.info("worker stopping: %d connection(s) open", len(state.connections))
    if uvloop is not None:
        server.close()
    else:
        # asyncio's Server.close() resets connections accepted but not yet set up
        # (Python 3.11): stop accepting first, close once the others drained.
        loop.remove_reader(sock.fileno())
    await _drain(state, config.graceful_timeout)
    server.close()
    state.stop()
    await loop.run_in_executor(None, pool.shutdown, 1.0)


async def _drain(state: ServerState, timeout: float) -> None:
    """Close idle connections now and busy ones after their responses.

    Connections accepted just before the listener closed may still be joining
    (their ``connection_made`` runs on a later loop iteration): each pass marks
    whatever is open now, and the wait repeats until none is left or the
    graceful timeout ends, so a late connection is drained, never reset.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await asyncio.sleep(0)  # let connections accepted before close() finish joining
    while state.connections:
        for connection in list(state.connections):
            connection.shutdown()
        state.no_connections.clear()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            await asyncio.wait_for(state.no_connections.wait(), remaining)
        except TimeoutError:
            break
    if state.connections:
        logger.warning("graceful timeout: aborting %d connection(s)", len(state.connections))
    for connection in list(state.connections):
        if connection.transport is not None:
            connection.transport.abort()
