"""Engine tests use the suite-wide fixtures of ``tests/conftest.py`` (``serve``, ``free_port``)
plus ``make_hub`` here (a corequest hub on an event loop running in a thread) and
``certificate`` (a self-signed certificate for the HTTPS and HTTP/2 tests)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and key for 127.0.0.1 (the openssl command)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl command makes the test certificate"
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
