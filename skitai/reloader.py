"""Development mode's code reloading (``--devel``): a new server when a source file changes.

With ``--devel`` the process that runs ``serve.py`` (or the ``skitai`` command)
does not serve requests itself.  It binds the listening socket, runs the
server -- the same command line -- as a child process serving that socket,
and watches the source with ``watchfiles``:

* watched, recursively: the script's directory (the current directory for the
  ``skitai`` command) and the directory of every imported module that belongs
  neither to Python nor to an installed distribution, editable or not (see
  :func:`watched_roots`); only ``*.py`` files count, and the usual directories
  are ignored (``.git``, ``.venv``, ``__pycache__``, ``node_modules`` ...);
* on a change, a new server starts on the same socket; once it reports ready
  its predecessor stops gracefully (``SIGTERM``: it finishes its requests).
  The socket stays open throughout, so no connection is refused;
* a new version that does not start (a syntax error, an exception at import
  or at worker start) is reported, and the running one keeps serving until
  the next change;
* ``SIGTERM``/``SIGINT`` stop the server gracefully, ``SIGHUP`` is passed on
  (a rolling restart of its workers, same code); when the server exits by
  itself the reloader exits with its status.

Why a new process and not a ``SIGHUP`` rolling restart: workers are forked
from a master that imported the application before forking, so new workers
would run the old code.  Importing again takes a new interpreter.

The server finds the socket through the environment variable :data:`ENV_FDS`
(``"<listen fd>:<ready fd>"``), which :func:`take_inherited` reads and removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.metadata
import logging
import os
import signal
import site
import socket
import sys
import sysconfig
import threading
from collections.abc import Iterable, Sequence

from skitai.config import Config

__all__ = ["ENV_FDS", "READY_TIMEOUT", "Reloader", "take_inherited", "watched_roots"]

logger = logging.getLogger("skitai.reloader")

#: Environment variable through which a reloaded server inherits its socket.
ENV_FDS = "SKITAI_RELOADER_FDS"
#: Seconds a new server has to report ready before it counts as failed.
READY_TIMEOUT = 60.0
#: Milliseconds between the watcher's idle wake-ups (its first one says it watches).
_WATCH_TICK_MS = 100


def take_inherited() -> tuple[int, int] | None:
    """``(listen_fd, ready_fd)`` when this process is a server run by a reloader, else None.

    Removes :data:`ENV_FDS` from the environment, so programs the
    application starts do not take themselves for reloaded servers.
    """
    value = os.environ.pop(ENV_FDS, "")
    listen, _, ready = value.partition(":")
    if not (listen.isdigit() and ready.isdigit()):
        return None
    return int(listen), int(ready)


def _library_dirs() -> list[str]:
    """Where Python's own and installed distributions' modules live (never watched)."""
    paths = sysconfig.get_paths()
    dirs = [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    dirs.extend(site.getsitepackages())
    dirs.append(site.getusersitepackages())
    # the interpreter's and the virtualenv's own trees (their bin/ holds console scripts)
    dirs.extend({sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix})
    return [os.path.realpath(d) for d in dirs]


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def watched_roots(base_dir: str, modules: Iterable[object] | None = None) -> list[str]:
    """The directories the reloader watches: ``base_dir`` and the project's module directories.

    A module (default: every imported one) counts when its top-level package
    belongs to no installed distribution (an editable install's sources do not
    count either: they are libraries to this project) and its file lies outside
    Python's and the virtualenv's trees.  Directories inside another watched
    one are dropped: the watch is recursive.
    """
    library = _library_dirs()
    installed = importlib.metadata.packages_distributions()
    dirs = {os.path.realpath(base_dir)}
    for module in list(sys.modules.values()) if modules is None else modules:
        path = getattr(module, "__file__", None)
        name = getattr(module, "__name__", "")
        if not isinstance(path, str) or name.partition(".")[0] in installed:
            continue
        path = os.path.realpath(path)
        if not any(_inside(path, lib) for lib in library):
            dirs.add(os.path.dirname(path))
    roots: list[str] = []
    for directory in sorted(dirs):  # a parent sorts before its children
        if not any(_inside(directory, root) for root in roots):
            roots.append(directory)
    return roots


@dataclasses.dataclass
class _Server:
    """One server process run by the reloader."""

    process: asyncio.subprocess.Process
    #: set when the reloader asked it to stop: its exit is expected
    retiring: bool = False


class Reloader:
    """Run the server as a child process on ``sock``; start a new one when ``roots`` change.

    ``command`` (default: this process's own command line) must run the same
    server; :func:`take_inherited` makes it serve ``sock`` in the foreground.
    """

    def __init__(
        self,
        config: Config,
        sock: socket.socket,
        roots: Sequence[str],
        command: Sequence[str] | None = None,
    ) -> None:
        """Prepare to run ``command``; nothing starts before :meth:`run`."""
        self.config = config
        self.sock = sock
        self.roots = list(roots)
        self.command = list(command or [sys.executable, *sys.orig_argv[1:]])
        self._servers: list[_Server] = []
        self._stopping: asyncio.Event | None = None
        self._interrupts = 0

    def run(self) -> int:
        """Serve until stopped; return the exit status of the last server."""
        return asyncio.run(self._main())

    async def _main(self) -> int:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, self._on_signal, signum)
        changes: asyncio.Queue[set[str]] = asyncio.Queue()
        watching: asyncio.Future[None] = loop.create_future()
        stop_watching = threading.Event()
        watcher = threading.Thread(
            target=self._watch, args=(loop, changes, watching, stop_watching),
            name="skitai-reloader", daemon=True,
        )  # fmt: skip
        watcher.start()
        try:
            await watching  # changes made from now on are seen
            current = await self._start()
            if current is None:
                return await self._failed_start_status()
            self._report_ready()
            return await self._serve(current, changes)
        finally:
            stop_watching.set()
            await self._stop_all()
            watcher.join(2 * _WATCH_TICK_MS / 1000 + 1)

    async def _serve(self, current: _Server, changes: asyncio.Queue[set[str]]) -> int:
        """Wait for a change, a stop or the server's end; return the exit status."""
        assert self._stopping is not None
        while True:
            ended = asyncio.ensure_future(current.process.wait())
            changed = asyncio.ensure_future(changes.get())
            stopped = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({ended, changed, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (ended, changed, stopped):
                waiter.cancel()
            if stopped.done() and not stopped.cancelled():
                return await self._finish(current)
            if ended.done() and not ended.cancelled():
                code = _exit_status(ended.result())
                logger.warning(
                    "the server (pid %d) exited with status %d", current.process.pid, code
                )
                return code
            if changed.done() and not changed.cancelled():
                current = await self._reload(current, changed.result(), changes)

    async def _reload(
        self, current: _Server, paths: set[str], changes: asyncio.Queue[set[str]]
    ) -> _Server:
        """Start a server with the changed code; retire ``current`` once it is ready."""
        while not changes.empty():  # changes that came in meanwhile: one reload for all
            paths |= changes.get_nowait()
        shown = ", ".join(sorted(os.path.relpath(p) for p in paths)[:5])
        logger.info("changed: %s; starting a new server", shown)
        fresh = await self._start()
        if self._stopping is not None and self._stopping.is_set():
            return current
        if fresh is None:
            logger.error(
                "the changed code does not start (see above); pid %d keeps serving the "
                "previous version until the next change",
                current.process.pid,
            )
            return current
        logger.info(
            "new server pid %d is ready; stopping pid %d", fresh.process.pid, current.process.pid
        )
        self._terminate(current, signal.SIGTERM)
        return fresh

    async def _start(self) -> _Server | None:
        """Start a server; return it once it reports ready, None when it does not."""
        assert self._stopping is not None
        if self._stopping.is_set():  # the listener is closed
            return None
        read_fd, write_fd = os.pipe()
        listen_fd = self.sock.fileno()
        env = {**os.environ, ENV_FDS: f"{listen_fd}:{write_fd}"}
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command, pass_fds=(listen_fd, write_fd), env=env
            )
        finally:
            os.close(write_fd)
        server = _Server(process)
        self._servers.append(server)
        ready = await self._wait_ready(read_fd, process)
        if ready and not self._stopping.is_set():
            return server
        if process.returncode is None:
            self._terminate(server, signal.SIGTERM)
        return None

    async def _wait_ready(self, read_fd: int, process: asyncio.subprocess.Process) -> bool:
        """True once ``process`` writes ``ready`` to its pipe; False if it exits or times out."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
        )
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                line = await reader.readline()  # b"" when the server exits first
        except TimeoutError:
            logger.error(
                "the server (pid %d) did not report ready in %gs", process.pid, READY_TIMEOUT
            )
            return False
        finally:
            transport.close()
        return line.startswith(b"ready")

    async def _failed_start_status(self) -> int:
        """The exit status for a first server that never became ready (never 0 unless stopped)."""
        assert self._stopping is not None
        code = _exit_status(await self._servers[-1].process.wait())
        if self._stopping.is_set():
            return code
        logger.error("the server did not start (exit status %d)", code)
        return code or 1

    def _report_ready(self) -> None:
        """Tell ``start`` (``config.ready_fd``) that the server runs, with this process's pid."""
        if self.config.ready_fd < 0:
            return
        with contextlib.suppress(OSError):
            os.write(self.config.ready_fd, f"ready {os.getpid()}\n".encode())

    async def _finish(self, current: _Server) -> int:
        """Stop every server (they got the stop signal); return ``current``'s status."""
        await self._stop_all()
        return _exit_status(current.process.returncode or 0)

    async def _stop_all(self) -> None:
        """Ask every server still running to stop, and wait for them."""
        for server in self._servers:
            if server.process.returncode is None:
                self._terminate(server, signal.SIGTERM)
        for server in self._servers:
            await server.process.wait()

    def _terminate(self, server: _Server, signum: int) -> None:
        server.retiring = True
        _send(server, signum)

    def _on_signal(self, signum: int) -> None:
        assert self._stopping is not None
        live = [s for s in self._servers if s.process.returncode is None]
        if signum == signal.SIGHUP:
            for server in live:
                if not server.retiring:
                    _send(server, signal.SIGHUP)
            return
        if signum == signal.SIGINT:
            self._interrupts += 1
        # A terminal's Ctrl-C reaches the servers too: pass on SIGTERM (graceful, and
        # harmless twice); a second Ctrl-C passes SIGINT, which stops them at once.
        forwarded = signal.SIGINT if self._interrupts > 1 else signal.SIGTERM
        for server in live:
            self._terminate(server, forwarded)
        self._stopping.set()
        # no server will start any more: let go of the listener, as the supervisor does, so
        # that once the servers' workers close theirs, later clients are refused, not queued
        self.sock.close()

    def _watch(
        self,
        loop: asyncio.AbstractEventLoop,
        changes: asyncio.Queue[set[str]],
        watching: asyncio.Future[None],
        stop: threading.Event,
    ) -> None:
        """The watcher thread: report ``*.py`` changes under the roots to the loop."""
        import watchfiles  # here: importing it (and anyio) costs every other start 40 ms

        # its DEBUG lines name every filtered change: a log file in a watched
        # directory would feed them back forever
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        started = False
        try:
            for batch in watchfiles.watch(
                *self.roots, watch_filter=watchfiles.PythonFilter(), stop_event=stop,
                rust_timeout=_WATCH_TICK_MS, yield_on_timeout=True, raise_interrupt=False,
            ):  # fmt: skip
                if not started:
                    started = True
                    logger.info("reloading on changes to *.py under %s", ", ".join(self.roots))
                    loop.call_soon_threadsafe(_set_done, watching)
                if batch:
                    loop.call_soon_threadsafe(changes.put_nowait, {path for _, path in batch})
        except Exception:  # noqa: BLE001 - without a watcher the server still runs
            logger.exception("cannot watch %s: code reloading is off", ", ".join(self.roots))
        finally:
            if not started:
                loop.call_soon_threadsafe(_set_done, watching)


def _send(server: _Server, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        server.process.send_signal(signum)


def _exit_status(returncode: int) -> int:
    """A process's exit status as a shell reports it (killed by signal N: 128 + N)."""
    return returncode if returncode >= 0 else 128 - returncode


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
