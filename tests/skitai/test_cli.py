"""The command line: flag overrides, tolerated unknown options, daemon commands.

Daemon tests run ``cli_app.py`` (a small ``serve.py``) in a subprocess with a
temporary var_dir, the way a user runs ``python3 serve.py start``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from skitai import cli
from skitai.cli import COMMANDS, Option, OptionRegistry, PidFile, is_running, parse_args
from skitai.config import Config

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("cli_app.py")
TIMEOUT = 60


def get_status(port: int) -> int:
    """Status code of ``GET /`` on ``port``."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        with sock.makefile("rb") as response:
            return int(response.readline().split()[1])


# -- parse_args ----------------------------------------------------------------


def test_flags_override_the_config() -> None:
    config = Config(port=5000, workers=1, threads=4)
    argv = ["-p", "8080", "--ip", "0.0.0.0", "-w", "3", "-t", "8", "--user", "nobody"]
    command, new, _ = parse_args(argv, config, [])
    assert command is None
    assert (new.port, new.ip, new.workers, new.threads, new.user) == (
        8080,
        "0.0.0.0",
        3,
        8,
        "nobody",
    )
    assert (config.port, config.workers) == (5000, 1)  # the given config is not changed


def test_long_flags_and_no_flags() -> None:
    config = Config()
    _, new, _ = parse_args(["--port", "81", "--workers", "2", "--threads", "2"], config, [])
    assert (new.port, new.workers, new.threads) == (81, 2, 2)
    assert parse_args([], config, [])[1] == config


def test_devel_forces_one_worker_and_silent_drops_the_access_log() -> None:
    _, new, _ = parse_args(["-w", "4", "--devel", "-s"], Config(), [])
    assert new.devel is True
    assert new.workers == 1
    assert new.silent is True
    assert new.access_log is False


def test_unknown_options_are_left_for_the_app() -> None:
    argv = ["---production", "--foo=bar", "-x", "start", "-p", "81"]
    command, new, _ = parse_args(argv, Config(), [])
    assert command == "start"
    assert new.port == 81


@pytest.mark.parametrize("command", COMMANDS)
def test_commands_are_recognised(command: str) -> None:
    assert parse_args(["-w", "2", command], Config(), [])[0] == command


def test_name_moves_the_default_var_dir_only() -> None:
    _, renamed, _ = parse_args(["--name", "shop"], Config(), [])
    assert renamed.name == "shop"
    assert renamed.var_dir == Config(name="shop").var_dir
    _, kept, _ = parse_args(["--name", "shop"], Config(var_dir="/srv/run"), [])
    assert kept.var_dir == "/srv/run"


@pytest.mark.parametrize("argv", [["--port", "http"], ["-p", "70000"], ["--workers", "0"]])
def test_bad_values_of_known_options_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv, Config(), [])
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_help_lists_engine_and_app_options(capsys: pytest.CaptureFixture[str]) -> None:
    extra = [Option(("--production",), {"action": "store_true", "help": "live settings"})]
    with pytest.raises(SystemExit) as exc:
        parse_args(["--help"], Config(), extra)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--workers" in out
    assert "live settings" in out
    assert "start|stop|status|restart" in out


def test_extra_options_are_parsed() -> None:
    extra = [Option(("--env",), {"default": "dev"})]
    _, _, namespace = parse_args(["--env", "prod", "-p", "1"], Config(), extra)
    assert namespace.env == "prod"
    assert namespace.port == 1


# -- option registry -------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> OptionRegistry:
    fresh = OptionRegistry()
    monkeypatch.setattr(cli, "registry", fresh)
    return fresh


