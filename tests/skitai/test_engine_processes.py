"""The real engine under process control: workers replaced, drained, restarted; daemon mode.

Unlike test_workers.py (the supervisor over a tiny pid server), these run a
real ``serve.py`` with ``skitai.mount``/``skitai.run``: HTTP/1.1 protocol,
WSGI container and handler threads included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from skitai.testing import LiveClient

ROOT = Path(__file__).resolve().parents[2]

APP = """
    import os, threading, skitai
    STARTED = threading.Event()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/slow":
            # Hold the request until the test says so through a file it creates.
            flag = environ["QUERY_STRING"]
            open(flag + ".started", "w").close()
            while not os.path.exists(flag + ".release"):
                threading.Event().wait(0.02)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]

    skitai.mount("/", app)
    skitai.run(workers=2, threads=2, graceful_timeout=20)
"""


def wait_until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll ``predicate`` (another process's state) until true, bounded."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def worker_pids(client: LiveClient, want: int = 2, tries: int = 400) -> set[int]:
    """Distinct worker pids answering, each request on a new connection."""
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(int(requests.get(client.base_url + "/pid", timeout=5).text))
        if len(seen) >= want:
            break
    return seen


def test_killed_worker_is_replaced(serve: Callable[..., LiveClient]) -> None:
    client = serve(APP)
    before = worker_pids(client)
    assert len(before) == 2
    victim = before.pop()
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(pids := worker_pids(client)) == 2 and victim not in pids)
    assert requests.get(client.base_url + "/", timeout=5).status_code == 200


def test_sigterm_finishes_in_flight_request(
    serve: Callable[..., LiveClient], tmp_path: Path
) -> None:
    client = serve(APP)
    flag = tmp_path / "req"
    result: dict[str, object] = {}

    def slow() -> None:
        response = requests.get(f"{client.base_url}/slow?{flag}", timeout=30)
        result["status"] = response.status_code

    thread = threading.Thread(target=slow)
    thread.start()
    wait_until(lambda: Path(str(flag) + ".started").exists())
    client.process.send_signal(signal.SIGTERM)
    # The master drains: the request in flight must still complete.
    Path(str(flag) + ".release").touch()
    thread.join(30)
    assert result.get("status") == 200
    assert client.process.wait(30) == 0


def test_sighup_restarts_workers_without_refusing(serve: Callable[..., LiveClient]) -> None:
    client = serve(APP)
    before = worker_pids(client)
    client.process.send_signal(signal.SIGHUP)
    errors: list[str] = []
    after: set[int] = set()
    deadline = time.monotonic() + 30
    while not (len(after) == 2 and not after & before) and time.monotonic() < deadline:
        try:
            pid = int(requests.get(client.base_url + "/", timeout=5).text)
        except requests.ConnectionError as exc:
            errors.append(repr(exc))
            continue
        if pid not in before:
            after.add(pid)
    assert errors == []
    assert len(after) == 2 and not after & before


def test_daemon_start_status_stop(tmp_path: Path, free_port: int) -> None:
    script = tmp_path / "serve.py"
    var = tmp_path / "var"
    script.write_text(
        textwrap.dedent(
            f"""
            import skitai
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"daemon"]
            skitai.mount("/", app)
            skitai.run(port={free_port}, var_dir={str(var)!r})
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )

    started = command("start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        response = requests.get(f"http://127.0.0.1:{free_port}/", timeout=5)
        assert response.text == "daemon"
        status = command("status")
        assert status.returncode == 0
        assert status.stdout.startswith("serve: running, pid")  # named after serve.py
        assert (var / "serve.pid").is_file()
    finally:
        stopped = command("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert command("status").returncode == 3
    assert not (var / "serve.pid").exists()
