#!/usr/bin/env python3
"""Set up a development environment and run the demo or the test suite.

A fresh machine needs only ``python3`` (3.11 or newer)::

    python3 dev.py demo [serve.py options, e.g. --port 8000]
    python3 dev.py test [pytest options, e.g. -q -k static]

Both commands first make sure ``.venv`` exists beside this file and holds
``atila-stack`` installed in editable mode with its ``dev`` extra.  The install
is skipped when ``setup.py`` and ``pyproject.toml`` are unchanged since the last
one and no top-level package was added (a hash is kept in a stamp file inside
``.venv``).

This script uses the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV_DIR = ROOT / ".venv"
EXTRA = "dev"
STAMP_FILE = VENV_DIR / ".atila-stack-install.stamp"
PACKAGING_FILES = ("setup.py", "pyproject.toml")
DEMO_DIR = ROOT / "demo_project"
MIN_PYTHON = (3, 11)

USAGE = """\
usage: python3 dev.py demo [options for demo_project/serve.py, e.g. --port 8000]
       python3 dev.py test [options for pytest, e.g. -q -k static]

  demo   set up .venv, migrate the demo database, create the demo user, start the demo
  test   set up .venv and run the whole test suite with pytest
"""


def say(message: str) -> None:
    """Print a progress line, flushed so it appears before child output."""
    print(f"dev.py: {message}", flush=True)


def venv_python() -> Path:
    """Path of the virtualenv's interpreter."""
    if os.name == "nt":
        return VENV_DIR / "Scripts" / "python.exe"
    return VENV_DIR / "bin" / "python"


def run(argv: Sequence[str | os.PathLike[str]], cwd: Path = ROOT) -> int:
    """Run a command, echoing it first, and return its exit code."""
    say("$ " + " ".join(str(arg) for arg in argv))
    return subprocess.call([str(arg) for arg in argv], cwd=cwd)


def run_checked(argv: Sequence[str | os.PathLike[str]], cwd: Path = ROOT) -> None:
    """Run a command and exit with its code if it fails."""
    code = run(argv, cwd=cwd)
    if code != 0:
        say(f"command failed with exit code {code}")
        sys.exit(code)


def exec_replace(argv: Sequence[str | os.PathLike[str]], cwd: Path = ROOT) -> None:
    """Replace this process with ``argv`` (POSIX) or run it and exit with its code."""
    args = [str(arg) for arg in argv]
    say("$ " + " ".join(args))
    os.chdir(cwd)
    if os.name == "nt":
        sys.exit(subprocess.call(args))
    os.execv(args[0], args)


def packaging_hash() -> str:
    """Hash of what the install depends on; a change triggers a reinstall.

    That is the extra, the packaging files and the top-level packages present:
    an editable install maps only the top-level packages found when it ran, so
    a package added later (a new ``__init__.py`` at the top) needs a reinstall.
    """
    packages = sorted(path.parent.name for path in ROOT.glob("*/__init__.py"))
    digest = hashlib.sha256(f"extra={EXTRA}\npackages={packages}\n".encode())
    for name in PACKAGING_FILES:
        path = ROOT / name
        digest.update(name.encode() + b"\0")
        if path.exists():
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Create ``.venv`` if needed and install the project into it; return its python."""
    if sys.version_info < MIN_PYTHON:
        wanted = ".".join(str(part) for part in MIN_PYTHON)
        say(f"Python {wanted} or newer is required (this is {sys.version.split()[0]})")
        sys.exit(1)

    python = venv_python()
    if not python.exists():
        say(f"creating virtualenv {VENV_DIR} with {sys.executable}")
        run_checked([sys.executable, "-m", "venv", VENV_DIR])

    wanted_hash = packaging_hash()
    current_hash = STAMP_FILE.read_text().strip() if STAMP_FILE.exists() else ""
    if current_hash == wanted_hash:
        say(f"{VENV_DIR.name} is up to date (packaging unchanged), skipping pip")
        return python

    say(f"installing atila-stack (editable, extra '{EXTRA}') into {VENV_DIR.name}")
    run_checked(
        [python, "-m", "pip", "install", "--disable-pip-version-check", "-e", f".[{EXTRA}]"]
    )
    STAMP_FILE.write_text(wanted_hash + "\n")
    return python


def has_management_command(python: Path, manage: Path, command: str) -> bool:
    """Whether ``manage.py`` knows ``command`` (listed by ``manage.py help --commands``)."""
    result = subprocess.run(
        [str(python), str(manage), "help", "--commands"],
        cwd=manage.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        say("'manage.py help --commands' failed")
        sys.exit(result.returncode)
    return command in result.stdout.split()


def command_demo(args: list[str]) -> None:
    """Set up, prepare the demo database and start the demo server (does not return)."""
    serve = DEMO_DIR / "serve.py"
    if not serve.exists():
        say(f"demo project not built yet: {serve.relative_to(ROOT)} does not exist")
        sys.exit(1)

    python = ensure_venv()
    manage = DEMO_DIR / "manage.py"
    if manage.exists():
        say("applying database migrations")
        run_checked([python, manage, "migrate", "--noinput"], cwd=DEMO_DIR)
        if has_management_command(python, manage, "ensure_demo_user"):
            say("creating the demo user")
            run_checked([python, manage, "ensure_demo_user"], cwd=DEMO_DIR)
        else:
            say("no 'ensure_demo_user' management command, skipping the demo user")

    say("starting the demo server (Ctrl-C stops it)")
    exec_replace([python, serve, *args], cwd=DEMO_DIR)


def command_test(args: list[str]) -> None:
    """Set up and run pytest, exiting with pytest's exit code (does not return)."""
    python = ensure_venv()
    say("running the test suite")
    exec_replace([python, "-m", "pytest", *args], cwd=ROOT)


COMMANDS = {"demo": command_demo, "test": command_test}


def main(argv: list[str]) -> None:
    """Dispatch ``demo`` or ``test``; every later argument is passed through."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        sys.exit(0 if argv else 2)
    command = COMMANDS.get(argv[0])
    if command is None:
        sys.stderr.write(f"dev.py: unknown command {argv[0]!r}\n\n{USAGE}")
        sys.exit(2)
    command(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
