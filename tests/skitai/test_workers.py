"""The supervisor seen from outside: real processes, real sockets, real signals.

Each test runs ``pid_server.py`` (a Supervisor over a tiny pid-answering HTTP
worker) in a subprocess on an ephemeral port and waits for readiness by
polling, never by fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skitai.config import Config
from skitai.workers import (
    Supervisor,
    create_listener,
    describe_exit_status,
    refuse_new_connections,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("pid_server.py")
WAIT_SECONDS = 20.0


def wait_until(predicate: Callable[[], object], timeout: float = WAIT_SECONDS) -> None:
    """Poll ``predicate`` every 20 ms until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


def read_response(sock: socket.socket) -> tuple[int, str]:
    """Read one ``Content-Length`` response; return (status, body)."""
    head, body = read_message(sock)
    return int(head.split()[1]), body.decode()


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read one ``Content-Length`` response; return its head and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection closed mid-head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection closed mid-body: {body!r}")
        body += chunk
    return head, body


def request(port: int, path: str = "/") -> tuple[socket.socket, tuple[int, str]]:
    """Send ``GET path``; return the open socket and the response."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        return sock, read_response(sock)
    except BaseException:
        sock.close()
        raise


def get(port: int, path: str = "/") -> tuple[int, str]:
    """``GET path`` on a fresh connection; return (status, body)."""
    sock, response = request(port, path)
    sock.close()
    return response


def children(pid: int) -> set[int]:
    """Live (non-zombie) child processes of ``pid``."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry))
    return found


class Master:
    """``pid_server.py`` running in a subprocess, its stderr in a file."""

    def __init__(self, stderr_path: Path, *args: str) -> None:
        self.stderr_path = stderr_path
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(SCRIPT), *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                text=True,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("port "), self.stderr()
        self.port = int(line.split()[1])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def answers(self) -> bool:
        try:
            return get(self.port)[0] == 200
        except OSError:
            return False

    def workers_are(self, predicate: Callable[[set[int]], bool]) -> bool:
        """Apply ``predicate`` to one snapshot of the worker pids."""
        return predicate(children(self.pid))

    def wait_ready(self, workers: int) -> set[int]:
        """Wait until it serves with ``workers`` workers; return their pids."""
        wait_until(self.answers)
        wait_until(lambda: len(children(self.pid)) == workers)
        return children(self.pid)

    def close(self) -> None:
        """Kill whatever is left (a test that wants a graceful stop does it itself)."""
        if self.proc.poll() is None:
            for pid in children(self.pid):
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def start_master(tmp_path: Path) -> Iterator[Callable[..., Master]]:
    masters: list[Master] = []

    def start(*args: str) -> Master:
        master = Master(tmp_path / f"master{len(masters)}.stderr", *args)
        masters.append(master)
        return master

    yield start
    for master in masters:
        master.close()


def distinct_pids(port: int, count: int) -> set[int]:
    """Ask ``count`` workers for their pid, holding each busy so the next goes elsewhere."""
    held: list[socket.socket] = []
    pids: set[int] = set()
    try:
        for _ in range(count):
            sock, (status, body) = request(port, "/hold")
            held.append(sock)
            assert status == 200
            pids.add(int(body))
    finally:
        for sock in held:
            sock.close()
    return pids


def test_two_workers_both_answer(start_master: Callable[..., Master]) -> None:
    master = start_master("--workers", "2")
    workers = master.wait_ready(2)
    assert distinct_pids(master.port, 2) == workers
    master.proc.send_signal(signal.SIGTERM)
    assert master.proc.wait(WAIT_SECONDS) == 0


def test_killed_worker_is_replaced(start_master: Callable[..., Master]) -> None:
    master = start_master("--workers", "2")
    before = master.wait_ready(2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: master.workers_are(lambda pids: len(pids) == 2 and victim not in pids))
    after = children(master.pid)
    assert len(after - before) == 1
    assert get(master.port)[0] == 200
    assert distinct_pids(master.port, 2) == after
    master.proc.send_signal(signal.SIGTERM)
    assert master.proc.wait(WAIT_SECONDS) == 0
    log = master.stderr()
    assert f"pid {victim}) exited unexpectedly: killed by SIGKILL" in log


