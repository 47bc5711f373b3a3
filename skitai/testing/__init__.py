"""Test clients: a live-server client and an in-process WSGI client.

* :func:`test_client` starts a server script (``serve.py``) on an ephemeral
  port and returns a :class:`LiveClient` bound to it (seed section "App
  Testing & Generating API Document"); see :mod:`skitai.testing.live`.
* :class:`Client` (alias :class:`WSGIClient`) calls any PEP 3333 WSGI callable
  directly and returns a :class:`Response`; see :mod:`skitai.testing.inprocess`.

Both clients share one rule from the seed's ``axios`` example: when the
Content-Type header is ``application/json``, a dict given as ``data`` is sent
as a JSON body; otherwise it is sent as form data.
"""

from ._common import DEFAULT_REQUEST_TIMEOUT, STOP_GRACE_SECONDS
from .inprocess import Client, Response, WSGIClient, WSGIProtocolError, build_environ
from .live import LiveClient, ServerProcess, ServerStartError, test_client

__all__ = [
    "DEFAULT_REQUEST_TIMEOUT", "STOP_GRACE_SECONDS",
    "Client", "LiveClient", "Response", "ServerProcess", "ServerStartError",
    "WSGIClient", "WSGIProtocolError", "build_environ", "test_client",
]  # fmt: skip
