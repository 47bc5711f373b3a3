"""What one worker's connections share: config, clock, Date header, access log.

``ServerState`` is created once per worker process and handed to every
connection; it is the only state the protocols see besides their own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Protocol

from ..config import Config

if TYPE_CHECKING:
    from .errors import ProtocolError
    from .exchange import Exchange
    from .http11 import HttpProtocol

access_logger = logging.getLogger("skitai.access")
error_logger = logging.getLogger("skitai.error")

#: Bytes a client could use to end a quoted log field early or forge a line.
_UNSAFE_IN_LOG = re.compile(rb'["\\\x00-\x1f\x7f-\xff]')


def _log_field(value: bytes) -> str:
    """``value`` safe inside a quoted log field: ``\\"``, ``\\\\`` and ``\\xHH`` escapes."""
    if _UNSAFE_IN_LOG.search(value) is None:
        return value.decode("ascii")
    return _UNSAFE_IN_LOG.sub(_escape_byte, value).decode("ascii")


def _escape_byte(match: re.Match[bytes]) -> bytes:
    byte = match.group()
    return b"\\" + byte if byte in b'"\\' else b"\\x%02x" % byte[0]


class Dispatcher(Protocol):
    """What the server calls for each request (the engine implements it)."""

    def dispatch(self, exchange: Exchange) -> None:
        """Answer ``exchange`` (on the loop; may hand work to threads)."""
        ...

    def body_limit(self, target: bytes) -> int:
        """Largest request body accepted for this request target."""
        ...


class ServerState:
    """Shared per-worker state: connection set, coarse clock, cached headers."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, dispatcher: Dispatcher):
        self.config = config
        self.loop = loop
        self.dispatcher = dispatcher
        self.dispatch: Callable[[Exchange], None] = dispatcher.dispatch
        self.body_limit: Callable[[bytes], int] = dispatcher.body_limit
        self.connections: set[HttpProtocol] = set()
        #: set whenever the last connection closes (awaited while draining)
        self.no_connections = asyncio.Event()
        self.server_header = f"Server: {config.server_header}\r\n".encode("latin-1")
        self.now = time.monotonic()
        self.date_header = b""
        self.access_log = config.access_log and not config.silent
        self._ticker: asyncio.TimerHandle | None = None
        self._update_clock()

    def _update_clock(self) -> None:
        self.now = time.monotonic()
        self.date_header = b"Date: " + formatdate(usegmt=True).encode("ascii") + b"\r\n"

    def start(self) -> None:
        """Start the once-a-second tick (clock, Date header, timeouts)."""
        self._tick()

    def stop(self) -> None:
        """Stop the tick."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _tick(self) -> None:
        self._update_clock()
        for connection in list(self.connections):
            connection.check_timeouts(self.now)
        # Align to the next wall-clock second so the Date header stays exact.
        self._ticker = self.loop.call_later(1.0 - time.time() % 1.0, self._tick)

    def add_connection(self, connection: HttpProtocol) -> bool:
        """Register a connection; False when the connection limit is reached."""
        if len(self.connections) >= self.config.max_connections:
            return False
        self.connections.add(connection)
        return True

    def remove_connection(self, connection: HttpProtocol) -> None:
        """Forget a closed connection."""
        self.connections.discard(connection)
        if not self.connections:
            self.no_connections.set()

    def log_access(self, exchange: Exchange) -> None:
        """Write one access log line in the combined log format."""
        if not self.access_log:
            return
        referer = exchange.header(b"referer") or b"-"
        agent = exchange.header(b"user-agent") or b"-"
        access_logger.info(
            '%s - - [%s] "%s %s HTTP/%s" %d %d "%s" "%s"',
            exchange.client[0] or "-",
            time.strftime("%d/%b/%Y:%H:%M:%S %z"),
            exchange.method,
            _log_field(exchange.target),
            exchange.version,
            exchange.status_code,
            exchange.bytes_sent,
            _log_field(referer),
            _log_field(agent),
        )

    def log_error(self, connection: HttpProtocol, error: ProtocolError) -> None:
        """Log a refused request."""
        error_logger.info("%s: %s (%s)", connection.peer[0], error.status, error)
