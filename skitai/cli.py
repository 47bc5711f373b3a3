"""Command line: option parsing, ``start|stop|status|restart`` and the pid file.

``main(config, serve)`` is what ``skitai.run(...)`` calls.  Flags given on the
command line override the :class:`~skitai.config.Config` built from
``skitai.run`` keyword arguments::

    python3 serve.py                  # foreground
    python3 serve.py --devel -p 8000  # foreground, one worker, tracebacks, reloading
    python3 serve.py start            # daemon; pid in <var_dir>/<name>.pid
    python3 serve.py status           # "serve: running, pid N ..." (0) or "... not running" (3)
    python3 serve.py stop | restart

``<name>`` is the app's name (``--name``, ``skitai.run(name=...)``, else the
script's name) and ``<var_dir>`` defaults to ``~/.skitai/<name>``, so two apps
never share a pid file; every command says which app and which file it acts on.

Options this module does not know are left alone for the application (as the
spec's ``"---production" in sys.argv``); an application registers its own
options with :func:`add_option` and reads them with :func:`options`.
Importing this module parses nothing.

The ``skitai`` console script (:func:`console_main`) serves targets named on
the command line; see :mod:`skitai.console`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from skitai.config import Config, check_name
from skitai.reloader import take_inherited
from skitai.server.proxy import TrustedProxies

__all__ = [
    "COMMANDS",
    "EXIT_NOT_RUNNING",
    "Option",
    "OptionRegistry",
    "PidFile",
    "Serve",
    "add_option",
    "apply_flags",
    "build_parser",
    "console_main",
    "is_running",
    "main",
    "options",
    "parse_args",
    "registry",
    "restart",
    "run_command",
    "start",
    "status",
    "stop",
]

#: A function that runs the server in the foreground and returns its exit code.
Serve = Callable[[Config], int]

#: The daemon commands, given as the first bare word on the command line.
COMMANDS = ("start", "stop", "status", "restart")
#: ``status`` exit code when the server is not running (LSB init convention).
EXIT_NOT_RUNNING = 3
#: Seconds ``start`` waits for the daemon to report that it is serving.
START_TIMEOUT = 60.0
#: The environment variable naming the message broker (``--broker`` wins over it).
BROKER_ENV = "SKITAI_BROKER"
#: Seconds beyond ``graceful_timeout`` that ``stop`` waits for the server to exit.
STOP_MARGIN = 5.0
#: Lines of the daemon's log shown when ``start`` fails.
LOG_TAIL_LINES = 20


@dataclasses.dataclass(frozen=True)
class Option:
    """One application option: ``argparse`` names and keyword arguments."""

    names: tuple[str, ...]
    kwargs: dict[str, Any]


class OptionRegistry:
    """Options applications add to the command line (``skitai.add_option``)."""

    def __init__(self) -> None:
        """Start with no options."""
        self._options: list[Option] = []

    @property
    def options(self) -> list[Option]:
        """The registered options, in registration order."""
        return list(self._options)

    def add(self, *names: str, **kwargs: Any) -> None:
        """Register an option: same arguments as ``ArgumentParser.add_argument``."""
        if not names:
            raise TypeError("add_option() needs at least one option name")
        self._options.append(Option(names, kwargs))

    def clear(self) -> None:
        """Forget every registered option (for tests)."""
        self._options.clear()

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse the registered options from ``argv``, ignoring everything else."""
        parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
        for option in self._options:
            parser.add_argument(*option.names, **option.kwargs)
        namespace, _ = parser.parse_known_args(list(argv))
        return namespace


#: The process-wide registry behind :func:`add_option` and :func:`options`.
registry = OptionRegistry()


def add_option(*names: str, **kwargs: Any) -> None:
    """Add an application option to the command line (``skitai.add_option``).

    Takes the arguments of ``argparse.ArgumentParser.add_argument``, e.g.
    ``add_option("--production", action="store_true", help="...")``.  The
    option appears in ``--help`` and its value in :func:`options`.
    """
    registry.add(*names, **kwargs)


