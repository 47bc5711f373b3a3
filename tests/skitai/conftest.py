"""Engine tests use the suite-wide fixtures of ``tests/conftest.py`` (``serve``, ``free_port``)
plus ``make_hub`` here: a corequest hub on an event loop running in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from skitai.corequests import AliasTable, Corequests


@pytest.fixture
def make_hub() -> Iterator[Callable[[AliasTable], Corequests]]:
    """``make_hub(table)``: a :class:`Corequests` for ``table`` whose loop runs on a
    background thread (as in a worker); closed and stopped at the end of the test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    hubs: list[Corequests] = []

    def make(table: AliasTable) -> Corequests:
        hubs.append(Corequests(loop, table))
        return hubs[-1]

    try:
        yield make
    finally:
        for hub in hubs:
            loop.call_soon_threadsafe(hub.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
