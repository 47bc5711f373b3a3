"""A cross-worker "seen set" for replay checks (digest nonce counts, revoked tokens, used codes).

A replay check asks one question: *was this value seen before, by any worker?*
Per-process memory cannot answer it once the server forks several workers
(a replay sent to another worker would be accepted), so the master creates a
:class:`ReplayTable` before the fork, like :class:`skitai.states.StateTable`,
and every worker maps the same memory.  Applications reach it through the WSGI
environ key :data:`REPLAY_ENVIRON_KEY` (``environ["skitai.replay"]``); its
typed contract is :class:`skitai.types.ReplaySet`.  Outside a Skitai server
frameworks fall back to :class:`LocalReplaySet` (same methods, one process).

Layout and behaviour of :class:`ReplayTable`:

* ``capacity`` slots of 24 bytes: a 16-byte keyed BLAKE2b digest of the key
  (the hash key is random, made in the master, so clients cannot aim many
  keys at one region of the table) and an expiry on ``time.monotonic()``
  (system-wide on Linux, so every worker agrees).  Memory is fixed:
  ``16 + 24 * capacity`` bytes (3 MiB for the default 131072 slots).
* Open addressing with two choices: each half of a key's digest names a home
  slot, and the key may live in any of the :data:`PROBE_WINDOW` slots from
  either home on (wrapping around).  Every lookup reads both windows whole, so
  discarded or expired slots need no tombstones.  An insert takes the first
  empty or expired slot of the window with more of them (two choices keep the
  windows even: the first refusal comes at ~80% load instead of ~50% with one).
* **Full**: when every slot of both windows holds a live entry, the key cannot be
  recorded.  ``add_if_absent`` then answers False, the *fail-closed* answer of
  a replay check (the request is refused as if it were a replay); the refusal
  is counted (:meth:`ReplayTable.stats`) and logged.  Entries free themselves
  when their ``ttl`` ends, so a table fills only under sustained load of
  about ``capacity / ttl`` recorded keys per second.
* Locking: a thread lock inside each process plus a POSIX record lock
  (``fcntl.lockf``) on the table's memory file across processes.  The kernel
  drops a record lock when its holder dies, so a worker killed inside a
  critical section cannot wedge the others (a ``multiprocessing.Lock`` would
  stay held for ever).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import mmap
import os
import secrets
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from skitai import config as _config

__all__ = [
    "DEFAULT_REPLAY_CAPACITY",
    "PROBE_WINDOW",
    "REPLAY_ENVIRON_KEY",
    "LocalReplaySet",
    "ReplayTable",
]

logger = logging.getLogger("skitai.replay")

#: The WSGI environ key holding the server's :class:`ReplayTable`.
REPLAY_ENVIRON_KEY = "skitai.replay"
#: Slots of a server's table unless ``skitai.run(replay_capacity=...)`` says otherwise.
DEFAULT_REPLAY_CAPACITY = _config.DEFAULT_REPLAY_CAPACITY
#: Slots a key may occupy, from its home slot on.
PROBE_WINDOW = 32
#: Seconds between two "table full" warnings of one process.
FULL_WARNING_INTERVAL = 60.0

_HEADER = struct.Struct("<Q8x")  # refusals because the window was full; 8 bytes spare
_ENTRY = struct.Struct("<16sd")  # digest, monotonic expiry (0.0: never used / discarded)
_WINDOW = struct.Struct("<" + "16sd" * PROBE_WINDOW)
_EMPTY = bytes(_ENTRY.size)


def _check_ttl(ttl: float) -> float:
    value = float(ttl)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")
    return value


class ReplayTable:
    """A fixed-size set of keys with expiry in memory shared by forked workers.

    Create it in the master before forking; every worker then sees every
    other's keys at once.  Keys are bytes (callers prefix them with a
    namespace, e.g. ``b"atila/ott/" + token_id``); only their digests are kept.
    """

    def __init__(
        self, capacity: int = DEFAULT_REPLAY_CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not isinstance(capacity, int) or capacity < PROBE_WINDOW:
            raise ValueError(
                f"replay capacity must be an integer >= {PROBE_WINDOW}, not {capacity!r}"
            )
        self.capacity = capacity
        #: the expiry clock; it must be one all processes share (tests give a fake)
        self.clock = clock
        self.size = _HEADER.size + _ENTRY.size * capacity
        self._fd = _memory_file()
        try:
            os.ftruncate(self._fd, self.size)
            self._memory = mmap.mmap(self._fd, self.size, flags=mmap.MAP_SHARED)
        except OSError:
            os.close(self._fd)
            raise
        self._hash_key = secrets.token_bytes(32)
        self._pid = os.getpid()
        self._thread_lock = threading.Lock()
        self._last_warning = 0.0

    def __repr__(self) -> str:
        return f"<ReplayTable capacity={self.capacity}>"

    # -- the ReplaySet protocol ----------------------------------------------------

    def add_if_absent(self, key: bytes, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; True when it was not there.

        False when ``key`` is already recorded (a replay) **or** when it cannot
        be recorded because both its probe windows are full (fail closed).
        """
        expiry_in = _check_ttl(ttl)
        digest = self._digest(key)
        with self._locked():
            now = self.clock()
            best: list[int] = []  # free slots of the emptier window
            for home, entries in self._windows(digest):
                free = []
                for i in range(PROBE_WINDOW):
                    if entries[2 * i + 1] > now:  # type: ignore[operator]
                        if entries[2 * i] == digest:
                            return False
                    else:
                        free.append(home + i)
                if len(free) > len(best):
                    best = free
            if best:
                self._write(best[0], digest, now + expiry_in)
                return True
            (refused,) = _HEADER.unpack_from(self._memory, 0)
            _HEADER.pack_into(self._memory, 0, refused + 1)
        self._warn_full()
        return False

    def contains(self, key: bytes) -> bool:
        """True when ``key`` is recorded and has not expired."""
        digest = self._digest(key)
        with self._locked():
            return self._find(digest, self.clock()) is not None

    def discard(self, key: bytes) -> bool:
        """Forget ``key``; True when it was recorded (and not expired)."""
        digest = self._digest(key)
        with self._locked():
            slot = self._find(digest, self.clock())
            if slot is None:
                return False
            self._write(slot, bytes(16), 0.0)
            return True

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.contains(key)

    # -- diagnostics -----------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """``capacity``, ``live`` entries now (a full scan: for diagnostics) and
        ``full_refusals`` (keys refused since creation because their window was full)."""
        with self._locked():
            now = self.clock()
            live = 0
            for offset in range(_HEADER.size, self.size, _ENTRY.size):
                if _ENTRY.unpack_from(self._memory, offset)[1] > now:
                    live += 1
            (refused,) = _HEADER.unpack_from(self._memory, 0)
        return {"capacity": self.capacity, "live": live, "full_refusals": refused}

    def close(self) -> None:
        """Unmap the memory and close the file in this process (others keep theirs)."""
        if not self._memory.closed:
            self._memory.close()
            os.close(self._fd)

    # -- internals ---------------------------------------------------------------------

    def _digest(self, key: bytes) -> bytes:
        if not isinstance(key, (bytes, bytearray, memoryview)):
            raise TypeError(f"replay keys are bytes, not {type(key).__name__}")
        return hashlib.blake2b(key, digest_size=16, key=self._hash_key).digest()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self._pid != os.getpid():  # forked: a thread lock copied mid-use would never free
            self._pid = os.getpid()
            self._thread_lock = threading.Lock()
        with self._thread_lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def _windows(self, digest: bytes) -> Iterator[tuple[int, tuple[bytes | float, ...]]]:
        """The key's two windows (home slot, unpacked entries): one per half of its digest."""
        for half in (digest[:8], digest[8:]):
            home = int.from_bytes(half, "little") % self.capacity
            start = _HEADER.size + home * _ENTRY.size
            end = start + _WINDOW.size
            if end <= self.size:
                raw = self._memory[start:end]
            else:  # wraps around to the first slots
                raw = (
                    self._memory[start:]
                    + self._memory[_HEADER.size : end - self.size + _HEADER.size]
                )
            yield home, _WINDOW.unpack(raw)

    def _find(self, digest: bytes, now: float) -> int | None:
        for home, entries in self._windows(digest):
            for i in range(PROBE_WINDOW):
                if entries[2 * i] == digest and entries[2 * i + 1] > now:  # type: ignore[operator]
                    return home + i
        return None

    def _write(self, slot: int, digest: bytes, expiry: float) -> None:
        offset = _HEADER.size + (slot % self.capacity) * _ENTRY.size
        _ENTRY.pack_into(self._memory, offset, digest, expiry)

    def _warn_full(self) -> None:
        now = time.monotonic()
        if now - self._last_warning >= FULL_WARNING_INTERVAL:
            self._last_warning = now
            logger.warning(
                "replay table full (%d slots): refusing new keys until entries expire; "
                "raise skitai.run(replay_capacity=...)", self.capacity,
            )  # fmt: skip


