"""``skitai.corequests.standalone()``: one process-wide hub, however many threads ask first."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from skitai.corequests import standalone


async def _loop_thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_concurrent_first_calls_share_one_hub_and_one_loop_thread() -> None:
    barrier = threading.Barrier(8)

    def ask() -> object:
        barrier.wait()  # all eight threads call standalone() at the same moment
        return standalone()

    with ThreadPoolExecutor(8) as pool:
        hubs = list(pool.map(lambda _: ask(), range(8)))
    assert all(hub is hubs[0] for hub in hubs)
    assert standalone() is hubs[0]
    # the hub runs work on its own loop thread, not the caller's
    assert standalone().submit(_loop_thread_name()).fetch() == "skitai-corequests"
    loops = [t for t in threading.enumerate() if t.name == "skitai-corequests"]
    assert len(loops) == 1
