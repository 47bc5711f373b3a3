#!/usr/bin/env python3
"""Fan-out: one message to a room of N WebSocket clients, skitai's hub vs Django Channels.

Four systems, each with 2 worker processes per engine, all on a Redis this script
starts on a free port of its own (``redis-server --save ''``):

* ``skitai``: one engine, the embedded hub (``apps/fanout_atila.py``, ``WS_GROUPCHAT |
  WS_NOTHREAD``);
* ``channels``: the anchor, Django Channels' ``AsyncWebsocketConsumer`` with a group on
  ``channels-redis``, served by uvicorn (``apps/fanout_channels.py``; Channels needs a
  Redis layer as soon as there are two worker processes);
* ``skitai-2``: two skitai engines sharing the Redis (``--broker``);
* ``channels-2``: two uvicorn servers sharing the Redis layer.

``fanout_load.py`` connects N members (round robin over a system's engines) and one
sender, and sends M messages with at most W not yet received by every member.  It reports
delivered messages per second and the push latency (send -> a member received).  Targets
(issue 16): delivered/s >= 2x Channels and a p99 below Channels', on one host and on two
engines.  Rounds rotate the order; medians and per-round ratios are printed.

    .venv/bin/python benchmarks/bench_fanout.py [--rounds 3] [--members 64] [--messages 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, Output, run_tool
from servers import PORT, Server, find_executable, free_port, running

HERE = Path(__file__).resolve().parent
SYSTEMS = ["skitai", "channels", "skitai-2", "channels-2"]
#: the system each is compared with
ANCHORS = {"skitai": "channels", "skitai-2": "channels-2"}


def engines(system: str, broker: str, log_dir: Path) -> list[Server]:
    """The server processes of ``system`` (one or two engines of 2 workers)."""
    count = 2 if system.endswith("-2") else 1
    servers = []
    for index in range(count):
        port = free_port()
        if system.startswith("skitai"):
            argv = [
                sys.executable, str(HERE / "apps" / "fanout_atila.py"), "--workers", "2",
                "--silent", "--port", PORT, *(["--broker", broker] if count > 1 else []),
            ]  # fmt: skip
        else:
            uvicorn = find_executable("uvicorn")
            if uvicorn is None:
                return []
            argv = [
                "env", f"FANOUT_REDIS={broker}", uvicorn,
                "benchmarks.apps.fanout_channels:application", "--workers", "2",
                "--loop", "auto", "--http", "httptools", "--ws", "websockets-sansio",
                "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1",
                "--port", PORT,
            ]  # fmt: skip
        argv = [part.replace(PORT, str(port)) for part in argv]
        servers.append(Server(f"{system}#{index}", argv, port, log_dir / f"{system}-{index}.log"))
    return servers


def load(servers: list[Server], args: argparse.Namespace) -> dict[str, float] | str:
    """One ``fanout_load.py`` run against the room of ``servers``."""
    urls = ",".join(f"ws://127.0.0.1:{server.port}/room" for server in servers)
    argv = [
        sys.executable, str(HERE / "fanout_load.py"), urls, "--members", str(args.members),
        "--messages", str(args.messages), "--window", str(args.window),
    ]  # fmt: skip
    output = run_tool("fanout_load.py", argv, 300)
    if not isinstance(output, Output):
        return output
    figures: dict[str, float] = json.loads(output.text.strip().splitlines()[-1])
    return figures


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private ``redis-server`` and its URL."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while (
        subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
        ).stdout.strip()
        != b"PONG"
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def summary(results: dict[str, list[dict[str, float]]]) -> None:
    """Medians per system and the ratios against the anchors."""
    print("\nmedians:")
    print(f"{'system':<12} {'delivered/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'missing':>8}")
    medians: dict[str, dict[str, float]] = {}
    for system, runs in results.items():
        if not runs:
            continue
        medians[system] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        m = medians[system]
        print(
            f"{system:<12} {m['per_sec']:>12.0f} {m['p50_ms']:>8.1f} {m['p99_ms']:>8.1f} "
            f"{m['missing']:>8.0f}"
        )
    for system, anchor in ANCHORS.items():
        if system in medians and anchor in medians:
            ours, theirs = medians[system], medians[anchor]
            print(
                f"{system} / {anchor}: delivered/s x{ours['per_sec'] / theirs['per_sec']:.2f} "
                f"(target >= 2), p99 {ours['p99_ms']:.1f} vs {theirs['p99_ms']:.1f} ms "
                "(target: below)"
            )


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=64, help="clients in the room")
    parser.add_argument("--messages", type=int, default=2000, help="messages per run")
    parser.add_argument("--window", type=int, default=8, help="messages in flight at most")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)")
        return 1
    print(
        f"fanout_load.py: {args.members} members, {args.messages} messages, "
        f"window {args.window}, {args.rounds} rounds; 2 workers per engine"
    )
    results: dict[str, list[dict[str, float]]] = {system: [] for system in SYSTEMS}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        redis, broker = start_redis(Path(tmp))
        try:
            for number in range(args.rounds):
                order = SYSTEMS[number % len(SYSTEMS) :] + SYSTEMS[: number % len(SYSTEMS)]
                print(f"\nround {number + 1}:")
                for system in order:
                    subprocess.run(["redis-cli", "-u", broker, "flushall"], capture_output=True)
                    servers = engines(system, broker, Path(tmp))
                    if not servers:
                        print(f"{system}: not installed, skipped (pip install -e .[bench])")
                        continue
                    with running(servers) as ready:
                        if len(ready) != len(servers):
                            continue
                        figures = load(ready, args)
                    if isinstance(figures, str):
                        print(f"{system}: {figures}")
                        continue
                    results[system].append(figures)
                    print(
                        f"{system:<12} {figures['per_sec']:>10.0f}/s  p50 "
                        f"{figures['p50_ms']:.1f} ms  p99 {figures['p99_ms']:.1f} ms  "
                        f"missing {figures['missing']:.0f}"
                    )
        finally:
            redis.terminate()
            redis.wait(10)
    summary(results)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
