#!/usr/bin/env python3
"""The fan-out load of ``bench_fanout.py``: one sender, a room of N members.

``fanout_load.py URL[,URL...] --members N --messages M --window W`` connects N
members to the room (round robin over the URLs: several engines) and one sender,
waits until a warm-up message reached every member, then sends M messages,
never more than W of them not yet received by every member.  Each message
carries its send time; each member notes when it got it.  It prints one JSON
line: deliveries, deliveries/s (from the first send to the last delivery),
p50/p99 latency (send -> a member received, ms) and messages some member never
got within the timeout.  One asyncio process (uvloop) with the ``websockets``
client, the same for every server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import ClientConnection, connect


class Room:
    """What the members got, by message number."""

    def __init__(self, members: int) -> None:
        self.members = members
        self.counts: dict[int, int] = {}
        self.latencies: list[float] = []
        self.complete = 0
        self.changed = asyncio.Event()
        self.last_delivery = 0.0

    def got(self, text: str) -> None:
        number, _, sent = text.partition(" ")
        now = time.perf_counter()
        seq = int(number)
        count = self.counts.get(seq, 0) + 1
        self.counts[seq] = count
        if seq >= 0:
            self.latencies.append(now - float(sent))
            self.last_delivery = now
        if count == self.members:
            if seq >= 0:  # warm-up messages do not count
                self.complete += 1
            self.changed.set()


async def member(ws: ClientConnection, room: Room) -> None:
    try:
        async for text in ws:
            room.got(str(text))
    except Exception:  # noqa: BLE001 - a dropped member shows as missing deliveries
        pass


async def drain(ws: ClientConnection) -> None:
    try:
        async for _ in ws:
            pass
    except Exception:  # noqa: BLE001 - the sender's own copies are not counted
        pass


async def run(urls: list[str], members: int, messages: int, window: int, timeout: float) -> dict:
    sockets = [
        await connect(urls[i % len(urls)], max_size=None, compression=None) for i in range(members)
    ]
    sender = await connect(urls[0], max_size=None, compression=None)
    room = Room(members)
    tasks = [asyncio.create_task(member(ws, room)) for ws in sockets]
    tasks.append(asyncio.create_task(drain(sender)))
    # warm-up: until one message reaches every member, the joins are not all done
    warm = -1
    while room.counts.get(warm, 0) < members:
        await sender.send(f"{warm} {time.perf_counter()}")
        try:
            await asyncio.wait_for(_until(room, lambda w=warm: room.counts.get(w, 0) >= members), 1)
        except TimeoutError:
            warm -= 1
    room.complete = 0
    start = time.perf_counter()
    for number in range(messages):
        while number - room.complete >= window:
            room.changed.clear()
            await asyncio.wait_for(room.changed.wait(), timeout)
        await sender.send(f"{number} {time.perf_counter()}")
    try:
        await asyncio.wait_for(_until(room, lambda: room.complete >= messages), timeout)
    except TimeoutError:
        pass
    elapsed = (room.last_delivery or time.perf_counter()) - start
    for ws in (*sockets, sender):
        await ws.close()
    for task in tasks:
        task.cancel()
    latencies = sorted(room.latencies)
    return {
        "deliveries": len(latencies),
        "per_sec": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
        "missing": sum(1 for n in range(messages) if room.counts.get(n, 0) < members),
    }


async def _until(room: Room, done: object) -> None:
    while not done():  # type: ignore[operator]
        room.changed.clear()
        await room.changed.wait()


def main() -> None:
    """Parse the options, load, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", help="ws:// URLs of the room, comma-separated")
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    urls = args.urls.split(",")
    print(json.dumps(runner(run(urls, args.members, args.messages, args.window, args.timeout))))


if __name__ == "__main__":
    main()
