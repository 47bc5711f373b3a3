"""``skitai.register_states`` and the shared state table across forked processes."""

from __future__ import annotations

import os
import time

import pytest

import skitai
from skitai.context import AppMount, EngineContext
from skitai.engine import Engine
from skitai.lifespan import build_context, start_apps, stop_apps
from skitai.mounts import MountTable
from skitai.states import LocalStateTable, StateError, StateTable


def test_setlu_in_a_forked_child_is_seen_by_the_parent() -> None:
    table = StateTable(["news", "weather"])
    start = table.getlu("news")
    assert start == pytest.approx(table.created)
    pid = os.fork()
    if pid == 0:  # the child: a worker
        table.setlu("news", 1234567890.5)
        os._exit(0)
    os.waitpid(pid, 0)
    assert table.getlu("news") == 1234567890.5
    assert table.getlu("weather") == start
    table.close()


def test_unknown_keys_and_bad_keys_are_errors() -> None:
    table = StateTable(["news"])
    with pytest.raises(StateError, match="register_states"):
        table.setlu("nothing")
    with pytest.raises(StateError):
        table.getlu("nothing")
    with pytest.raises(TypeError):
        StateTable([""])
    assert "news" in table and list(table) == ["news"]


def test_local_table_accepts_any_key() -> None:
    table = LocalStateTable()
    assert table.getlu("x") == table.created
    stamp = table.setlu("x")
    assert table.getlu("x") == stamp >= table.created


def test_register_states_only_before_the_server_starts() -> None:
    engine = Engine()
    engine.register_states("a", "b")
    engine.register_states("b", "c")
    assert engine.state_keys == ["a", "b", "c"]
    engine.mounts.freeze()
    with pytest.raises(RuntimeError, match="before the server starts"):
        engine.register_states("d")
    assert callable(skitai.register_states)


class _App:
    """A WSGI app with the lifecycle hooks, recording calls."""

    def __init__(self, calls: list[str], name: str, fail: bool = False) -> None:
        self.calls, self.name, self.fail = calls, name, fail

    def __call__(self, environ: dict, start_response: object) -> list[bytes]:
        return []

    def on_worker_start(self, context: EngineContext) -> None:
        if self.fail:
            raise RuntimeError("cannot start")
        self.calls.append(f"start {self.name} {sorted(context.apps)}")

    def on_worker_stop(self) -> None:
        self.calls.append(f"stop {self.name}")


def test_worker_context_lists_apps_and_starts_them_once() -> None:
    calls: list[str] = []
    first, second = _App(calls, "first"), _App(calls, "second")
    mounts = MountTable()
    mounts.add("/", first, "main")
    mounts.add("/rpc", first, "rpc")
    mounts.add("/search", second, "search")
    context = build_context(mounts, LocalStateTable(), worker_index=1, workers=2, threads=3)
    assert context.point_of(second) == "/search" and context.point_of(first) == "/"
    assert context.apps["rpc"] is first and context.threads == 3
    started = start_apps(context)
    stop_apps(started)
    names = "['main', 'rpc', 'search']"
    assert calls == [f"start first {names}", f"start second {names}", "stop second", "stop first"]


def test_a_failing_start_stops_the_apps_already_started() -> None:
    calls: list[str] = []
    context = EngineContext(
        (AppMount("a", "/", _App(calls, "a")), AppMount("b", "/b", _App(calls, "b", fail=True))),
        LocalStateTable(),
    )
    with pytest.raises(RuntimeError, match="cannot start"):
        start_apps(context)
    assert calls == ["start a ['a', 'b']", "stop a"]


def test_timestamps_move_forward() -> None:
    table = StateTable(["k"])
    first = table.setlu("k")
    time.sleep(0.01)
    assert table.setlu("k") > first