def test_add_option_and_options(registry: OptionRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.add_option("---production", action="store_true")
    cli.add_option("--region", default="eu")
    monkeypatch.setattr(sys, "argv", ["serve.py", "start", "-p", "81", "---production"])
    values = cli.options()
    assert values == argparse.Namespace(production=True, region="eu")
    assert [option.names for option in registry.options] == [("---production",), ("--region",)]
    assert cli.options(["--region", "us"]).region == "us"


def test_add_option_needs_a_name(registry: OptionRegistry) -> None:
    with pytest.raises(TypeError):
        cli.add_option(action="store_true")


def test_importing_the_cli_parses_nothing() -> None:
    code = "import sys; sys.argv = ['x', '--port', 'bad', '--help']; import skitai.cli; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=TIMEOUT,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_main_without_command_serves_in_the_foreground(registry: OptionRegistry) -> None:
    seen: list[Config] = []

    def serve(config: Config) -> int:
        seen.append(config)
        return 7

    assert cli.main(Config(), serve, ["-w", "2", "---production"]) == 7
    assert seen[0].workers == 2


# -- pid file ------------------------------------------------------------------


def test_pid_file_is_exclusive_and_removed_only_by_its_owner(tmp_path: Path) -> None:
    pid_file = PidFile(str(tmp_path / "run" / "skitai.pid"))
    assert pid_file.read() is None
    assert pid_file.create(os.getpid())
    assert not pid_file.create(1)
    assert pid_file.read() == pid_file.running_pid() == os.getpid()
    pid_file.remove(os.getpid() + 1)
    assert pid_file.read() == os.getpid()
    pid_file.remove(os.getpid())
    assert not Path(pid_file.path).exists()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_is_running() -> None:
    assert is_running(os.getpid())
    assert not is_running(dead_pid())


# -- daemon commands ---------------------------------------------------------------


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "var"
    yield path
    pid = PidFile(str(path / "skitai.pid")).running_pid()
    if pid is not None:  # a failed test must not leave a daemon behind
        os.kill(pid, signal.SIGKILL)


def run_app(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python cli_app.py VAR_DIR args...`` with the working directory ``var_dir/..``."""
    return subprocess.run(
        [sys.executable, str(APP), str(var_dir), *args],
        capture_output=True,
        text=True,
        cwd=var_dir.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=TIMEOUT,
    )


def logged(var_dir: Path, key: str) -> str:
    """The last value the daemon logged for ``key`` (``port``, ``cwd``)."""
    lines = (var_dir / "skitai.log").read_text().splitlines()
    return [line.split(" ", 1)[1] for line in lines if line.startswith(key + " ")][-1]


def started_pid(stdout: str, var_dir: Path, name: str = "skitai") -> int:
    """The pid in ``start``'s last line, which names the app, its pid file and its log."""
    match = re.fullmatch(
        rf"{name}: started, pid (\d+) \(pid file {re.escape(str(var_dir / name))}\.pid, "
        rf"log {re.escape(str(var_dir / name))}\.log\)",
        stdout.splitlines()[-1],
    )
    assert match, stdout
    return int(match[1])


def test_start_status_restart_stop(var_dir: Path) -> None:
    started = run_app(var_dir, "start")
    assert started.returncode == 0, started.stderr
    pid = started_pid(started.stdout, var_dir)
    assert (var_dir / "skitai.pid").read_text() == f"{pid}\n"
    assert logged(var_dir, "cwd") == str(var_dir.parent)  # the daemon kept our directory
    assert get_status(int(logged(var_dir, "port"))) == 200

    pid_file = var_dir / "skitai.pid"
    status = run_app(var_dir, "status")
    assert (status.returncode, status.stdout) == (
        0,
        f"skitai: running, pid {pid} (pid file {pid_file})\n",
    )
    again = run_app(var_dir, "start")
    assert (again.returncode, again.stderr) == (
        1,
        f"skitai: already running, pid {pid} (pid file {pid_file}); "
        "stop it first, or give this app another --name\n",
    )

    restarted = run_app(var_dir, "restart")
    assert restarted.returncode == 0, restarted.stderr
    new_pid = started_pid(restarted.stdout, var_dir)
    assert restarted.stdout.startswith(f"skitai: stopped, pid {pid}\n")
    assert new_pid != pid
    assert not is_running(pid)
    assert get_status(int(logged(var_dir, "port"))) == 200

    stopped = run_app(var_dir, "stop")
    assert (stopped.returncode, stopped.stdout) == (0, f"skitai: stopped, pid {new_pid}\n")
    assert not is_running(new_pid)
    assert not (var_dir / "skitai.pid").exists()
    assert run_app(var_dir, "status").returncode == cli.EXIT_NOT_RUNNING


def test_stop_and_status_when_not_running(var_dir: Path) -> None:
    var_dir.mkdir()
    (var_dir / "skitai.pid").write_text(f"{dead_pid()}\n")  # stale
    not_running = f"skitai: not running (pid file {var_dir / 'skitai.pid'})\n"
    status = run_app(var_dir, "status")
    assert (status.returncode, status.stdout) == (3, not_running)
    stopped = run_app(var_dir, "stop")
    assert (stopped.returncode, stopped.stderr) == (1, not_running)
    assert not (var_dir / "skitai.pid").exists()


def test_start_reports_a_server_that_cannot_start(var_dir: Path) -> None:
    result = run_app(var_dir, "start", "--crash")
    assert result.returncode == 1
    assert "skitai: failed to start: the server exited with code 1" in result.stderr
    assert "simulated failure" in result.stderr  # the worker's own error, from the log
    assert not (var_dir / "skitai.pid").exists()


def test_foreground_run_with_flags(tmp_path: Path) -> None:
    args = [str(tmp_path / "var"), "---production", "--workers", "2"]
    with subprocess.Popen(
        [sys.executable, str(APP), *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as server:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("cwd ")
        port = int(server.stdout.readline().split()[1])
        try:
            assert get_status(port) == 200
        finally:
            server.send_signal(signal.SIGTERM)
        assert server.wait(TIMEOUT) == 0
