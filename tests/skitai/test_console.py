"""The installed ``skitai`` console script, and daemon files named per app.

The console tests run the script the distribution installs next to the
interpreter (``.venv/bin/skitai``), in a copy of ``devel_site/``.  The daemon
tests run two copies of ``devel_site/named.py`` (``app.py`` and ``app2.py``)
with ``HOME`` in a temporary directory, so their files land in
``$HOME/.skitai/<name>/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from skitai.cli import PidFile, is_running
from skitai.testing import ServerProcess

SITE = Path(__file__).with_name("devel_site")
SKITAI = Path(sys.executable).with_name("skitai")
TIMEOUT = 60


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SITE, tmp_path / "site"))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A ``HOME`` for the daemons; any daemon a failed test leaves there is killed."""
    path = tmp_path / "home"
    path.mkdir()
    yield path
    for pid_path in path.glob(".skitai/*/*.pid"):
        pid = PidFile(str(pid_path)).running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def skitai(*args: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(
        [str(SKITAI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


# -- the console script ------------------------------------------------------------


def test_the_console_script_is_installed_and_documents_itself(tmp_path: Path) -> None:
    assert SKITAI.is_file()
    result = skitai("--help", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "usage: skitai [start|stop|status|restart] [options] [POINT=]TARGET" in result.stdout
    for words in ("module:attr", "/point=TARGET", "--devel", "--name", "--workers"):
        assert words in result.stdout


def test_it_serves_a_module_and_a_directory_named_on_the_command_line(site: Path) -> None:
    (port,) = free_ports(1)
    command = [str(SKITAI), "--port", str(port), "--silent", "greeting:app", "/files=static"]
    server = ServerProcess(command, cwd=site, env=None, port=port)
    try:
        server.wait_ready(TIMEOUT)
        base = f"http://127.0.0.1:{port}"
        answer = requests.get(base + "/", timeout=10)
        assert (answer.status_code, answer.text.split(" pid=")[0]) == (200, "version 1 devel=None")
        static = requests.get(base + "/files/a.txt", timeout=10)
        assert (static.status_code, static.text) == (200, "a static file\n")
    finally:
        server.stop()
    assert server.process.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name what to serve"),
        (("nosuchmodule:app",), "cannot mount 'nosuchmodule:app'"),
        (("--bogus", "greeting:app"), "unrecognized arguments: --bogus"),
        (("--name", "a/b", "greeting:app"), "the app name must be a file name"),
    ],
)
def test_command_line_mistakes_exit_2_with_a_message(
    site: Path, args: tuple[str, ...], message: str
) -> None:
    result = skitai(*args, cwd=site)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: skitai")
    assert message in result.stderr


def test_console_daemon_commands_name_the_app_after_its_first_mount(site: Path, home: Path) -> None:
    (port,) = free_ports(1)
    pid_file = home / ".skitai" / "greeting" / "greeting.pid"
    started = skitai("start", "--port", str(port), "greeting:app", cwd=site, home=home)
    assert started.returncode == 0, started.stderr
    pid = int(pid_file.read_text())
    log = pid_file.with_suffix(".log")
    assert started.stdout == f"greeting: started, pid {pid} (pid file {pid_file}, log {log})\n"
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    status = skitai("status", "--name", "greeting", cwd=site, home=home)
    assert status.stdout == f"greeting: running, pid {pid} (pid file {pid_file})\n"
    stopped = skitai("stop", "greeting:app", cwd=site, home=home)
    assert (stopped.returncode, stopped.stdout) == (0, f"greeting: stopped, pid {pid}\n")
    assert not is_running(pid)


# -- two apps, two pid files ----------------------------------------------------------


def run_script(script: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``python3 <script> args...`` as a user runs a ``serve.py``."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_two_apps_keep_their_own_pid_and_log_files(tmp_path: Path, home: Path) -> None:
    app, app2 = tmp_path / "app.py", tmp_path / "app2.py"
    for script in (app, app2):
        shutil.copy(SITE / "named.py", script)
    port, port2 = free_ports(2)
    files = {name: home / ".skitai" / name / f"{name}.pid" for name in ("app", "app2", "shop")}

    started = run_script(app, "start", "--port", str(port), home=home)
    assert started.returncode == 0, started.stderr
    pid = int(files["app"].read_text())
    assert started.stdout.startswith(f"app: started, pid {pid} (pid file {files['app']}, log ")

    status2 = run_script(app2, "status", home=home)
    assert (status2.returncode, status2.stdout) == (
        3,
        f"app2: not running (pid file {files['app2']})\n",
    )
    started2 = run_script(app2, "start", "--port", str(port2), home=home)
    assert started2.returncode == 0, started2.stderr
    pid2 = int(files["app2"].read_text())
    assert pid2 != pid
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "app.py"
    assert requests.get(f"http://127.0.0.1:{port2}/", timeout=10).text == "app2.py"

    again = run_script(app, "start", "--port", str(port2), home=home)
    assert (again.returncode, again.stderr) == (
        1,
        f"app: already running, pid {pid} (pid file {files['app']}); "
        "stop it first, or give this app another --name\n",
    )
    renamed = run_script(app, "status", "--name", "shop", home=home)
    assert renamed.stdout == f"shop: not running (pid file {files['shop']})\n"

    assert run_script(app, "stop", home=home).stdout == f"app: stopped, pid {pid}\n"
    assert run_script(app2, "status", home=home).stdout == (
        f"app2: running, pid {pid2} (pid file {files['app2']})\n"
    )
    assert run_script(app2, "stop", home=home).stdout == f"app2: stopped, pid {pid2}\n"
    assert not files["app"].exists() and not files["app2"].exists()
