"""``manage.py runskitai``: start the Skitai engine with the project's ``serve.py``.

    python3 manage.py runskitai --port 8000
    python3 manage.py runskitai start|stop|status|restart
    python3 manage.py runskitai --reload      # restart on code changes, like runserver

The options are handed to ``serve.py`` as its command line, so the engine
runs with the mounts and ``skitai.run`` settings the script defines (the
same as ``python3 serve.py --port 8000``).  ``--script`` names another
script.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_bridge.serve_script import find_serve_script, run_serve_script

_ENGINE_COMMANDS = ("start", "stop", "status", "restart")


class Command(BaseCommand):
    """Run ``serve.py`` (beside ``manage.py``) in this process."""

    help = "Start the Skitai app engine with the mounts and settings of the project's serve.py."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """The engine's command line (see ``python3 serve.py --help``)."""
        parser.add_argument("command", nargs="?", choices=_ENGINE_COMMANDS)
        parser.add_argument("--script", help="server script (default: serve.py beside manage.py)")
        parser.add_argument("-p", "--port", type=int)
        parser.add_argument("--ip")
        parser.add_argument("-w", "--workers", type=int)
        parser.add_argument("-t", "--threads", type=int)
        parser.add_argument("-d", "--devel", action="store_true")
        parser.add_argument("-s", "--silent", action="store_true")
        parser.add_argument(
            "--reload", action="store_true",
            help="restart the engine when a .py file of the project changes (Django's autoreload)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        """Build ``serve.py``'s argv from the options and run it."""
        try:
            script = Path(options["script"]) if options["script"] else find_serve_script()
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if not script.is_file():
            raise CommandError(f"server script not found: {script}")
        argv: list[str] = []
        for name in ("port", "ip", "workers", "threads"):
            if options[name] is not None:
                argv += [f"--{name}", str(options[name])]
        argv += [f"--{flag}" for flag in ("devel", "silent") if options[flag]]
        if options["command"]:
            argv.append(options["command"])
        if options["reload"]:
            if options["command"]:
                raise CommandError("--reload runs in the foreground only")
            run_reloading(script, argv)
            return
        status = run_serve_script(script, argv)
        if status:
            raise CommandError(f"{script} exited with status {status}", returncode=status)


def run_reloading(script: Path, argv: list[str]) -> None:
    """Run ``python3 script *argv`` and restart it whenever a ``.py`` file changes.

    The project directory (the script's) is watched with ``watchfiles``; the
    engine gets SIGINT and finishes its requests before the new one starts.
    """
    from watchfiles import PythonFilter, run_process

    command = shlex.join([sys.executable, str(script.resolve()), *argv])
    run_process(script.resolve().parent, target=command, target_type="command",
                watch_filter=PythonFilter())  # fmt: skip