def test_sigterm_finishes_in_flight_request(start_master: Callable[..., Master]) -> None:
    master = start_master("--workers", "1")
    (worker,) = master.wait_ready(1)
    with socket.create_connection(("127.0.0.1", master.port), timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        first = sock.recv(12)  # the head is sent at once: the request is in flight
        assert first.startswith(b"HTTP/1.1 200")
        master.proc.send_signal(signal.SIGTERM)
        rest = b""
        while chunk := sock.recv(4096):
            rest += chunk
    head, _, body = (first + rest).partition(b"\r\n\r\n")
    assert b"200 OK" in head
    assert body == str(worker).encode()
    assert master.proc.wait(WAIT_SECONDS) == 0
    assert not Path(f"/proc/{worker}").exists()  # the master reaped it before exiting


def test_sighup_replaces_every_worker_without_refusing(
    start_master: Callable[..., Master],
) -> None:
    master = start_master("--workers", "2")
    before = master.wait_ready(2)
    outcomes = {"ok": 0, "refused": 0, "other": 0}
    done = threading.Event()

    def client_loop() -> None:
        while not done.is_set():
            try:
                status, _ = get(master.port)
                outcomes["ok" if status == 200 else "other"] += 1
            except ConnectionRefusedError:
                outcomes["refused"] += 1
            except OSError:
                outcomes["other"] += 1

    client = threading.Thread(target=client_loop)
    client.start()
    try:
        wait_until(lambda: outcomes["ok"] > 0)
        master.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: master.workers_are(lambda pids: len(pids) == 2 and not pids & before))
        served_before = outcomes["ok"]
        wait_until(lambda: outcomes["ok"] > served_before)
    finally:
        done.set()
        client.join()
    assert outcomes["refused"] == 0
    assert outcomes["other"] == 0
    assert distinct_pids(master.port, 2) == children(master.pid)
    master.proc.send_signal(signal.SIGTERM)
    assert master.proc.wait(WAIT_SECONDS) == 0


def test_sighup_stops_the_old_worker_only_once_its_replacement_serves(
    start_master: Callable[..., Master],
) -> None:
    master = start_master("--workers", "1", "--mode", "slow")
    (old,) = master.wait_ready(1)
    master.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: len(children(master.pid)) == 2)  # the replacement is starting
    assert get(master.port) == (200, str(old))  # meanwhile the old worker still accepts
    wait_until(lambda: master.workers_are(lambda pids: len(pids) == 1 and old not in pids))
    (new,) = children(master.pid)
    assert get(master.port) == (200, str(new))
    master.proc.send_signal(signal.SIGTERM)
    assert master.proc.wait(WAIT_SECONDS) == 0


def test_crash_loop_makes_master_exit_non_zero(start_master: Callable[..., Master]) -> None:
    master = start_master("--workers", "2", "--mode", "crash")
    assert master.proc.wait(WAIT_SECONDS) == 1
    log = master.stderr()
    assert "RuntimeError: worker 0 cannot start: simulated failure" in log
    assert "5 times in a row; giving up" in log
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", master.port), timeout=5).close()


def test_second_sigint_kills_workers_that_ignore_sigterm(
    start_master: Callable[..., Master],
) -> None:
    master = start_master("--workers", "2", "--mode", "stubborn", "--graceful", "60")
    workers = master.wait_ready(2)
    master.proc.send_signal(signal.SIGINT)
    wait_until(lambda: master.stderr().count("ignores SIGTERM") == 2)
    # They ignored SIGTERM and still run (new connections are no longer taken: a stop
    # refuses them from its start).
    assert children(master.pid) == workers
    master.proc.send_signal(signal.SIGINT)
    assert master.proc.wait(WAIT_SECONDS) == 0  # long before graceful_timeout
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_worker_that_cannot_switch_user_says_why(start_master: Callable[..., Master]) -> None:
    master = start_master("--workers", "1", "--user", "no-such-user-skitai")
    assert master.proc.wait(WAIT_SECONDS) == 1
    assert "cannot switch to user 'no-such-user-skitai': no such user" in master.stderr()


def test_create_listener_binds_an_ephemeral_port() -> None:
    with create_listener("127.0.0.1", 0, 16) as listener:
        port = listener.getsockname()[1]
        assert port > 0
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert not listener.get_inheritable()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass


def test_create_listener_follows_the_address_family() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        listener = create_listener("::1", 0, 16)
    except OSError as exc:
        pytest.skip(f"IPv6 loopback unavailable: {exc}")
    with listener:
        assert listener.family == socket.AF_INET6


def test_create_listener_names_the_busy_address() -> None:
    with create_listener("127.0.0.1", 0, 16) as first:
        port = first.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            create_listener("127.0.0.1", port, 16)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux socket filter")
def test_refuse_new_connections_keeps_the_queue_and_open_connections() -> None:
    with create_listener("127.0.0.1", 0, 16) as listener:
        address = listener.getsockname()
        with socket.create_connection(address, timeout=5) as queued:
            queued.sendall(b"sent before")
            assert refuse_new_connections(listener)
            conn, _ = listener.accept()  # the queued connection is still there
            with conn:
                assert conn.recv(64) == b"sent before"
                conn.sendall(b"answer")
                assert queued.recv(64) == b"answer"
            # a new connection request is ignored (its client would retry the SYN)
            with pytest.raises(TimeoutError):
                socket.create_connection(address, timeout=0.3).close()
    with pytest.raises(ConnectionRefusedError):  # closed: the retry is refused
        socket.create_connection(address, timeout=5).close()


def test_describe_exit_status() -> None:
    assert describe_exit_status(3 << 8) == "exit code 3"
    assert describe_exit_status(signal.SIGKILL) == "killed by SIGKILL"


def test_supervisor_needs_a_worker() -> None:
    with create_listener("127.0.0.1", 0, 16) as listener:
        with pytest.raises(ValueError, match="at least 1"):
            Supervisor(Config(workers=0), listener, lambda sock, index, ready: None)
