"""The cross-worker replay table (``environ["skitai.replay"]``) and its one-process stand-in."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable

import pytest

from skitai.replay import PROBE_WINDOW, LocalReplaySet, ReplayTable
from skitai.types import ReplaySet

FORK = multiprocessing.get_context("fork")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Factory = Callable[..., ReplaySet]


@pytest.fixture(params=["shared", "local"])
def make(request: pytest.FixtureRequest) -> Factory:
    """Build a :class:`ReplayTable` or a :class:`LocalReplaySet` (same contract)."""
    made: list[ReplayTable] = []

    def factory(capacity: int = 1024, clock: Callable[[], float] | None = None) -> ReplaySet:
        kwargs = {"clock": clock} if clock is not None else {}
        if request.param == "local":
            return LocalReplaySet(capacity, **kwargs)
        table = ReplayTable(capacity, **kwargs)
        made.append(table)
        return table

    yield factory  # type: ignore[misc]
    for table in made:
        table.close()


def test_both_implement_the_protocol(make: Factory) -> None:
    assert isinstance(make(), ReplaySet)


def test_add_contains_discard(make: Factory) -> None:
    seen = make()
    assert not seen.contains(b"k") and b"k" not in seen  # type: ignore[operator]
    assert seen.add_if_absent(b"k", 60) is True
    assert seen.add_if_absent(b"k", 60) is False  # the replay
    assert seen.contains(b"k") and b"k" in seen  # type: ignore[operator]
    assert not seen.contains(b"other")
    assert seen.discard(b"k") is True and seen.discard(b"k") is False
    assert not seen.contains(b"k")
    assert seen.add_if_absent(b"k", 60) is True  # a discarded key can come back


def test_keys_expire_after_their_ttl(make: Factory) -> None:
    clock = FakeClock()
    seen = make(clock=clock)
    assert seen.add_if_absent(b"short", 10) and seen.add_if_absent(b"long", 100)
    clock.now += 10.5
    assert not seen.contains(b"short") and seen.contains(b"long")
    assert seen.add_if_absent(b"short", 10) is True
    assert seen.discard(b"long") is True


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf])
def test_ttl_must_be_positive_and_finite(make: Factory, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        make().add_if_absent(b"k", ttl)


def test_keys_are_bytes() -> None:
    table = ReplayTable(64)
    try:
        with pytest.raises(TypeError):
            table.add_if_absent("text", 1)  # type: ignore[arg-type]
        assert "text" not in table
    finally:
        table.close()


def test_capacity_is_checked() -> None:
    with pytest.raises(ValueError, match="capacity"):
        ReplayTable(PROBE_WINDOW - 1)


def test_a_full_table_fails_closed_and_reuses_expired_slots() -> None:
    clock = FakeClock()
    # capacity == window: every key may use every slot, so exactly `capacity` fit
    table = ReplayTable(PROBE_WINDOW, clock=clock)
    try:
        keys = [b"key-%d" % i for i in range(PROBE_WINDOW)]
        assert all(table.add_if_absent(key, 60) for key in keys)
        assert table.add_if_absent(b"one too many", 60) is False  # refused, not evicting
        assert not table.contains(b"one too many")
        assert all(table.contains(key) for key in keys)  # no live key was dropped
        assert table.stats() == {"capacity": PROBE_WINDOW, "live": PROBE_WINDOW, "full_refusals": 1}
        assert table.discard(keys[5])
        assert table.add_if_absent(b"one too many", 60) is True  # the freed slot
        clock.now += 61
        assert table.stats()["live"] == 0
        assert all(table.add_if_absent(key, 60) for key in keys[:10])
    finally:
        table.close()


def test_local_set_fails_closed_when_full() -> None:
    clock = FakeClock()
    seen = LocalReplaySet(2, clock=clock)
    assert seen.add_if_absent(b"a", 5) and seen.add_if_absent(b"b", 50)
    assert seen.add_if_absent(b"c", 5) is False
    clock.now += 6  # "a" expired: its place is taken
    assert seen.add_if_absent(b"c", 5) is True and seen.contains(b"b")


def test_many_keys_with_wrapping_windows() -> None:
    table = ReplayTable(4096)
    try:
        # 68% load: below where two-choice windows first overflow (~80% and up)
        keys = [os.urandom(12) for _ in range(2800)]
        assert all(table.add_if_absent(key, 60) for key in keys)
        assert all(table.contains(key) for key in keys)
        assert not any(table.add_if_absent(key, 60) for key in keys)
        assert table.stats()["live"] == 2800 and table.stats()["full_refusals"] == 0
    finally:
        table.close()


# -- across forked processes -------------------------------------------------------------


def _child_adds(table: ReplayTable) -> None:
    ok = table.contains(b"from parent") and table.add_if_absent(b"from child", 60)
    os._exit(0 if ok else 1)


def test_forked_processes_share_the_table() -> None:
    table = ReplayTable(1024)
    try:
        assert table.add_if_absent(b"from parent", 60)
        child = FORK.Process(target=_child_adds, args=(table,))
        child.start()
        child.join(10)
        assert child.exitcode == 0
        assert table.contains(b"from child")
        assert not table.add_if_absent(b"from child", 60)
    finally:
        table.close()


def _race(table: ReplayTable, keys: int, results: multiprocessing.queues.Queue) -> None:  # type: ignore[name-defined]
    won = sum(table.add_if_absent(b"race-%d" % i, 60) for i in range(keys))
    results.put(won)


def test_each_key_is_won_by_exactly_one_process() -> None:
    table = ReplayTable(4096)
    keys = 500
    results = FORK.Queue()
    try:
        children = [FORK.Process(target=_race, args=(table, keys, results)) for _ in range(4)]
        for child in children:
            child.start()
        wins = [results.get(timeout=20) for _ in children]
        for child in children:
            child.join(10)
        assert sum(wins) == keys  # no key accepted twice, none lost
    finally:
        table.close()


def _hold_lock_forever(table: ReplayTable, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    with table._locked():
        ready.set()
        threading.Event().wait(60)


def test_a_worker_killed_inside_the_lock_does_not_wedge_the_others() -> None:
    table = ReplayTable(1024)
    ready = FORK.Event()
    try:
        child = FORK.Process(target=_hold_lock_forever, args=(table, ready))
        child.start()
        assert ready.wait(10)
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(10)
        done = threading.Event()
        worker = threading.Thread(
            target=lambda: done.set() if table.add_if_absent(b"after", 60) else None, daemon=True
        )
        worker.start()
        assert done.wait(10), "the lock of a killed process was not released"
    finally:
        table.close()
