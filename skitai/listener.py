"""The listening socket the master creates and every worker shares.

One socket, bound before the workers are forked and inherited by them, not one
``SO_REUSEPORT`` socket per worker: when a worker stops accepting, the
connections queued in the backlog stay there for the others, where a socket of
its own would take its queue down with it.  :func:`refuse_new_connections`
lets a stop close it without resetting a connection whose client has already
sent its request.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
import sys

__all__ = ["create_listener", "refuse_new_connections"]

logger = logging.getLogger("skitai.workers")


def create_listener(ip: str, port: int, backlog: int) -> socket.socket:
    """Return a TCP socket bound to ``ip:port`` and listening.

    The address family follows the address (``"::1"`` gives IPv6, an empty
    ``ip`` means every IPv4 interface); ``port`` 0 picks a free port (read it
    back with ``sock.getsockname()[1]``).  ``SO_REUSEADDR`` is set so a
    restarted server can bind at once.  The socket is non-inheritable: forked
    workers share it, but programs the application ``exec``\\ s do not keep
    the port open.  A bind failure raises ``OSError`` naming the address.
    """
    host = ip or "0.0.0.0"
    infos = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.set_inheritable(False)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


#: ``SO_ATTACH_FILTER`` (Linux ``<asm-generic/socket.h>``; not in the socket module).
_SO_ATTACH_FILTER = 26


def _bpf(code: int, jump_true: int, jump_false: int, k: int) -> bytes:
    """One classic BPF instruction (``struct sock_filter``)."""
    return struct.pack("HBBI", code, jump_true, jump_false, k)


#: A socket filter dropping TCP segments with SYN set and ACK clear (connection
#: requests), passing everything else.  A socket filter sees the TCP header first.
_DROP_CONNECTION_REQUESTS = b"".join([
    _bpf(0x30, 0, 0, 13),  # ldb [13]: the TCP flags
    _bpf(0x54, 0, 0, 0x12),  # and #(SYN | ACK)
    _bpf(0x15, 0, 1, 0x02),  # jeq #SYN: drop, else accept
    _bpf(0x06, 0, 0, 0),  # ret #0: drop
    _bpf(0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: accept the whole segment
])  # fmt: skip


def refuse_new_connections(sock: socket.socket) -> bool:
    """Make listening ``sock`` ignore new connection requests; False where unsupported.

    Closing a listening socket resets the connections queued on it, and a
    client whose handshake completed may already have sent its request.  A
    stop therefore first attaches a socket filter that drops SYN segments (on
    Linux): handshakes already under way still complete, nothing new joins the
    queue, and the workers take what is queued before the socket is closed.
    A client whose SYN was dropped retries it and, once the socket is closed,
    is refused: it has sent nothing.  The filter is on the socket, shared by
    every process holding it.
    """
    if not sys.platform.startswith("linux"):
        return False
    code = ctypes.create_string_buffer(_DROP_CONNECTION_REQUESTS, len(_DROP_CONNECTION_REQUESTS))
    program = struct.pack("HP", len(_DROP_CONNECTION_REQUESTS) // 8, ctypes.addressof(code))
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)
    except OSError as exc:
        logger.warning("cannot refuse new connections before closing the listener: %s", exc)
        return False
    return True
