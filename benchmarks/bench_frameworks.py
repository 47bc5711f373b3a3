#!/usr/bin/env python3
"""py-frameworks-bench's three scenarios: Atila on Skitai vs BlackSheep, Falcon, Starlette,
FastAPI (uvicorn) and Sanic (its own server), 2 workers each, in one run.

The scenarios (``apps/pfb_common.py``; the apps are ``apps/pfb_<framework>.py``):

* ``html``   -- ``GET /html``: an HTML answer with an ``x-time`` header;
* ``api``    -- ``PUT /api/users/1/records/1?query=test`` with a JSON body and an
  ``Authorization`` header (``pfb/api.lua``): path ints, query and body back as JSON;
* ``upload`` -- ``POST /upload``, a 1 KiB multipart file (``pfb/upload.lua``) stored to disk.

Atila runs three ways: ``atila`` (``def`` handlers: routed on the loop, run on a
handler thread), ``atila-async`` (``async def``: on the loop) and ``atila-nothread``
(``def`` marked ``nothread``: on the loop).  Before loading, every server is asked
each scenario and must answer it correctly.  Uploaded files go to a temporary
directory emptied after each wrk run.  Targets from issue 17: ``atila-async`` >= 1.0x
and ``atila`` >= 0.6x the fastest peer on each scenario (the summary prints the ratio
to every peer; the fastest peer is the one with the highest median).

    .venv/bin/python benchmarks/bench_frameworks.py [--scenarios html api upload] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    PORT,
    ROOT,
    Server,
    Target,
    WrkOptions,
    WrkResult,
    add_arguments,
    find_executable,
    run_benchmark,
    run_wrk,
    skitai_command,
    uvicorn_command,
)

APPS = ROOT / "benchmarks" / "apps"
SCRIPTS = ROOT / "benchmarks" / "pfb"
ATILAS = ["atila", "atila-async", "atila-nothread"]
PEERS = ["blacksheep", "falcon", "starlette", "fastapi", "sanic"]
SERVER_NAMES = ATILAS + PEERS
#: scenario -> (path wrk loads, its Lua script or None)
SCENARIOS = {
    "html": ("/html", None),
    "api": ("/api/users/1/records/1?query=test", SCRIPTS / "api.lua"),
    "upload": ("/upload", SCRIPTS / "upload.lua"),
}
HTML = b"<b>HTML OK</b>"
UPLOAD_DIR_ENV = "PFB_UPLOAD_DIR"


def server_commands(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """Command line of each server (``None``: not installed)."""
    commands: dict[str, list[str] | None] = {}
    for name, handlers in zip(ATILAS, ["def", "async", "nothread"], strict=True):
        commands[name] = [*skitai_command(APPS / "pfb_atila.py", args), "--handlers", handlers]
    for name in ["blacksheep", "falcon", "starlette", "fastapi"]:
        command = uvicorn_command(f"pfb_{name}:app", args)
        commands[name] = None if command is None else [*command, "--app-dir", str(APPS)]
    sanic = find_executable("sanic")
    commands["sanic"] = None
    if sanic is not None:
        commands["sanic"] = [
            "env", f"PYTHONPATH={APPS}", sanic, "pfb_sanic:app", "--host", "127.0.0.1",
            "--port", PORT, "--workers", str(args.workers), "--no-access-logs",
        ]  # fmt: skip
    return commands


def _request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, str, bytes, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return (response.status, response.getheader("Content-Type", ""), response.read(),
                response.getheader("x-time"))  # fmt: skip
    finally:
        conn.close()


def scenario_problem(port: int, scenario: str) -> str | None:
    """Why the server on ``port`` answers ``scenario`` wrongly, or None."""
    if scenario == "html":
        before = time.time() - 1
        status, ctype, body, stamp = _request(port, "GET", "/html")
        if status != 200 or not ctype.startswith("text/html") or body != HTML:
            return f"{status} {ctype} {body[:60]!r}"
        if stamp is None or float(stamp) < before:
            return f"x-time header {stamp!r}"
        return None
    if scenario == "api":
        path, data = "/api/users/12/records/34?query=test", json.dumps({"foo": "bar"}).encode()
        status, *_ = _request(port, "PUT", path, data, {"Content-Type": "application/json"})
        if status != 401:
            return f"without Authorization: {status}, expected 401"
        headers = {"Content-Type": "application/json", "Authorization": "user"}
        status, ctype, body, _ = _request(port, "PUT", path, data, headers)
        expected = {"params": {"user": 12, "record": 34}, "query": {"query": "test"},
                    "data": {"foo": "bar"}}  # fmt: skip
        if status != 200 or not ctype.startswith("application/json"):
            return f"{status} {ctype} {body[:80]!r}"
        got = json.loads(body)
        if got != expected:
            return f"answered {got!r}"
        return None
    boundary = "pfbcheck"
    content = b"pfb check file\n" * 20
    data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"t.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode()  # fmt: skip
    data += content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, ctype, body, _ = _request(port, "POST", "/upload", data, headers)
    if status != 200 or not ctype.startswith("text/plain"):
        return f"{status} {ctype} {body[:80]!r}"
    stored = Path(body.decode())
    if stored.parent != Path(os.environ[UPLOAD_DIR_ENV]) or stored.read_bytes() != content:
        return f"the file was not stored as sent ({stored})"
    return None


def check_scenarios(servers: list[Server]) -> bool:
    """Every server answers every scenario correctly (reported; False otherwise)."""
    good = True
    for server in servers:
        for scenario in SCENARIOS:
            try:
                problem = scenario_problem(server.port, scenario)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                print(f"{server.name}: {scenario}: {problem}")
                good = False
    if good:
        print(f"every server answers the {len(SCENARIOS)} scenarios correctly")
    return good


def targets(names: list[str]) -> list[Target]:
    """Atila against every peer: issue 17's thresholds (async >= 1.0x, def >= 0.6x the
    fastest peer), printed per peer."""
    found = []
    for peer in (n for n in PEERS if n in names):
        found.append(Target("atila-async", peer, 1.0))
        found.append(Target("atila", peer, 0.6))
        found.append(Target("atila-nothread", peer, 1.0))
    return [t for t in found if t.server in names]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, SERVER_NAMES)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS),
                        default=list(SCENARIOS), help="scenarios to load")  # fmt: skip
    parser.add_argument(
        "--check-only", action="store_true", help="start the servers, check answers, stop"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    upload_dir = tempfile.mkdtemp(prefix="pfb-uploads-")
    os.environ[UPLOAD_DIR_ENV] = upload_dir  # the servers inherit it
    wrk = shutil.which("wrk")
    if wrk is None and not args.check_only:
        print("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
        return 1
    scripts = {path.split("?")[0]: script for path, script in SCENARIOS.values()}

    def load(url: str) -> WrkResult | str:
        assert wrk is not None
        script = scripts["/" + url.split("/", 3)[3].split("?")[0]]
        options = WrkOptions(args.wrk_threads, args.connections, args.duration,
                             script=None if script is None else str(script))  # fmt: skip
        try:
            return run_wrk(wrk, url, options)
        finally:
            for entry in os.scandir(upload_dir):  # thousands of 1 KiB files per run
                os.unlink(entry.path)

    paths = {name: SCENARIOS[name][0] for name in args.scenarios}
    print(f"py-frameworks-bench scenarios, {args.workers} workers each "
          f"(skitai x {args.threads} threads); wrk -t{args.wrk_threads} -c{args.connections} "
          f"-d{args.duration}s --latency, {args.rounds} rounds")  # fmt: skip
    try:
        return run_benchmark(
            args, server_commands(args), paths, targets(args.servers), ready_path="/html",
            ready_body=HTML, check=check_scenarios, check_only=args.check_only, load=load,
        )  # fmt: skip
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
