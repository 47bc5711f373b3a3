"""The servers under test: command lines, start, readiness, stop.

A :class:`Server` is a name, a command line and a port; :func:`build_servers`
makes them from ``{name: argv}`` (with :data:`PORT` standing for the port),
:func:`running` starts them all at once, each in its own process group (so a
server's workers are stopped with it), waits until each answers its readiness
check and always stops them all.  The ``*_command`` functions give the command
line of the servers the benchmarks compare, from the ``--workers``/``--threads``
options of :func:`harness.add_arguments`.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

#: The repository root: servers run from here (``benchmarks.apps.x:app`` imports).
ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclasses.dataclass
class Response:
    """A response as the readiness and equivalence checks see it."""

    status: int
    content_type: str
    body: bytes


def http_get(port: int, path: str, timeout: float = 2.0) -> Response:
    """``GET path`` from 127.0.0.1:``port`` on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return Response(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


@dataclasses.dataclass
class Server:
    """One server under test: how to start it, and its process once started.

    The server is ready when ``GET ready_path`` answers 200 with ``ready_body``.
    """

    name: str
    argv: list[str]
    port: int
    log_path: Path
    ready_path: str = "/"
    ready_body: bytes = b"Hello, World!"
    process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` on this server (what wrk loads)."""
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_executable(name: str) -> str | None:
    """``name`` next to this interpreter (the virtualenv), else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


#: Placeholder for the port in a server's command line (``"127.0.0.1:{port}"`` works too).
PORT = "{port}"


def build_servers(
    names: Sequence[str],
    commands: dict[str, list[str] | None],
    log_dir: Path,
    ready_path: str = "/",
    ready_body: bytes = b"Hello, World!",
) -> list[Server]:
    """A :class:`Server` per name, its port put into its command (see :data:`PORT`);
    ready once ``GET ready_path`` answers 200 with ``ready_body``.

    A command that is ``None`` (its executable is not installed) is reported and left out.
    """
    servers = []
    for name in names:
        argv = commands[name]
        if argv is None:
            print(f"{name}: not installed, skipped (pip install -e .[bench])")
            continue
        port = free_port()
        argv = [part.replace(PORT, str(port)) for part in argv]
        servers.append(Server(name, argv, port, log_dir / f"{name}.log", ready_path, ready_body))
    return servers


def start(server: Server) -> None:
    """Start ``server`` from the repository root in its own process group, output to its log."""
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            server.argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(server: Server) -> str | None:
    """Wait until ``server`` answers its readiness check; else say why not."""
    assert server.process is not None
    deadline = time.monotonic() + READY_TIMEOUT
    last_problem = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return f"exited with code {server.process.returncode}"
        try:
            answer = http_get(server.port, server.ready_path)
        except (OSError, http.client.HTTPException) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
            continue
        if answer.status == 200 and answer.body == server.ready_body:
            return None
        return f"unexpected answer: {answer.status} {answer.body[:60]!r}"
    return f"not ready after {READY_TIMEOUT:.0f} s ({last_problem})"


def stop(server: Server) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    process = server.process
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def log_tail(server: Server, lines: int = 15) -> str:
    """The last lines of the server's output, indented."""
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "".join("    " + line + "\n" for line in text.splitlines()[-lines:])


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    """Start every server at once; yield those that became ready; always stop all."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for server in servers:
            start(server)
        ready = []
        for server in servers:
            problem = wait_ready(server)
            if problem is None:
                print(f"{server.name}: ready on port {server.port}")
                ready.append(server)
            else:
                print(f"{server.name}: failed to start: {problem}\n{log_tail(server)}")
                stop(server)
        yield ready
    finally:
        for server in servers:
            stop(server)
        signal.signal(signal.SIGTERM, previous)


# -- command lines -------------------------------------------------------------


def skitai_command(script: Path, args: argparse.Namespace) -> list[str]:
    """``python script --workers W --threads T --silent --port P`` (skitai reads the flags)."""
    return [
        sys.executable, str(script), "--workers", str(args.workers), "--threads",
        str(args.threads), "--silent", "--port", PORT,
    ]  # fmt: skip


def gunicorn_command(app_spec: str, args: argparse.Namespace) -> list[str] | None:
    """gunicorn with W ``gthread`` workers x T threads, no access log (None: not installed)."""
    gunicorn = find_executable("gunicorn")
    if gunicorn is None:
        return None
    return [
        gunicorn, "-k", "gthread", "-w", str(args.workers), "--threads", str(args.threads),
        "--chdir", str(ROOT), "--log-level", "warning", app_spec, "-b", f"127.0.0.1:{PORT}",
    ]  # fmt: skip


def uvicorn_command(app_spec: str, args: argparse.Namespace) -> list[str] | None:
    """uvicorn on uvloop + httptools with W workers, no access log (None: not installed)."""
    uvicorn = find_executable("uvicorn")
    if uvicorn is None:
        return None
    return [
        uvicorn, app_spec, "--loop", "uvloop", "--http", "httptools",
        "--workers", str(args.workers), "--no-access-log", "--log-level", "warning",
        "--host", "127.0.0.1", "--port", PORT,
    ]  # fmt: skip