def _memory_file() -> int:
    """A file descriptor for the table: an anonymous memfd, else an unlinked temp file."""
    create = getattr(os, "memfd_create", None)
    if create is not None:
        try:
            return int(create("skitai-replay", os.MFD_CLOEXEC))
        except OSError:
            pass
    with tempfile.TemporaryFile(prefix="skitai-replay-") as file:
        return os.dup(file.fileno())


class LocalReplaySet:
    """A :class:`ReplayTable` stand-in for one process (another WSGI server, tests).

    Same methods and the same fail-closed rule: at most ``capacity`` live keys
    (expired ones are dropped first when it is reached).
    """

    def __init__(
        self, capacity: int = DEFAULT_REPLAY_CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.clock = clock
        self._expiries: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def add_if_absent(self, key: bytes, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when present or when the set is full."""
        expiry_in = _check_ttl(ttl)
        key = bytes(key)
        with self._lock:
            now = self.clock()
            expiry = self._expiries.get(key)
            if expiry is not None and expiry > now:
                return False
            if len(self._expiries) >= self.capacity:
                self._expiries = {k: e for k, e in self._expiries.items() if e > now}
                if len(self._expiries) >= self.capacity:
                    return False
            self._expiries[key] = now + expiry_in
            return True

    def contains(self, key: bytes) -> bool:
        """True when ``key`` is recorded and has not expired."""
        with self._lock:
            expiry = self._expiries.get(bytes(key))
            return expiry is not None and expiry > self.clock()

    def discard(self, key: bytes) -> bool:
        """Forget ``key``; True when it was recorded (and not expired)."""
        with self._lock:
            expiry = self._expiries.pop(bytes(key), None)
            return expiry is not None and expiry > self.clock()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.contains(key)