def options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the values of the options added by :func:`add_option`.

    Parses ``argv`` (default ``sys.argv[1:]``); engine flags and unknown
    arguments are ignored.
    """
    return registry.parse(sys.argv[1:] if argv is None else argv)


# -- parsing -----------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _app_name(text: str) -> str:
    try:
        return check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {value}")
    return value


def _trusted_proxies(text: str) -> str:
    try:
        TrustedProxies(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).partition(": ")[2]) from None
    return text


def _health_path(text: str) -> str:
    if not text.startswith("/") or "?" in text:
        raise argparse.ArgumentTypeError(f"must be a path starting with '/', not {text!r}")
    return text


def build_parser(extra_options: Sequence[Option] = ()) -> argparse.ArgumentParser:
    """Return the engine's argument parser, with ``extra_options`` added."""
    parser = argparse.ArgumentParser(
        usage="%(prog)s [start|stop|status|restart] [options]",
        description="Run the Skitai app engine.",
        epilog="commands: start (daemon), stop, status, restart; "
        "without a command the server runs in the foreground.",
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("-p", "--port", type=_port, help="TCP port to listen on")
    add("--ip", help="address to listen on")
    add("-w", "--workers", type=_positive_int, help="number of worker processes")
    add("-t", "--threads", type=_positive_int, help="handler threads per worker")
    add(
        "-d", "--devel", action="store_true",
        help="development mode: one worker, tracebacks in error responses, "
        "restart on source changes",
    )  # fmt: skip
    add("-s", "--silent", action="store_true", help="no access log")
    add(
        "--name", type=_app_name,
        help="app name: names the pid and log files and the default var directory "
        "(default: the script's name)",
    )  # fmt: skip
    add("--user", help="user the workers switch to (the master must be root)")
    add("--certfile", help="PEM certificate (chain): serve HTTPS")
    add("--keyfile", help="PEM private key of --certfile (if not inside it)")
    add(
        "--forwarded-allow-ips", metavar="IPS", type=_trusted_proxies,
        help="peers whose Forwarded/X-Forwarded-For/-Proto headers are believed "
        "(comma-separated addresses or networks, * for all; default 127.0.0.1,::1)",
    )  # fmt: skip
    add(
        "--health",
        metavar="PATH",
        type=_health_path,
        help="a path the engine answers itself (200; 503 while a worker drains)",
    )
    add(
        "--broker", metavar="URL",
        help="message broker shared by every engine of the app (redis://host:6379/0; "
        f"default: ${BROKER_ENV}, else the workers' embedded hub)",
    )  # fmt: skip
    if extra_options:
        group = parser.add_argument_group("application options")
        for option in extra_options:
            group.add_argument(*option.names, **option.kwargs)
    return parser


def parse_args(
    argv: Sequence[str], config: Config, extra_options: Sequence[Option] = ()
) -> tuple[str | None, Config, argparse.Namespace]:
    """Parse ``argv`` into ``(command, config, namespace)``.

    ``command`` is the first of :data:`COMMANDS` among the arguments argparse
    did not consume, or ``None``.  ``config`` is a copy of the given one with
    the flags applied (``--devel`` also forces one worker; ``--silent`` turns
    the access log off).  ``namespace`` holds every parsed option, including
    ``extra_options``.  Unknown arguments are not an error; ``--help`` and
    invalid values of known options exit through argparse (status 0 and 2).
    """
    namespace, rest = build_parser(extra_options).parse_known_args(list(argv))
    command = next((arg for arg in rest if arg in COMMANDS), None)
    return command, apply_flags(config, namespace), namespace


def apply_flags(config: Config, namespace: argparse.Namespace) -> Config:
    """A copy of ``config`` with the engine flags parsed into ``namespace`` applied."""
    changes: dict[str, object] = {}
    for name in (
        "ip", "port", "workers", "threads", "name", "user", "certfile", "keyfile",
        "forwarded_allow_ips", "health",
    ):  # fmt: skip
        value = getattr(namespace, name)
        if value is not None:
            changes[name] = value
    broker = namespace.broker or os.environ.get(BROKER_ENV)  # flag, environment, then code
    if broker:
        changes["broker"] = broker
    if namespace.devel:
        changes.update(devel=True, workers=1)
    if namespace.silent:
        changes.update(silent=True, access_log=False)
    renamed = "name" in changes and changes["name"] != config.name
    if renamed and config.var_dir == Config(name=config.name).var_dir:
        changes["var_dir"] = ""  # the default var_dir follows the new name
    return config.replace(**changes)


def main(config: Config, serve: Serve, argv: Sequence[str] | None = None) -> int:
    """Run the command line: parse ``argv`` (default ``sys.argv[1:]``) and act.

    Without a command, ``serve(config)`` runs in the foreground and its result
    is returned.  ``serve`` must create the listener and run a
    :class:`skitai.workers.Supervisor`, which reports readiness to ``start``.
    """
    args = sys.argv[1:] if argv is None else argv
    command, config, _ = parse_args(args, config, registry.options)
    return run_command(command, config, serve)


def run_command(command: str | None, config: Config, serve: Serve) -> int:
    """Serve in the foreground (``command`` None) or run a daemon command.

    In a server started by the ``--devel`` reloader (:mod:`skitai.reloader`)
    the command is ignored: it serves the reloader's socket in the foreground.
    """
    inherited = take_inherited()
    if inherited is not None:
        listen_fd, ready_fd = inherited
        return serve(config.replace(listen_fd=listen_fd, ready_fd=ready_fd))
    if command is None:
        return serve(config)
    if command == "start":
        return start(config, serve)
    if command == "stop":
        return stop(config)
    if command == "status":
        return status(config)
    return restart(config, serve)


# -- pid file and process checks ----------------------------------------------


def is_running(pid: int) -> bool:
    """Return True when process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


class PidFile:
    """The file holding the server's pid (``Config.pid_file``: ``<var_dir>/<name>.pid``)."""

    def __init__(self, path: str) -> None:
        """Refer to the pid file at ``path`` (nothing is read or written yet)."""
        self.path = path

    def read(self) -> int | None:
        """Return the pid written in the file, or None (missing or garbled)."""
        try:
            with open(self.path, encoding="ascii") as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """Return the pid in the file if that process is alive, else None."""
        pid = self.read()
        return pid if pid is not None and is_running(pid) else None

    def create(self, pid: int) -> bool:
        """Write ``pid`` unless the file exists; return False if it does."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{pid}\n")
        return True

    def remove(self, pid: int | None = None) -> None:
        """Delete the file; with ``pid``, only if it still names that pid."""
        if pid is not None and self.read() != pid:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# -- commands -----------------------------------------------------------------


def status(config: Config) -> int:
    """Print ``NAME: running, pid N (pid file PATH)`` and return 0, or ``NAME: not running``
    and return 3 (:data:`EXIT_NOT_RUNNING`)."""
    pid = PidFile(config.pid_file).running_pid()
    if pid is None:
        print(f"{config.name}: not running (pid file {config.pid_file})")
        return EXIT_NOT_RUNNING
    print(f"{config.name}: running, pid {pid} (pid file {config.pid_file})")
    return 0


def stop(config: Config) -> int:
    """Send SIGTERM to the daemon and wait for it to exit; print ``NAME: stopped, pid N``.

    Returns 1 when it is not running or does not exit within
    ``graceful_timeout`` + :data:`STOP_MARGIN` seconds.
    """
    pid_file = PidFile(config.pid_file)
    pid = pid_file.running_pid()
    if pid is None:
        pid_file.remove()
        print(f"{config.name}: not running (pid file {config.pid_file})", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:
        print(f"{config.name}: cannot stop pid {pid}: permission denied", file=sys.stderr)
        return 1
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + config.graceful_timeout + STOP_MARGIN
    while is_running(pid):
        if time.monotonic() >= deadline:
            print(
                f"{config.name}: pid {pid} did not stop within the graceful timeout",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.05)
    pid_file.remove(pid)
    print(f"{config.name}: stopped, pid {pid}")
    return 0


def restart(config: Config, serve: Serve) -> int:
    """Stop the daemon if it is running, then start it again."""
    if PidFile(config.pid_file).running_pid() is not None:
        code = stop(config)
        if code != 0:
            return code
    return start(config, serve)


def start(config: Config, serve: Serve) -> int:
    """Run ``serve(config)`` as a daemon; return once it serves (0) or failed (1).

    The daemon (double fork, new session, stdin from /dev/null, stdout and
    stderr appended to ``config.log_file``, working directory unchanged)
    writes its pid to ``config.pid_file`` and removes it on exit.  The
    supervisor reports readiness through ``config.ready_fd``; on failure the
    daemon's error and the end of its log are printed here.
    """
    pid_file = PidFile(config.pid_file)
    running = pid_file.running_pid()
    if running is not None:
        print(
            f"{config.name}: already running, pid {running} (pid file {config.pid_file}); "
            "stop it first, or give this app another --name",
            file=sys.stderr,
        )
        return 1
    pid_file.remove()
    os.makedirs(config.var_dir, exist_ok=True)
    log_offset = _file_size(config.log_file)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.close(read_fd)
        _detach(config, serve, write_fd)
    os.close(write_fd)
    os.waitpid(child, 0)
    try:
        report = _read_report(read_fd, START_TIMEOUT)
    finally:
        os.close(read_fd)
    return _print_start_result(report, config, log_offset)


def _detach(config: Config, serve: Serve, write_fd: int) -> NoReturn:
    """First child of ``start``: new session, fork the daemon, exit."""
    code = 1
    try:
        os.setsid()
        if os.fork() == 0:
            code = _run_daemon(config, serve, write_fd)
        else:
            code = 0
    except BaseException:  # noqa: BLE001 - a forked child must report and exit, never unwind
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _run_daemon(config: Config, serve: Serve, write_fd: int) -> int:
    """The daemon itself: redirect stdio, own the pid file, serve."""
    _redirect_stdio(config.log_file)
    pid = os.getpid()
    pid_file = PidFile(config.pid_file)
    if not pid_file.create(pid):
        _report(write_fd, f"error already running, pid {pid_file.read()}")
        return 1
    print(f"{config.name}: daemon started, pid {pid}, at {time.strftime('%Y-%m-%d %H:%M:%S')}")
    try:
        code = serve(config.replace(ready_fd=write_fd))
    except Exception as exc:  # noqa: BLE001 - reported to `start`, then the daemon exits
        traceback.print_exc()
        _report(write_fd, f"error {exc}")
        return 1
    finally:
        pid_file.remove(pid)
    if code != 0:
        _report(write_fd, f"error the server exited with code {code}")
    print(f"{config.name}: daemon exited, code {code}")
    return code


def _redirect_stdio(log_file: str) -> None:
    stdin = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(stdin, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(stdin)
    os.close(log)


def _report(write_fd: int, message: str) -> None:
    """Send one line to the waiting ``start`` command (it may be gone)."""
    try:
        os.write(write_fd, message.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass


def _read_report(read_fd: int, timeout: float) -> str | None:
    """Return the daemon's first line, ``""`` on EOF, None on timeout."""
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(int(remaining * 1000) + 1):
            return None
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.partition(b"\n")[0].decode("utf-8", "replace")


def _print_start_result(report: str | None, config: Config, log_offset: int) -> int:
    if report is not None and report.startswith("ready"):
        pid = report.partition(" ")[2]
        print(
            f"{config.name}: started, pid {pid} (pid file {config.pid_file}, log {config.log_file})"
        )
        return 0
    if report is None:
        reason = f"the server did not report ready within {START_TIMEOUT:g}s"
    elif report.startswith("error "):
        reason = report[len("error ") :]
    else:
        reason = "the server exited before it was ready"
    print(f"{config.name}: failed to start: {reason}", file=sys.stderr)
    tail = _log_tail(config.log_file, log_offset)
    if tail:
        print(f"--- end of {config.log_file} ---\n{tail}", file=sys.stderr)
    return 1


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _log_tail(path: str, offset: int) -> str:
    """The last lines the daemon wrote to its log since ``offset``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            lines = handle.read().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


# -- the ``skitai`` console script ----------------------------------------------------


def console_main() -> NoReturn:
    """Entry point of the ``skitai`` console script (``skitai --help``; :mod:`skitai.console`)."""
    # imported here: skitai.console imports the engine, which imports this module
    from skitai.console import main as console

    sys.exit(console(sys.argv[1:]))
