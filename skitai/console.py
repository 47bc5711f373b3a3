"""The ``skitai`` command: serve the apps and directories named on the command line.

::

    skitai [start|stop|status|restart] [options] [POINT=]TARGET ...

    skitai myapp:app                          # attribute app of module myapp, at /
    skitai --devel app.py                     # the app (or application) of app.py
    skitai mysite.wsgi:application /static=static   # Django at /, a directory at /static
    skitai --port 8000 public                 # a directory of static files
    skitai start shop:app                     # as a daemon; skitai status|stop shop:app

A ``TARGET`` is any string ``skitai.mount`` takes: ``module:attr``,
``path/file.py`` or ``path/file.py:attr`` (without ``attr``: its ``app`` or
``application``), an importable module or package, or a directory.  It is
mounted at ``POINT`` (default ``/``).  Relative paths and module names are
looked up in the current directory.  The options are those of
``python3 serve.py`` (``--port``, ``--workers``, ``--devel`` ...).  The app's
name, which names its pid and log files, is ``--name`` or the name of the
first mount.  Preferences, aliases and the rest of the Python API need a
``serve.py``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from skitai.cli import COMMANDS, apply_flags, build_parser, run_command
from skitai.config import Config
from skitai.engine import Engine
from skitai.mounts import Mount, MountError

__all__ = ["build_console_parser", "main", "split_target"]

_USAGE = "%(prog)s [start|stop|status|restart] [options] [POINT=]TARGET ..."
_EPILOG = """\
targets:
  module:attr            a WSGI callable in an importable module (or package)
  path/app.py[:attr]     a file's app (default attributes: app, application)
  directory              static files
  /point=TARGET          mount TARGET at /point instead of /

commands: start (daemon), stop, status, restart; without one the server runs in
the foreground.  The app's name (pid and log files) is --name, or the name of
the first mount.

examples:
  skitai myapp:app
  skitai --devel --port 8000 app.py /static=static
  skitai start --workers 4 mysite.wsgi:application
"""


def build_console_parser() -> argparse.ArgumentParser:
    """The ``skitai`` command's parser: the engine options, with the console's usage."""
    parser = build_parser()
    parser.prog = "skitai"
    parser.usage = _USAGE
    parser.description = "Serve WSGI apps and static directories with the Skitai app engine."
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def split_target(word: str) -> tuple[str, str]:
    """``"/static=static"`` -> ``("/static", "static")``; ``"app:app"`` -> ``("/", "app:app")``."""
    if word.startswith("/") and "=" in word:
        point, _, target = word.partition("=")
        return point, target
    return "/", word


def main(argv: Sequence[str]) -> int:
    """Run the ``skitai`` command with ``argv`` (without the program name); return its status.

    Errors in the command line (an unknown option, no target, a target that
    cannot be mounted) exit with status 2 and a message, as argparse does.
    """
    parser = build_console_parser()
    namespace, rest = parser.parse_known_args(list(argv))
    unknown = [word for word in rest if word.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    command = next((word for word in rest if word in COMMANDS), None)
    targets = [word for word in rest if word != command]
    if not targets and not (command in ("stop", "status") and namespace.name):
        parser.error("name what to serve: module:attr, a .py file or a directory (see --help)")
    engine = Engine(base_dir=os.getcwd())
    first: Mount | None = None
    for word in targets:
        try:
            mounted = engine.mount(*split_target(word))
        except MountError as exc:
            parser.error(str(exc))
        first = first or (mounted[0] if isinstance(mounted, list) else mounted)
    name = namespace.name or (first.name if first is not None else "skitai")
    config = apply_flags(Config(name=name), namespace)
    return run_command(command, config, engine.serve)
