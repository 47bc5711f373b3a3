"""In-process microbenchmark of the engine's per-request CPU (no sockets, no wrk).

One keep-alive connection of :class:`skitai.server.http11.HttpProtocol` on a
transport that only keeps the bytes, behind the engine's real
:class:`skitai.dispatch.MountDispatcher`, is fed the request ``wrk`` sends, N
times; each time the next request is fed once the response was written.  Prints
the process's CPU microseconds per request (median and best of ``--repeat`` runs) for:

* ``asgi``  -- ``apps/hello_asgi.py`` (an ASGI 3 callable, run on the loop);
* ``wsgi``  -- ``apps/hello_wsgi.py`` (on a handler thread and back);
* ``fastapi`` -- ``apps/fastapi_api.py``'s JSON route (FastAPI's own cost included).

The socket's system calls (what ``cpu us/req`` of ``bench_asgi.py`` adds to these)
are not here: this is the Python the engine runs per request, the part to cut.

    .venv/bin/python benchmarks/micro_engine.py [-n 20000] [--repeat 5] [--loop uvloop]
    .venv/bin/python benchmarks/micro_engine.py --profile asgi    # cProfile, top 30
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.apps.hello_asgi import app as hello_asgi  # noqa: E402
from benchmarks.apps.hello_wsgi import application as hello_wsgi  # noqa: E402
from skitai.config import Config  # noqa: E402
from skitai.dispatch import MountDispatcher  # noqa: E402
from skitai.mounts import MountTable  # noqa: E402
from skitai.server.http11 import HttpProtocol  # noqa: E402
from skitai.server.state import ServerState  # noqa: E402
from skitai.server.threads import HandlerPool  # noqa: E402

#: what ``wrk`` sends (it adds nothing but Host)
REQUESTS = {
    "asgi": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n",
    "wsgi": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n",
    "fastapi": b"GET /api/items/7?q=abc&limit=10 HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n\r\n",
}


class Transport(asyncio.Transport):
    """Keeps the last write and wakes the waiting driver."""

    def __init__(self) -> None:
        super().__init__()
        self.last = b""
        self.waiter: asyncio.Future[None] | None = None

    def write(self, data: Any) -> None:  # noqa: D102
        self.last = bytes(data)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def is_closing(self) -> bool:  # noqa: D102
        return False

    def close(self) -> None:  # noqa: D102
        raise AssertionError("the benchmark connection was closed")

    def get_write_buffer_size(self) -> int:  # noqa: D102
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:  # noqa: D102
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 5000)}.get(
            name, default
        )


def app_for(name: str) -> Any:
    """The app mounted at ``/`` for a scenario."""
    if name == "asgi":
        return hello_asgi
    if name == "wsgi":
        return hello_wsgi
    from benchmarks.apps.fastapi_api import app

    return app


async def drive(protocol: HttpProtocol, transport: Transport, request: bytes, n: int) -> float:
    """Feed ``request`` n times, each after the previous answer; CPU seconds the
    process used (all its threads: the loop's and the handler thread's), which other
    load on the machine disturbs much less than the time it took."""
    loop = asyncio.get_running_loop()
    start = time.process_time()
    for _ in range(n):
        transport.waiter = loop.create_future()
        protocol.data_received(request)
        await transport.waiter
    return time.process_time() - start


def measure(name: str, n: int, repeat: int, loop: asyncio.AbstractEventLoop) -> list[float]:
    """CPU µs per request of ``repeat`` runs of ``n`` requests."""
    table = MountTable()
    table.add("/", app_for(name))
    table.freeze()
    pool = HandlerPool(1)
    config = Config(access_log=False)
    dispatcher = MountDispatcher(config, table, pool)
    loop.run_until_complete(dispatcher.startup())
    protocol = HttpProtocol(ServerState(config, loop, dispatcher))
    transport = Transport()
    protocol.connection_made(transport)
    request = REQUESTS[name]
    loop.run_until_complete(drive(protocol, transport, request, 200))  # warm up
    assert transport.last.startswith(b"HTTP/1.1 200 OK\r\n"), transport.last
    results = []
    for _ in range(repeat):
        gc.collect()
        seconds = loop.run_until_complete(drive(protocol, transport, request, n))
        results.append(1e6 * seconds / n)
    loop.run_until_complete(dispatcher.shutdown())
    pool.shutdown(1.0)
    return results


def main(argv: list[str]) -> int:
    """Run the scenarios; print µs per request."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per scenario")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    parser.add_argument("--scenarios", nargs="+", choices=list(REQUESTS), default=["asgi", "wsgi"])
    parser.add_argument("--profile", choices=list(REQUESTS), help="cProfile one scenario")
    args = parser.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        measure(args.profile, args.n, 1, loop)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0
    print(f"{args.loop} loop, {args.n} requests x {args.repeat} runs, CPU µs per request")
    for name in args.scenarios:
        runs = measure(name, args.n, args.repeat, loop)
        print(f"  {name:<8} median {statistics.median(runs):6.2f}  best {min(runs):6.2f}")
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
