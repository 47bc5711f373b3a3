"""The live-server client: start ``serve.py`` on an ephemeral port, talk to it over HTTP.

Seed section "App Testing & Generating API Document": :func:`test_client`
starts the script in its own process group, waits until it accepts
connections and returns a :class:`LiveClient` (a :class:`requests.Session`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from ._common import (
    _ABSOLUTE_URL,
    _CONNECT_TIMEOUT,
    _OUTPUT_TAIL_BYTES,
    _POLL_INTERVAL,
    DEFAULT_REQUEST_TIMEOUT,
    STOP_GRACE_SECONDS,
    _content_type,
    _is_json_media_type,
)  # fmt: skip

# --------------------------------------------------------------------------
# Live server
# --------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """The server script exited, or never accepted connections, while starting."""


class ServerProcess:
    """A server script running in its own process group.

    Its stdout and stderr go to one temporary file (never a pipe that could
    fill up); :meth:`output_tail` reads the end of it.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None,
        port: int,
    ) -> None:
        self.command = list(command)
        self.port = port
        self._log = tempfile.TemporaryFile()
        self._stopped = False
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has run."""
        return self._stopped

    def output_tail(self, limit: int = _OUTPUT_TAIL_BYTES) -> str:
        """The last ``limit`` bytes the server wrote, decoded as UTF-8."""
        if self._log.closed:
            return ""
        size = self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, size - limit))
        return self._log.read().decode("utf-8", "replace")

    def wait_ready(self, timeout: float) -> None:
        """Block until the server accepts TCP connections on 127.0.0.1.

        Raises :class:`ServerStartError` (with the output tail) when the
        process exits first or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise self._start_error(
                    f"exited with status {self.process.returncode} before accepting connections"
                )
            if _accepts_connections(self.port) and self.process.poll() is None:
                return
            if time.monotonic() >= deadline:
                raise self._start_error(
                    f"did not accept connections on port {self.port} within {timeout:g}s"
                )
            time.sleep(_POLL_INTERVAL)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds.

        Idempotent.  Stragglers left in the group by the leader are killed too.
        """
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
            self._signal_group(signal.SIGKILL)
        finally:
            self._log.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _start_error(self, what: str) -> ServerStartError:
        tail = self.output_tail()
        return ServerStartError(f"server {' '.join(self.command)!r} {what}; output:\n{tail}")


def _accepts_connections(port: int) -> bool:
    """True when a TCP connect to 127.0.0.1:``port`` succeeds."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=_CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def _free_port() -> int:
    """An ephemeral port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveClient(requests.Session):
    """A :class:`requests.Session` bound to a running server.

    Relative URLs (``"/users/100"``) are joined onto :attr:`base_url`;
    absolute URLs pass through.  When the effective Content-Type header is
    JSON, a dict given as ``data`` (also positionally, as in
    ``axios.patch('/users/100', {'last_name': 'Roh'})``) is sent as JSON.
    """

    def __init__(
        self,
        base_url: str,
        server: ServerProcess | None = None,
        *,
        verify: bool = True,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.server = server
        self.verify = verify
        self.request_timeout = request_timeout

    @property
    def port(self) -> int | None:
        """The port of :attr:`base_url`."""
        return urlsplit(self.base_url).port

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The server's :class:`subprocess.Popen`, if this client started one."""
        return self.server.process if self.server else None

    def url_for(self, url: str) -> str:
        """Join a relative URL onto :attr:`base_url`; return absolute URLs as is."""
        if _ABSOLUTE_URL.match(url):
            return url
        return self.base_url + (url if url.startswith("/") else "/" + url)

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; see :meth:`requests.Session.request`."""
        if kwargs.get("json") is None and isinstance(data, Mapping):
            if _is_json_media_type(_content_type(headers, self.headers)):
                kwargs["json"], data = data, None
        kwargs.setdefault("timeout", self.request_timeout)
        with warnings.catch_warnings():
            if kwargs.get("verify", self.verify) is False:
                warnings.simplefilter("ignore", InsecureRequestWarning)
            return super().request(
                method,
                self.url_for(url),
                params=params,
                data=data,
                headers=headers,
                **kwargs,
            )

    def set_default_header(self, name: str, value: str | None) -> None:
        """Send ``name: value`` with every request (``None`` removes it)."""
        if value is None:
            self.headers.pop(name, None)
        else:
            self.headers[name] = value

    def clone(self) -> LiveClient:
        """A new client sharing this one's cookie jar and server.

        Default headers, params and other settings are copied, so changing
        them on the clone does not affect this client.
        """
        twin = LiveClient(
            self.base_url,
            self.server,
            verify=bool(self.verify),
            request_timeout=self.request_timeout,
        )
        twin.verify = self.verify
        twin.headers = self.headers.copy()
        twin.cookies = self.cookies
        twin.auth = self.auth
        twin.cert = self.cert
        twin.params = dict(self.params)
        twin.proxies = dict(self.proxies)
        twin.hooks = {event: list(hooks) for event, hooks in self.hooks.items()}
        twin.trust_env = self.trust_env
        twin.max_redirects = self.max_redirects
        return twin

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the server (shared with clones) and close pooled connections.

        Idempotent; see :meth:`ServerProcess.stop`.
        """
        if self.server is not None:
            self.server.stop(grace)
        self.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _server_command(
    script: Path, port: int, *, devel: bool, silent: bool, args: Sequence[str]
) -> list[str]:
    command = [sys.executable, str(script), "--port", str(port)]
    if devel:
        command.append("--devel")
    if silent:
        command.append("--silent")
    return command + list(args)


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    merged.setdefault("PYTHONUNBUFFERED", "1")
    merged.update(env or {})
    return merged


def test_client(
    script: str | os.PathLike[str],
    port: int | None = None,
    *,
    ssl: bool = False,
    silent: bool = True,
    dry: bool = False,
    devel: bool = True,
    timeout: float = 30.0,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> LiveClient:
    """Start ``script`` as a server and return a :class:`LiveClient` for it.

    Runs ``python <script> --port <port> [--devel] [--silent] *args`` in the
    script's directory, in a new process group; ``port=None`` picks a free
    ephemeral port.  ``env`` adds to (does not replace) the environment.
    Waits up to ``timeout`` seconds for the port to accept connections and
    raises :class:`ServerStartError` (a ``RuntimeError``) with the server's
    output if it exits or times out first.  ``ssl=True`` makes the base URL
    ``https`` without certificate verification.  ``dry`` is accepted for
    compatibility with the seed API and has no effect.

    Seed section: "App Testing & Generating API Document".
    """
    del dry  # accepted for seed compatibility
    if isinstance(args, str):
        raise TypeError("args must be a sequence of strings, not a string")
    script_path = Path(script).resolve()
    if not script_path.is_file():
        raise FileNotFoundError(f"server script not found: {script_path}")
    port = port or _free_port()
    command = _server_command(script_path, port, devel=devel, silent=silent, args=args)
    server = ServerProcess(command, cwd=script_path.parent, env=_child_env(env), port=port)
    try:
        server.wait_ready(timeout)
    except BaseException:
        server.stop()
        raise
    scheme = "https" if ssl else "http"
    return LiveClient(f"{scheme}://127.0.0.1:{port}", server, verify=not ssl)


test_client.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# --------------------------------------------------------------------------
# In-process WSGI client
# --------------------------------------------------------------------------
