"""Restarts that lose nothing: SIGHUP and SIGTERM to a live supervisor under load.

The server is ``hello_app.py`` run by the real engine (``skitai.run``) with 2
workers.  The rolling restart is loaded by ``wrk`` (32 keep-alive connections);
the graceful stop (SIGTERM to the master, or a terminal's Ctrl-C reaching the
whole process group) by :class:`KeepAliveLoad`, 32 keep-alive connections that
tell a cut request (sent, then the connection ended without an answer) from a
clean end (a ``Connection: close`` answer, or a refused connect once the server
is gone), which wrk cannot: it counts a refused reconnect as a write error.

``wrk`` is required under CI (``CI=true``, or ``ATILA_STACK_REQUIRE_WRK=1`` as
``.ci/run`` sets): there a missing wrk fails the test instead of skipping it.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workers import children, read_message, wait_until  # shared live-server helpers

from skitai.testing import LiveClient, test_client

HERE = Path(__file__).resolve().parent
APP = HERE / "hello_app.py"
WRK_SCRIPT = HERE / "restart_load.lua"
WRK_SECONDS = 4
CONNECTIONS = 32
#: Answers the load must have had before the signal is sent.
WARM_UP_ANSWERS = 200
REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


def wrk_required() -> bool:
    """Whether a missing wrk must fail the test (CI) rather than skip it."""
    return os.environ.get("CI") == "true" or os.environ.get("ATILA_STACK_REQUIRE_WRK") == "1"


def find_wrk() -> str:
    """The wrk executable; skips the test without it, fails under CI."""
    wrk = shutil.which("wrk")
    if wrk is None:
        message = "wrk is not installed (Debian package 'wrk')"
        if wrk_required():
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    return wrk


@pytest.fixture
def server() -> Iterator[LiveClient]:
    """``hello_app.py`` with 2 workers, both answering."""
    client = test_client(APP, devel=False, args=("--workers", "2"))
    try:
        master = client.process.pid
        wait_until(lambda: len(children(master)) == 2)
        wait_until(lambda: client.get("/").status_code == 200)
        yield client
    finally:
        client.stop()


def test_rolling_restart_under_wrk_loses_no_request(server: LiveClient, tmp_path: Path) -> None:
    wrk = find_wrk()
    master = server.process.pid
    before = children(master)
    mark = tmp_path / "loaded"
    argv = [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{WRK_SECONDS}s", "-s", str(WRK_SCRIPT)]
    load = subprocess.Popen(
        [*argv, server.url_for("/")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "WRK_MARK": str(mark)},
    )
    try:
        wait_until(mark.exists)
        os.kill(master, signal.SIGHUP)
        wait_until(lambda: len(pids := children(master)) == 2 and not pids & before)
        restarted_under_load = load.poll() is None
        output, _ = load.communicate(timeout=WRK_SECONDS + 10)
    finally:
        if load.poll() is None:
            load.kill()
            load.communicate()
    assert load.returncode == 0, output
    assert restarted_under_load, f"wrk ended before the restart did:\n{output}"
    answered = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    assert answered is not None and int(answered.group(1)) > WARM_UP_ANSWERS, output
    assert "Socket errors" not in output, output  # connect, read, write, timeout
    assert "Non-2xx" not in output, output
    assert server.get("/").text == "Hello, World!"


class KeepAliveLoad:
    """``connections`` threads, each sending ``GET /`` on a keep-alive connection in a loop.

    A thread reconnects after a ``Connection: close`` answer and ends when a
    connect fails (the server is gone; no request was sent).  ``tally`` counts ``answered``,
    ``closed`` (clean ``Connection: close`` ends), ``refused`` and ``cut``: a
    request sent whose connection then failed or ended without its answer.
    """

    def __init__(self, port: int, connections: int) -> None:
        self.address = ("127.0.0.1", port)
        self.tally: collections.Counter[str] = collections.Counter()
        #: what happened to each cut request, for the failure message
        self.cuts: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(connections)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "a load connection never ended"

    def _count(self, what: str) -> None:
        with self._lock:
            self.tally[what] += 1

    def _run(self) -> None:
        while True:
            try:
                sock = socket.create_connection(self.address, timeout=5)
            except OSError:  # refused (or its SYN ignored, then reset): nothing was sent
                self._count("refused")
                return
            with sock:
                if not self._serve_connection(sock):
                    return

    def _serve_connection(self, sock: socket.socket) -> bool:
        """Send requests until a clean close (True: reconnect) or a cut (False)."""
        while True:
            try:
                sock.sendall(REQUEST)
                close = _read_response(sock)
            except OSError as exc:  # reset, EOF or a timeout before the whole answer
                self._count("cut")
                self.cuts.append(repr(exc))
                return False
            self._count("answered")
            if close:
                self._count("closed")
                return True


def _read_response(sock: socket.socket) -> bool:
    """Read one answer to ``GET /``; return whether it says ``Connection: close``."""
    head, body = read_message(sock)
    lines = head.lower().split(b"\r\n")
    assert lines[0].startswith(b"http/1.1 200") and body == b"Hello, World!", head
    return b"connection: close" in lines


@pytest.mark.parametrize("ctrl_c", [False, True], ids=["sigterm-to-master", "ctrl-c-to-group"])
def test_graceful_stop_under_load_cuts_no_request(server: LiveClient, ctrl_c: bool) -> None:
    master = server.process
    assert server.port is not None
    load = KeepAliveLoad(server.port, CONNECTIONS)
    load.start()
    try:
        wait_until(lambda: load.tally["answered"] >= WARM_UP_ANSWERS)
        if ctrl_c:  # a terminal's Ctrl-C: SIGINT to the master and its workers at once
            os.killpg(master.pid, signal.SIGINT)
        else:
            master.send_signal(signal.SIGTERM)
        assert master.wait(20) == 0
    finally:
        load.join(20)
    assert load.tally["cut"] == 0, (load.tally, load.cuts)
    # every connection ended cleanly: told to close, then refused once the server was gone
    assert load.tally["refused"] == CONNECTIONS, load.tally
    assert load.tally["closed"] > 0, load.tally
