"""The raw ceiling of ``bench_corequests.py``: asyncio + uvloop + httptools + asyncpg,
no framework.

``--workers`` processes accept on one socket (bound before the fork); each runs
an event loop with an asyncpg pool of ``$BENCH_POOL`` (5) connections and
answers ``GET /bench`` with the two queries run concurrently, and
``GET /plaintext``.  Keep-alive, no pipelining, nothing else::

    python benchmarks/apps/corequests_raw.py --port 5000 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import json
import os
import signal
import socket
import sys
from typing import Any

import asyncpg
import httptools
import uvloop

TXS = (
    "SELECT * FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"
    " ORDER BY created_at DESC LIMIT 10"
)
COUNT = "SELECT count(*) AS cnt FROM foo WHERE from_wallet_id = 8 OR detail = 'ReturnTx'"


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class Handler(asyncio.Protocol):
    """One connection: parse with httptools, answer each request in order."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.url = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        asyncio.get_running_loop().create_task(self.answer(self.url, keep_alive))

    async def answer(self, url: bytes, keep_alive: bool) -> None:
        if url == b"/bench":
            txs, count = await asyncio.gather(self.fetch(TXS), self.fetch(COUNT))
            body = json.dumps(
                {"txs": [dict(row) for row in txs], "record_count": count[0]["cnt"]},
                default=_default,
            ).encode()
            self.send(b"200 OK", b"application/json", body, keep_alive)
        elif url == b"/plaintext":
            self.send(b"200 OK", b"text/plain", b"Hello, World!", keep_alive)
        else:
            self.send(b"404 Not Found", b"text/plain", b"Not Found", keep_alive)

    async def fetch(self, query: str) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetch(query)

    def send(self, status: bytes, kind: bytes, body: bytes, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        head = b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            status, kind, len(body), b"" if keep_alive else b"Connection: close\r\n",
        )  # fmt: skip
        self.transport.write(head + body)
        if not keep_alive:
            self.transport.close()


async def serve(sock: socket.socket) -> None:
    size = int(os.environ.get("BENCH_POOL", "5"))
    pool = await asyncpg.create_pool(os.environ["BENCH_PG_DSN"], min_size=1, max_size=size)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(pool), sock=sock)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await pool.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    sock.setblocking(False)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            uvloop.run(serve(sock))
            os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
