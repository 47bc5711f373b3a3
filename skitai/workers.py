"""The process supervisor: fork workers, replace the dead, drain, roll-restart.

The master process owns the listening socket and never serves a request.  It
forks ``config.workers`` children that all accept on the shared socket, then
waits for signals without threads or polling loops: signal handlers only note
the signal number and wake the master through ``signal.set_wakeup_fd``; the
master reaps children with ``os.waitpid(pid, WNOHANG)``.

Signals understood by the master:

``SIGTERM`` / ``SIGINT``
    graceful stop: the master stops new handshakes on the listening socket
    (:func:`refuse_new_connections`) and closes its copy of it; the workers
    keep accepting for :data:`HANDSHAKE_GRACE` seconds (connections whose
    handshake was under way), then each gets ``SIGTERM`` and has
    ``config.graceful_timeout`` (plus :data:`KILL_MARGIN`) to finish its
    in-flight requests before ``SIGKILL``.  A second ``SIGINT`` kills at once.
``SIGHUP``
    rolling restart: one worker at a time, a replacement is forked first and
    the old worker is stopped once the replacement reports that it serves
    (or after :data:`READY_TIMEOUT`), then awaited.  The socket stays open in
    the master, so no connection is ever refused, and some worker accepts
    throughout.

The listening socket is one socket, created before the fork and shared by
every worker (:mod:`skitai.listener`): a worker that stops accepting leaves the
connections queued in the backlog to the others.  How a stopping worker lets
its own connections go without losing a request is :mod:`skitai.server.draining`.
``SIGCHLD``
    a worker that exits unexpectedly is logged and replaced.  If
    :data:`MAX_FAST_EXITS` workers in a row die within
    :data:`FAST_EXIT_SECONDS` of starting, the master stops the others and
    :meth:`Supervisor.run` returns 1 with a message on stderr, instead of
    holding the port open with no one able to serve it.

The supervisor writes nothing to disk; the pid file belongs to :mod:`skitai.cli`.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import pwd
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from skitai.config import Config
from skitai.listener import create_listener, refuse_new_connections
from skitai.server.asgi_lifespan import APP_START_FAILED

__all__ = [
    "FAST_EXIT_SECONDS",
    "HANDSHAKE_GRACE",
    "KILL_MARGIN",
    "MAX_FAST_EXITS",
    "READY_TIMEOUT",
    "Supervisor",
    "WorkerMain",
    "create_listener",
    "describe_exit_status",
    "refuse_new_connections",
]

logger = logging.getLogger("skitai.workers")

#: A worker's entry point: ``worker_main(listening_socket, worker_index, ready)``;
#: it calls ``ready()`` once it accepts connections.
WorkerMain = Callable[[socket.socket, int, Callable[[], None]], None]

#: A worker exiting sooner than this after its start counts as a failed start.
FAST_EXIT_SECONDS = 1.0
#: This many failed starts in a row make the master give up.
MAX_FAST_EXITS = 5
#: Seconds a rolling restart waits for a replacement's ``ready()`` before it
#: stops the worker being replaced anyway.
READY_TIMEOUT = 30.0
#: Extra seconds beyond ``graceful_timeout`` before a stopping worker is killed.
KILL_MARGIN = 5.0
#: Seconds the workers keep accepting on a stop once new handshakes are refused:
#: a handshake under way (SYN answered, the client's ACK on its way) completes
#: within a round trip, and its client may already be sending its request.
HANDSHAKE_GRACE = 0.25

_HANDLED_SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def describe_exit_status(status: int) -> str:
    """Turn an ``os.waitpid`` status into words: ``exit code 1``, ``killed by SIGKILL``."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"killed by {name}"


@dataclasses.dataclass
class _Worker:
    """The master's record of one child process."""

    pid: int
    index: int
    started: float
    #: set once the master asked it to stop: its exit is expected
    stopping: bool = False
    #: monotonic time after which a stopping worker is killed
    kill_at: float | None = None
    #: the master's end of the pipe the worker reports readiness on (-1: done)
    ready_fd: int = -1
    #: the worker called ready(): it accepts connections
    ready: bool = False


