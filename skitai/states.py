"""Shared state across worker processes: last-update times of named keys.

``skitai.register_states("weather-news", ...)`` names the keys before the
server starts (seed sections "More About Atila App Initialization" and "Inter
Process Update Notification").  When the server starts, the master creates a
:class:`StateTable`: one anonymous shared memory page (``mmap`` with
``MAP_SHARED``) holding a float timestamp per key, plus a process-shared
lock.  Workers are forked after that, so they all map the same memory: a
``setlu`` in one worker is seen by ``getlu`` in every other at once, with no
file, socket or polling.

Applications reach the table through the WSGI environ key
:data:`STATES_ENVIRON_KEY` (``environ["skitai.states"]``) or through the
:class:`~skitai.context.EngineContext` given to their ``on_worker_start``
hook.  Outside a Skitai server (another WSGI server, the in-process test
client) frameworks fall back to :class:`LocalStateTable`, which has the same
methods but lives in one process only.
"""

from __future__ import annotations

import mmap
import multiprocessing
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

__all__ = [
    "STATES_ENVIRON_KEY",
    "LocalStateTable",
    "StateError",
    "StateTable",
    "States",
    "normalize_keys",
]

#: The WSGI environ key holding the server's :class:`StateTable`.
STATES_ENVIRON_KEY = "skitai.states"

_SLOT = struct.Struct("d")


class StateError(KeyError):
    """A state key that was not registered with ``skitai.register_states``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown state"


class States(Protocol):
    """What applications may call on a state table."""

    def setlu(self, key: str, timestamp: float | None = None) -> float:
        """Record that ``key`` was updated at ``timestamp`` (default: now); return it."""
        ...

    def getlu(self, key: str) -> float:
        """The last update time of ``key`` (the table's creation time until a ``setlu``)."""
        ...

    def __contains__(self, key: object) -> bool: ...


def normalize_keys(keys: Iterable[str]) -> list[str]:
    """Check ``keys`` are non-empty strings; return them without duplicates, in order."""
    found: list[str] = []
    for key in keys:
        if not isinstance(key, str) or not key:
            raise TypeError(f"state keys must be non-empty strings, got {key!r}")
        if key not in found:
            found.append(key)
    return found


class StateTable:
    """Per-key last-update timestamps in memory shared by forked workers.

    Create it in the master before forking (the keys are fixed from then on).
    Every key starts at the table's creation time.  Reads and writes take a
    ``multiprocessing.Lock`` so a reader never sees half a timestamp.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._index = {key: slot for slot, key in enumerate(normalize_keys(keys))}
        size = max(len(self._index), 1) * _SLOT.size
        self._memory = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
        self._lock = multiprocessing.get_context("fork").Lock()
        self.created = time.time()
        for slot in self._index.values():
            _SLOT.pack_into(self._memory, slot * _SLOT.size, self.created)

    def __repr__(self) -> str:
        return f"<StateTable keys={list(self._index)!r}>"

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def _slot(self, key: str) -> int:
        try:
            return self._index[key] * _SLOT.size
        except KeyError:
            raise StateError(
                f"state {key!r} is not registered: call skitai.register_states({key!r}) "
                "before skitai.run()"
            ) from None

    def setlu(self, key: str, timestamp: float | None = None) -> float:
        """Record that ``key`` was updated at ``timestamp`` (default: now); return it.

        Raises :class:`StateError` for a key never registered.
        """
        offset = self._slot(key)
        value = time.time() if timestamp is None else float(timestamp)
        with self._lock:
            _SLOT.pack_into(self._memory, offset, value)
        return value

    def getlu(self, key: str) -> float:
        """The last update time of ``key``; raises :class:`StateError` for an unknown key."""
        offset = self._slot(key)
        with self._lock:
            return float(_SLOT.unpack_from(self._memory, offset)[0])

    def advance(self, key: str, timestamp: float) -> bool:
        """Set ``key`` to ``timestamp`` if that is later than its value (atomically).

        Returns whether it changed.  Updates from other hosts arrive through
        here, in any order, so the latest wins everywhere.
        """
        offset = self._slot(key)
        with self._lock:
            if float(_SLOT.unpack_from(self._memory, offset)[0]) >= timestamp:
                return False
            _SLOT.pack_into(self._memory, offset, float(timestamp))
        return True

    def items(self) -> list[tuple[str, float]]:
        """Every key with its last update time."""
        return [(key, self.getlu(key)) for key in self._index]

    def close(self) -> None:
        """Unmap the memory (other processes keep their mapping)."""
        self._memory.close()


class LocalStateTable:
    """A :class:`StateTable` stand-in for one process (no server, or tests).

    Any key is accepted: there is no server start at which keys would have to
    be known.  Unknown keys read as the table's creation time.
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.created = time.time()
        self._values = dict.fromkeys(normalize_keys(keys), self.created)
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def setlu(self, key: str, timestamp: float | None = None) -> float:
        """Record that ``key`` was updated at ``timestamp`` (default: now); return it."""
        value = time.time() if timestamp is None else float(timestamp)
        with self._lock:
            self._values[key] = value
        return value

    def getlu(self, key: str) -> float:
        """The last update time of ``key`` (creation time for a key never set)."""
        with self._lock:
            return self._values.get(key, self.created)
