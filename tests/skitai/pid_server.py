"""A tiny HTTP responder answering with its worker's pid, run under the Supervisor.

Used by test_workers.py and test_cli.py as a subprocess script (never imported
by pytest as a test module).  Run as a script it binds an ephemeral port,
prints ``port N`` on stdout, then supervises its workers in the foreground::

    python pid_server.py --workers 2 [--graceful 5] [--mode MODE] [--user NAME]

Modes: ``ok``; ``crash`` (every worker fails at start); ``stubborn`` (workers
ignore SIGTERM and SIGINT, saying so on stderr: only SIGKILL stops them);
``slow`` (a worker takes SLOW_START_SECONDS to start serving).

Paths: ``/`` answers the pid; ``/slow`` sends its head at once and the body
(the pid) after SLOW_SECONDS; ``/hold`` answers the pid then blocks the whole
worker until the client closes the connection, so the next connection is
certainly served by another worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable

from skitai.config import Config
from skitai.workers import Supervisor, WorkerMain, create_listener

SLOW_SECONDS = 0.5
SLOW_START_SECONDS = 1.5
HOLD_LIMIT_SECONDS = 10.0


def make_worker_main(graceful: float, mode: str = "ok") -> WorkerMain:
    """Return a ``worker_main`` serving pids, behaving as ``mode`` says."""

    def worker_main(sock: socket.socket, index: int, ready: Callable[[], None]) -> None:
        if mode == "crash":
            raise RuntimeError(f"worker {index} cannot start: simulated failure")
        if mode == "slow":
            time.sleep(SLOW_START_SECONDS)  # a slow start, on purpose
        asyncio.run(_serve(sock, graceful, ready, stubborn=mode == "stubborn"))

    return worker_main


async def _serve(
    sock: socket.socket, graceful: float, ready: Callable[[], None], stubborn: bool
) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        if stubborn:
            loop.add_signal_handler(sig, _say_ignored, sig)
        else:
            loop.add_signal_handler(sig, stopping.set)
    server = await asyncio.start_server(_handle, sock=sock)
    ready()
    await stopping.wait()
    # Stop accepting first, but close the server only once every connection
    # already accepted has its handler: on 3.11 a connection whose transport
    # is set up after Server.close() trips an assertion and is reset silently.
    loop.remove_reader(sock.fileno())
    # Accepted connections are tasks that spawn their handler later: wait
    # until no other task is left, not for one snapshot.
    deadline = loop.time() + graceful
    while (remaining := deadline - loop.time()) > 0:
        in_flight = asyncio.all_tasks() - {asyncio.current_task()}
        if not in_flight:
            break
        await asyncio.wait(in_flight, timeout=remaining)
    server.close()


def _say_ignored(sig: signal.Signals) -> None:
    print(f"worker {os.getpid()} ignores {sig.name}", file=sys.stderr, flush=True)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1]
        body = str(os.getpid()).encode()
        start = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        if path == b"/slow":
            writer.write(start)
            await writer.drain()
            await asyncio.sleep(SLOW_SECONDS)
            writer.write(body)
        else:
            writer.write(start + body)
        await writer.drain()
        if path == b"/hold":
            fd = writer.get_extra_info("socket").fileno()
            select.select([fd], [], [], HOLD_LIMIT_SECONDS)  # blocks this worker on purpose
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def serve(config: Config, mode: str = "ok") -> int:
    """Bind ``config.ip:config.port``, print the port, supervise until stopped."""
    sock = create_listener(config.ip, config.port, config.backlog)
    try:
        print(f"port {sock.getsockname()[1]}", flush=True)
        worker_main = make_worker_main(config.graceful_timeout, mode)
        return Supervisor(config, sock, worker_main).run()
    finally:
        sock.close()


def _main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--graceful", type=float, default=5.0)
    parser.add_argument("--mode", choices=["ok", "crash", "stubborn", "slow"], default="ok")
    parser.add_argument("--user", default="")
    args = parser.parse_args()
    config = Config(
        port=0, workers=args.workers, graceful_timeout=args.graceful, user=args.user, backlog=128
    )
    return serve(config, mode=args.mode)


if __name__ == "__main__":
    sys.exit(_main())
