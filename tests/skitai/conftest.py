"""Fixtures for tests that talk to a real running skitai server."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skitai.testing import LiveClient, test_client


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., LiveClient]]:
    """Start a server script written from source; stopped at the end of the test.

    ``serve(source, *args, files={...})`` writes ``source`` (dedented) as
    ``serve.py`` in ``tmp_path`` plus any extra ``files`` (relative path ->
    text), starts it with ``--port N`` and the extra command line ``args``,
    waits until it listens and returns a :class:`LiveClient` on it.
    """
    clients: list[LiveClient] = []

    def start(source: str, *args: str, files: dict[str, str] | None = None) -> LiveClient:
        for name, text in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        script = tmp_path / "serve.py"
        script.write_text(textwrap.dedent(source))
        client = test_client(str(script), devel=False, args=args)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.stop()
