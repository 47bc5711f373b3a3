#!/usr/bin/env python3
"""A WebSocket echo load generator (wrk has no WebSocket): ``bench_websocket.py`` runs it.

``ws_load.py URL --connections N --duration S --size B`` opens N connections, and each
sends a B-byte text message and waits for its echo, over and over, for S seconds.  It
prints one JSON line: messages, messages/s, p99 latency (ms) and errors.  One asyncio
process on uvloop with the ``websockets`` client: it costs CPU of its own, the same for
every server it loads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import connect


async def _client(url: str, deadline: float, message: str, latencies: list[float]) -> int:
    errors = 0
    try:
        async with connect(url, max_size=None, compression=None) as ws:
            while (now := time.perf_counter()) < deadline:
                await ws.send(message)
                if await ws.recv() != message:
                    errors += 1
                latencies.append(time.perf_counter() - now)
    except Exception:  # noqa: BLE001 - a failed connection is counted, not raised
        errors += 1
    return errors


async def _run(url: str, connections: int, duration: float, size: int) -> dict[str, float]:
    message = "x" * size
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + duration
    errors = sum(
        await asyncio.gather(
            *(_client(url, deadline, message, latencies) for _ in range(connections))
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    return {
        "messages": len(latencies),
        "per_sec": len(latencies) / elapsed,
        "p99_ms": p99 * 1000,
        "errors": errors,
    }


def main() -> None:
    """Parse the options, load, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    print(json.dumps(runner(_run(args.url, args.connections, args.duration, args.size))))


if __name__ == "__main__":
    main()
