"""A ``serve.py`` for test_cli.py: ``python cli_app.py VAR_DIR [skitai arguments]``.

It registers an application option (``--crash``: workers fail at start), then
hands the command line to :func:`skitai.cli.main` with the pid server of
``pid_server.py`` as the ``serve`` function.  ``serve`` prints ``port N`` and
``cwd PATH`` (to the daemon's log in ``start`` mode).
"""

from __future__ import annotations

import os
import sys

from pid_server import serve as serve_pids

from skitai import cli
from skitai.config import Config


def serve(config: Config) -> int:
    """Print the working directory, then run the pid server."""
    print(f"cwd {os.getcwd()}", flush=True)
    return serve_pids(config, mode="crash" if cli.options().crash else "ok")


if __name__ == "__main__":
    cli.add_option("--crash", action="store_true", help="workers fail at start")
    base = Config(port=0, workers=1, graceful_timeout=3.0, backlog=128, var_dir=sys.argv[1])
    sys.exit(cli.main(base, serve, sys.argv[2:]))
