"""How much of the machine other work took while a benchmark measured.

On a shared machine, processes outside the benchmark (other people's test runs)
take CPU from the servers, and not evenly: a server with more runnable threads
gets a larger share of a busy CPU.  :class:`CpuWatch` measures, over one load
run, the share of all CPU time used by anything other than the watched servers
(their whole sessions: supervisor and workers), ``wrk`` and the benchmark
script itself, so that each result can say how clean it was, and the CPU
time each server used (CPU per request is far less sensitive to other load
than requests/s).

:func:`wait_until_quiet` lets a benchmark hold each load run until the
machine is quiet enough (up to a time limit).

Linux only (``/proc``); elsewhere the share is unknown (``None``).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

_PROC = Path("/proc")
_TICKS_PER_SEC = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of all cores since boot, or None without ``/proc/stat``."""
    try:
        first = (_PROC / "stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    # cpu user nice system idle iowait irq softirq steal [guest guest_nice: inside user]
    values = [int(value) for value in first[1:9]]
    total = sum(values)
    return total - values[3] - values[4], total


def session_ticks(sessions: set[int]) -> dict[int, int]:
    """CPU ticks (user + system) used so far by the live processes of each session."""
    used = dict.fromkeys(sessions, 0)
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rfind(")") + 2 :].split()
        session = int(fields[3])
        if session in used:
            used[session] += int(fields[11]) + int(fields[12])
    return used


def _own_seconds() -> float:
    """CPU seconds of this process and its waited-for children (wrk)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class CpuWatch:
    """``with CpuWatch(server_sessions) as watch: ...``; then ``watch.other_percent`` is
    the share (0-100) of the machine's CPU capacity used by anything else meanwhile,
    and ``watch.session_seconds[sid]`` the CPU seconds each watched session used."""

    def __init__(self, sessions: Iterable[int]) -> None:
        self.sessions = set(sessions)
        self.other_percent: float | None = None
        self.session_seconds: dict[int, float] = {}
        self._start: tuple[tuple[int, int] | None, dict[int, int], float] | None = None

    def __enter__(self) -> CpuWatch:
        self._start = (machine_ticks(), session_ticks(self.sessions), _own_seconds())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._start is not None
        machine_before, servers_before, own_before = self._start
        machine_after = machine_ticks()
        servers_after = session_ticks(self.sessions)
        used = {sid: servers_after[sid] - servers_before[sid] for sid in self.sessions}
        self.session_seconds = {sid: ticks / _TICKS_PER_SEC for sid, ticks in used.items()}
        if machine_before is None or machine_after is None:
            return
        busy = machine_after[0] - machine_before[0]
        total = machine_after[1] - machine_before[1]
        ours = sum(used.values()) + round((_own_seconds() - own_before) * _TICKS_PER_SEC)
        if total > 0:
            self.other_percent = max(0.0, 100.0 * (busy - ours) / total)


def wait_until_quiet(
    sessions: Iterable[int], threshold: float, max_wait: float, sample: float = 1.0
) -> tuple[float, float | None]:
    """Sample other processes' CPU share each ``sample`` seconds until it is at most
    ``threshold`` percent or ``max_wait`` seconds have passed.

    Returns (seconds waited, the last share measured; None when unknown).
    """
    sessions = set(sessions)
    started = time.monotonic()
    while True:
        with CpuWatch(sessions) as watch:
            time.sleep(sample)
        waited = time.monotonic() - started
        share = watch.other_percent
        if share is None or share <= threshold or waited >= max_wait:
            return waited, share
