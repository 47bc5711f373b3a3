"""Fixtures for Atila tests: a fresh app, its in-process client, raw WSGI calls, a live server.

* ``app`` — a new :class:`atila.Atila`; ``client`` — a
  :class:`skitai.testing.Client` on it (no sockets).
* ``call_wsgi(app, environ)`` — call any WSGI app with a hand-made environ
  (for environ keys the client does not let a test choose, like REMOTE_ADDR).
* ``serve`` comes from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import atila
from skitai.testing import Client, build_environ


@pytest.fixture
def app() -> atila.Atila:
    """A fresh app named after the test module."""
    return atila.Atila(__name__)


@pytest.fixture
def client(app: atila.Atila) -> Client:
    """An in-process client for ``app``."""
    return Client(app)


WSGIResult = tuple[str, dict[str, str], bytes]


def _call_wsgi(app: Any, environ: dict[str, Any]) -> WSGIResult:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return captured["status"], {k.lower(): v for k, v in captured["headers"]}, body


@pytest.fixture
def call_wsgi() -> Callable[..., WSGIResult]:
    """``call_wsgi(app, method, path, **build_environ_kwargs, environ={...})``."""

    def call(app: Any, method: str, path: str, environ: dict[str, Any] | None = None,
             **kwargs: Any) -> WSGIResult:  # fmt: skip
        env = build_environ(method, path, **kwargs)
        env.update(environ or {})
        return _call_wsgi(app, env)

    return call