class Supervisor:
    """Run ``config.workers`` forked workers on ``sock`` until told to stop.

    ``worker_main(sock, worker_index, ready)`` runs in each child with default
    signal handlers; it calls ``ready()`` once it accepts connections (a
    rolling restart stops the worker it replaces only then) and serves until
    ``SIGTERM``, then finishes its in-flight requests (within
    ``config.graceful_timeout``) and returns.  A child exits 0 when it returns
    and 1 (traceback on stderr) when it raises.

    The master must be the main thread of a process without other threads
    (``fork`` copies only the calling thread).
    """

    def __init__(self, config: Config, sock: socket.socket, worker_main: WorkerMain) -> None:
        """Prepare to supervise; nothing is forked before :meth:`run`."""
        if config.workers < 1:
            raise ValueError(f"workers must be at least 1, not {config.workers}")
        self._config = config
        self._sock = sock
        self._worker_main = worker_main
        self._workers: dict[int, _Worker] = {}
        self._pending: collections.deque[int] = collections.deque()
        self._wake_fds: tuple[int, int] | None = None
        self._previous_handlers: dict[int, Any] = {}
        self._previous_wakeup_fd = -1
        self._stopping = False
        self._exit_code = 0
        self._fast_exits = 0
        self._last_fast_exit = 0.0
        self._restart_queue: collections.deque[int] = collections.deque()
        #: the worker a rolling restart is replacing, and when it is stopped anyway
        self._restarting: int | None = None
        self._replace_by = 0.0
        self._ready_at: float | None = None
        #: when a stop sends SIGTERM to the workers (after HANDSHAKE_GRACE)
        self._terminate_at: float | None = None

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for logs and tests)."""
        return list(self._workers)

    def run(self) -> int:
        """Fork the workers and supervise them; return the exit code.

        Returns 0 after a graceful stop (``SIGTERM``/``SIGINT``) and 1 when
        workers keep failing to start.  Signal handlers are restored on return;
        the listening socket is closed by then (when the stop begins).
        """
        if threading.active_count() > 1:
            logger.warning("forking workers while other threads run: they will not exist there")
        self._install_signals()
        try:
            for index in range(self._config.workers):
                self._spawn(index)
            if self._config.ready_fd >= 0:
                self._ready_at = time.monotonic() + FAST_EXIT_SECONDS
            while self._workers or not self._stopping:
                self._wait(self._next_timeout())
                self._handle_signals()
                self._collect_ready()
                self._reap()
                self._enforce_deadlines()
            return self._exit_code
        finally:
            self._kill_all()
            for pid in list(self._workers):
                os.waitpid(pid, 0)
            self._workers.clear()
            self._restore_signals()

    # -- signals -------------------------------------------------------------

    def _install_signals(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._wake_fds = (read_fd, write_fd)
        for sig in _HANDLED_SIGNALS:
            self._previous_handlers[sig] = signal.signal(sig, self._on_signal)
        self._previous_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def _restore_signals(self) -> None:
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        self._previous_handlers.clear()
        if self._wake_fds is not None:
            for fd in self._wake_fds:
                os.close(fd)
            self._wake_fds = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._pending.append(signum)

    def _wait(self, timeout: float | None) -> None:
        """Sleep until a signal arrives or ``timeout`` seconds pass."""
        assert self._wake_fds is not None
        read_fd = self._wake_fds[0]
        if self._pending:  # a handler ran after the last check: do not sleep
            timeout = 0
        poller = select.poll()
        poller.register(read_fd, select.POLLIN)
        for worker in self._workers.values():
            if worker.ready_fd >= 0:
                poller.register(worker.ready_fd, select.POLLIN)
        poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1))
        try:
            while os.read(read_fd, 512):
                pass
        except BlockingIOError:
            pass

    def _handle_signals(self) -> None:
        while self._pending:
            signum = self._pending.popleft()
            if signum == signal.SIGTERM:
                self._stop(0, "SIGTERM")
            elif signum == signal.SIGINT:
                if self._stopping:
                    self._kill_all()
                self._stop(0, "SIGINT")
            elif signum == signal.SIGHUP:
                self._begin_rolling_restart()

    # -- timing --------------------------------------------------------------

    def _next_timeout(self) -> float | None:
        deadlines = [w.kill_at for w in self._workers.values() if w.kill_at is not None]
        replaced = self._workers.get(self._restarting or 0)
        replace_by = self._replace_by if replaced is not None and not replaced.stopping else None
        for deadline in (self._ready_at, self._terminate_at, replace_by):
            if deadline is not None:
                deadlines.append(deadline)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for worker in self._workers.values():
            if worker.kill_at is not None and worker.kill_at <= now:
                logger.warning(
                    "worker %d (pid %d) did not stop in time; killing it",
                    worker.index,
                    worker.pid,
                )
                worker.kill_at = None
                _signal_process(worker.pid, signal.SIGKILL)
        if self._ready_at is not None and self._ready_at <= now and not self._stopping:
            self._report_ready()
        if self._terminate_at is not None and self._terminate_at <= now:
            self._terminate_at = None
            for worker in self._workers.values():
                self._terminate(worker)
        self._retire_replaced(now)

    def _report_ready(self) -> None:
        """Tell whoever started us (``config.ready_fd``) that the workers are up."""
        self._ready_at = None
        logger.info("%d workers ready (master pid %d)", len(self._workers), os.getpid())
        try:
            os.write(self._config.ready_fd, f"ready {os.getpid()}\n".encode())
        except OSError as exc:
            logger.warning("cannot report readiness on fd %d: %s", self._config.ready_fd, exc)

    # -- children ------------------------------------------------------------

    def _spawn(self, index: int) -> None:
        """Fork a worker for slot ``index``."""
        _flush_stdio()
        ready_read, ready_write = os.pipe()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(ready_read)
                self._run_child(index, blocked, ready_write)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(ready_write)
        os.set_blocking(ready_read, False)
        self._workers[pid] = _Worker(pid, index, time.monotonic(), ready_fd=ready_read)
        logger.info("started worker %d (pid %d)", index, pid)

    def _collect_ready(self) -> None:
        """Note the workers that reported readiness (or closed the pipe unready)."""
        for worker in self._workers.values():
            if worker.ready_fd < 0:
                continue
            try:
                report = os.read(worker.ready_fd, 1)
            except BlockingIOError:
                continue
            os.close(worker.ready_fd)
            worker.ready_fd = -1
            worker.ready = report == b"r"

    def _run_child(self, index: int, sigmask: set[signal.Signals], ready_fd: int) -> NoReturn:
        """Body of a forked child: never returns into the master's code."""
        code = 1
        try:
            self._prepare_child(sigmask)
            self._worker_main(self._sock, index, _readiness_reporter(ready_fd))
            code = 0
        except SystemExit as exc:
            code = _system_exit_code(exc)
        except BaseException:  # noqa: BLE001 - a child must report and exit, never unwind
            traceback.print_exc()
        finally:
            _flush_stdio()
            os._exit(code)

    def _prepare_child(self, sigmask: set[signal.Signals]) -> None:
        """Drop the master's signal plumbing and, if asked, its user."""
        signal.set_wakeup_fd(-1)
        for sig in _HANDLED_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, sigmask)
        fds = list(self._wake_fds or ())
        fds += [w.ready_fd for w in self._workers.values() if w.ready_fd >= 0]
        if self._config.ready_fd >= 0:
            fds.append(self._config.ready_fd)
        for fd in fds:
            os.close(fd)
        _switch_user(self._config.user)

    def _reap(self) -> None:
        for pid in list(self._workers):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                self._on_exit(self._workers.pop(pid), status)

    def _on_exit(self, worker: _Worker, status: int) -> None:
        how = describe_exit_status(status)
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1
        if worker.pid == self._restarting and not worker.stopping:
            # It died while its replacement was starting: the replacement takes its place.
            logger.warning("worker %d (pid %d) exited while being replaced: %s",
                           worker.index, worker.pid, how)  # fmt: skip
            self._restarting = None
            self._continue_rolling_restart()
            return
        if worker.stopping:
            logger.info("worker %d (pid %d) stopped: %s", worker.index, worker.pid, how)
            if worker.pid == self._restarting:
                self._restarting = None
                self._continue_rolling_restart()
            return
        logger.warning("worker %d (pid %d) exited unexpectedly: %s", worker.index, worker.pid, how)
        if self._stopping:
            return
        refused = os.waitstatus_to_exitcode(status) == APP_START_FAILED
        if refused and not any(other.ready for other in self._workers.values()):
            # An app refused to start (its reason is above) and no worker serves: a new
            # one would refuse too.  (While others serve, a rolling restart goes on.)
            print("skitai: an app refused to start; stopping", file=sys.stderr, flush=True)
            self._stop(1, "an app refused to start")
            return
        if self._is_crash_loop(worker):
            self._give_up(worker, how)
            return
        if self._ready_at is not None:
            self._ready_at = time.monotonic() + FAST_EXIT_SECONDS
        self._spawn(worker.index)

    def _is_crash_loop(self, worker: _Worker) -> bool:
        """Count failed starts; a long-lived worker or a quiet second resets the count."""
        now = time.monotonic()
        if now - worker.started >= FAST_EXIT_SECONDS:
            self._fast_exits = 0
            return False
        if now - self._last_fast_exit > 2 * FAST_EXIT_SECONDS:
            self._fast_exits = 0
        self._fast_exits += 1
        self._last_fast_exit = now
        return self._fast_exits >= MAX_FAST_EXITS

    def _give_up(self, worker: _Worker, how: str) -> None:
        print(
            f"skitai: worker {worker.index} (pid {worker.pid}) exited ({how}) within "
            f"{FAST_EXIT_SECONDS:g}s of starting, {MAX_FAST_EXITS} times in a row; "
            "giving up (the worker's own error is above)",
            file=sys.stderr,
            flush=True,
        )
        self._stop(1, "failed workers")

    # -- stopping and restarting ---------------------------------------------

    def _stop(self, code: int, reason: str) -> None:
        if self._stopping:
            return
        logger.info("stopping %d workers (%s)", len(self._workers), reason)
        self._stopping = True
        self._exit_code = code
        self._ready_at = None
        self._restart_queue.clear()
        self._restarting = None
        # Nothing will be forked any more: refuse new handshakes and let go of
        # the listener first, so that the last worker to close it (after taking
        # what is queued) really closes it, and later clients are refused
        # instead of queued unserved.  The workers go on accepting meanwhile.
        # (Not a socket inherited through config.listen_fd: its owner, development
        # mode's reloader, goes on serving it with this server's successor.)
        owned = self._config.listen_fd < 0
        grace = HANDSHAKE_GRACE if owned and refuse_new_connections(self._sock) else 0.0
        self._sock.close()
        self._terminate_at = time.monotonic() + grace

    def _terminate(self, worker: _Worker) -> None:
        """Ask ``worker`` to finish its requests and exit."""
        if worker.stopping:
            return
        worker.stopping = True
        worker.kill_at = time.monotonic() + self._config.graceful_timeout + KILL_MARGIN
        _signal_process(worker.pid, signal.SIGTERM)

    def _kill_all(self) -> None:
        """SIGKILL every worker still alive (second SIGINT, or leaving run())."""
        for worker in self._workers.values():
            worker.stopping = True
            worker.kill_at = None
            _signal_process(worker.pid, signal.SIGKILL)

    def _begin_rolling_restart(self) -> None:
        if self._stopping:
            return
        if self._restarting is not None or self._restart_queue:
            logger.warning("SIGHUP ignored: a rolling restart is already under way")
            return
        logger.info("rolling restart of %d workers", len(self._workers))
        self._restart_queue.extend(w.pid for w in self._workers.values() if not w.stopping)
        self._continue_rolling_restart()

    def _continue_rolling_restart(self) -> None:
        """Replace the next old worker: fork its successor (stopped once it is ready)."""
        while self._restarting is None and self._restart_queue:
            old = self._workers.get(self._restart_queue.popleft())
            if old is None or old.stopping:
                continue
            self._spawn(old.index)
            self._restarting = old.pid
            self._replace_by = time.monotonic() + READY_TIMEOUT
        if self._restarting is None:
            logger.info("rolling restart complete")

    def _retire_replaced(self, now: float) -> None:
        """Stop the worker being replaced once a successor in its slot is ready."""
        old = self._workers.get(self._restarting or 0)
        if old is None or old.stopping or self._stopping:
            return
        successor_ready = any(
            w.ready and w.index == old.index and w.pid != old.pid and not w.stopping
            for w in self._workers.values()
        )
        if not successor_ready:
            if now < self._replace_by:
                return
            logger.warning("worker %d: no replacement ready after %gs; stopping pid %d anyway",
                           old.index, READY_TIMEOUT, old.pid)  # fmt: skip
        self._terminate(old)


def _readiness_reporter(fd: int) -> Callable[[], None]:
    """The ``ready`` a worker calls once it accepts connections (later calls do nothing)."""
    pending = [fd]

    def ready() -> None:
        while pending:
            fd = pending.pop()
            try:
                os.write(fd, b"r")
            except OSError as exc:  # the master is gone: nothing to tell
                logger.debug("cannot report readiness: %s", exc)
            finally:
                os.close(fd)

    return ready


def _signal_process(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _switch_user(user: str) -> None:
    """Make this process run as ``user`` (a name or a uid) and its primary group."""
    if not user:
        return
    try:
        record = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise RuntimeError(f"cannot switch to user {user!r}: no such user") from None
    if os.getuid() == record.pw_uid and os.geteuid() == record.pw_uid:
        return
    try:
        os.initgroups(record.pw_name, record.pw_gid)
        os.setgid(record.pw_gid)
        os.setuid(record.pw_uid)
    except PermissionError as exc:
        raise RuntimeError(
            f"cannot switch to user {user!r}: {exc.strerror} (only root can change user)"
        ) from None


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
