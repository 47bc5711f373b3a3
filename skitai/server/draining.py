"""Graceful draining: how a stopping worker lets its connections go and loses no request.

A worker drains on ``SIGTERM``/``SIGINT`` (a graceful stop, or its turn in a
rolling restart).  The listening socket is shared by every worker (created once
in the master and inherited through ``fork``, never one ``SO_REUSEPORT`` socket
per worker), so when a draining worker stops accepting, the connections queued
in the backlog stay there for the other workers: none is dropped.

The policy for connections already accepted (:meth:`HttpProtocol.shutdown
<skitai.server.http11.HttpProtocol.shutdown>` applies it; it lives in the
protocol layer so that every container on ``HttpProtocol`` shares it):

* every request already received, or arriving while the connection is open, is
  answered;
* the response to the last request received says ``Connection: close`` (the
  first response written once draining began, unless pipelined requests wait
  behind it), and the connection closes after it: a client told "close" sends
  nothing more (RFC 9112 §9.6);
* a response whose head went out *before* draining began promised keep-alive:
  the connection stays open after it, so the request its client sends next is
  answered (with ``Connection: close``) instead of being cut;
* an idle connection is closed only once it is quiet: no request for
  :data:`SHUTDOWN_IDLE_GRACE` seconds after its last response
  (:data:`SHUTDOWN_FIRST_REQUEST_GRACE` after the connection was accepted if it
  never sent one) *and* no unread byte waiting in its socket.  Closing an idle
  keep-alive connection always races with a client that sends at that very
  moment (the same race as any keep-alive timeout; RFC 9112 §9.3.1 lets clients
  retry such a request); the grace period keeps it away from clients that reuse
  the connection at once (load generators, pools, browsers fetching a page's
  assets), and the socket check from a request that arrived but was not read yet;
* whatever is still open after ``graceful_timeout`` is aborted.

A request that a pipelining client sent behind the one answered with
``Connection: close``, before it read that answer, is not answered (RFC 9112
§9.3.2: a pipelining client retries requests left unanswered).

The stop is the master's to order: on SIGTERM or SIGINT it makes the shared
listener ignore new connection requests
(:func:`skitai.listener.refuse_new_connections`), closes its own copy, lets the
workers accept the handshakes already under way for a moment, then sends
SIGTERM to each; a worker takes what is queued and closes its copy at once,
so the listener is gone and later clients are refused within a fraction of a
second, however long the drain takes.  (In development mode the reloader owns
the listener and serves it on with the next server: nothing is refused there.)
Workers ignore a terminal's SIGINT, which reaches the whole process group.  A
service manager should signal the master alone (systemd: ``KillMode=mixed``): a worker sent
SIGTERM at the same moment as the master may close its listener copy before
the master has let go of its own, and a connection queued in between is reset.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import ServerState

logger = logging.getLogger("skitai.worker")

#: Seconds an idle keep-alive connection of a draining worker must have been quiet
#: (since its last response) before it is closed.
SHUTDOWN_IDLE_GRACE = 1.0
#: Seconds a never-used connection may still send its first request once draining.
SHUTDOWN_FIRST_REQUEST_GRACE = 5.0


def idle_grace(requests_served: int) -> float:
    """How long a draining idle connection must be quiet before it may be closed."""
    return SHUTDOWN_IDLE_GRACE if requests_served else SHUTDOWN_FIRST_REQUEST_GRACE


def has_unread_input(transport: asyncio.BaseTransport) -> bool:
    """Whether bytes from the client wait in the socket that the loop has not read yet.

    Peeks at the kernel's receive buffer (``MSG_PEEK``, non-blocking) on a
    duplicate of the descriptor, so the transport's own reading is untouched.
    A request found there is read and answered on the loop's next turn, so
    the connection must not be closed now.
    """
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        with socket.fromfd(sock.fileno(), sock.family, sock.type) as peek:
            return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (BlockingIOError, InterruptedError):
        return False  # nothing to read
    except OSError:
        return False  # already closed or reset: nothing more will be answered


async def settle() -> None:
    """Let connections accepted just before the listener stopped finish joining.

    asyncio sets an accepted connection up in a task (``connection_made`` runs
    one or two loop turns after the accept): a few turns make them visible in
    ``ServerState.connections``.
    """
    for _ in range(3):
        await asyncio.sleep(0)


async def drain(state: ServerState, timeout: float) -> None:
    """Shut every connection down (see the module's policy) and wait until all are gone.

    Each pass marks whatever is open now, so a connection that joins late is
    drained too, never reset; after ``timeout`` seconds the rest are aborted.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await settle()
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
        await settle()
    if state.connections:
        logger.warning("graceful timeout: aborting %d connection(s)", len(state.connections))
    for connection in list(state.connections):
        if connection.transport is not None:
            connection.transport.abort()


__all__ = [
    "SHUTDOWN_FIRST_REQUEST_GRACE",
    "SHUTDOWN_IDLE_GRACE",
    "drain",
    "has_unread_input",
    "idle_grace",
    "settle",
]
