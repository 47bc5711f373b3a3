#!/usr/bin/env python3
"""WebSocket echo: Atila on Skitai (handler thread and event loop) vs FastAPI on uvicorn.

Each server echoes text messages at ``/ws/thread`` and ``/ws/loop``
(``apps/atila_websocket.py``: ``WS_CHANNEL`` and ``WS_CHANNEL | WS_NOTHREAD``;
``apps/fastapi_websocket.py``: the same ``async def`` echo on both paths, uvicorn with
the ``websockets-sansio`` protocol), 2 workers each (skitai: 4 handler threads).  wrk speaks no
WebSocket: ``ws_load.py`` loads them (N connections, each sending a message and waiting
for its echo), in its own process, the same for both servers; its CPU shows as
"other cpu".  Rounds, medians and ratios as in the other scripts.  No target: this
measures where the engine stands.

    .venv/bin/python benchmarks/bench_websocket.py [--rounds 3] [--duration 8] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness import (
    ROOT,
    Output,
    WrkResult,
    add_arguments,
    run_benchmark,
    run_tool,
    skitai_command,
    uvicorn_command,
)

HERE = Path(__file__).resolve().parent
SERVER_NAMES = ["skitai", "uvicorn"]
PATHS = {"thread": "/ws/thread", "loop": "/ws/loop"}


def make_load(args: argparse.Namespace) -> object:
    """``load(url)``: one ``ws_load.py`` run against ``url`` as a :class:`WrkResult`."""

    def load(url: str) -> WrkResult | str:
        ws_url = url.replace("http://", "ws://", 1)
        argv = [
            sys.executable, str(HERE / "ws_load.py"), ws_url, "--connections",
            str(args.connections), "--duration", str(args.duration), "--size", str(args.size),
        ]  # fmt: skip
        output = run_tool("ws_load.py", argv, args.duration + 60)
        if not isinstance(output, Output):
            return output
        figures = json.loads(output.text.strip().splitlines()[-1])
        return WrkResult(
            requests_per_sec=figures["per_sec"],
            p99_ms=figures["p99_ms"],
            requests=int(figures["messages"]),
            socket_errors=int(figures["errors"]),
            non_2xx=0,
        )

    return load


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument("--size", type=int, default=64, help="bytes per message")
    args = parser.parse_args(argv)
    uvicorn = uvicorn_command("benchmarks.apps.fastapi_websocket:app", args)
    commands = {
        "skitai": skitai_command(ROOT / "benchmarks" / "apps" / "atila_websocket.py", args),
        "uvicorn": None if uvicorn is None else [*uvicorn, "--ws", "websockets-sansio"],
    }
    print(
        f"ws_load.py: {args.connections} connections x {args.duration:g} s, "
        f"{args.size}-byte messages, {args.rounds} rounds"
    )
    return run_benchmark(args, commands, PATHS, [], load=make_load(args))  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
