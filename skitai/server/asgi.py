"""The ASGI container: ASGI 3 applications called on the worker's event loop.

``ASGIContainer.call`` runs an app for one :class:`~skitai.server.exchange.Exchange`
in a task of its own, beside the WSGI container's handler threads.  It builds
the scope (``http``, or ``websocket`` through :mod:`skitai.server.asgi_websocket`)
and serves ``receive``/``send`` over the same exchange, so every limit of the
protocol layer (:mod:`skitai.server.http11`: head and body sizes, timeouts,
framing checks, the connection limit, the drain of :mod:`skitai.server.draining`)
holds for ASGI exactly as for WSGI.

HTTP, as the ASGI spec (version 2.4) asks:

* ``receive()`` gives the body as the app asks for it (the socket is read only
  while the buffer has room: back-pressure), then waits until the response is
  complete or the client is gone, and says ``http.disconnect``;
* ``send()`` of a whole body (``more_body`` false) right after the start goes
  out in one write with ``Content-Length``; a streamed body waits while the
  client is slow to read; a ``send`` to a client that left raises
  :class:`~skitai.server.errors.ClientDisconnected` (an ``OSError``);
* the body is held to a ``Content-Length`` the app declared (extra bytes are
  cut, a short body drops the connection), as in the WSGI container.

An app that breaks the protocol gets a log line and, if nothing was sent yet, a
``500`` (else the connection is dropped), never a hung connection: a second
``http.response.start``, a body before the start or after the last one, a bad
status or header, an exception, or returning without a complete response.  A
body error the protocol found while the app was reading (too large, stalled,
cut short) is answered with its own status (``413``/``408``/``400``).

The scope's ``root_path`` is the mount point and ``path`` the whole request path
(uvicorn and Starlette's reading of the spec: an app strips ``root_path``
itself).  ``scope["state"]`` is a shallow copy of the app's lifespan state
(:mod:`skitai.server.asgi_lifespan`), and ``scope["extensions"]["skitai"]`` the
engine's per-worker services, the ASGI side of the WSGI environ's ``skitai.*``
keys (see :data:`EXTENSION`).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import TYPE_CHECKING, Any

from .asgi_common import (
    STATUS_LINES,
    TEXT_PLAIN,
    ASGIProtocolError,
    app_name,
    connection_scope,
    encode_headers,
)
from .asgi_websocket import run_websocket
from .errors import ClientDisconnected, ProtocolError
from .exchange import EncodedHeaders, Exchange

if TYPE_CHECKING:
    from ..types import ASGIApp, Message, Scope

logger = logging.getLogger("skitai.asgi")


def asgi_path(path: str) -> str:
    """The scope's ``path`` from the dispatcher's (percent-decoded, latin-1) one: UTF-8."""
    if path.isascii():
        return path
    return path.encode("latin-1").decode("utf-8", "replace")


class ASGIContainer:
    """Calls ASGI 3 applications for exchanges, on the event loop.

    ``extension`` becomes ``scope["extensions"]["skitai"]``; ``submit`` queues
    work on the handler pool (WebSocket jobs); ``devel`` shows tracebacks in 500s.
    """

    def __init__(self, extension: dict[str, Any], submit: Any = None, devel: bool = False) -> None:
        self.extension = extension
        self.submit = submit
        self.devel = devel
        #: lifespan state of each app (by id), copied into each of its scopes
        self.states: dict[int, dict[str, Any]] = {}
        #: each app's name in log lines (``"svc at /svc"``), by id
        self.names: dict[int, str] = {}
        #: running request tasks (the loop keeps only weak references)
        self.tasks: set[asyncio.Task[None]] = set()

    def state_of(self, app: ASGIApp) -> dict[str, Any]:
        """The lifespan ``state`` dict of ``app`` (created empty on first use)."""
        state = self.states.get(id(app))
        if state is None:
            state = self.states[id(app)] = {}
        return state

    def call(self, exchange: Exchange, app: ASGIApp, root_path: str, path: str) -> None:
        """Start ``app`` for ``exchange`` (event loop); ``path`` is the full decoded path."""
        if exchange.websocket_request:
            self._spawn(exchange, run_websocket(self, exchange, app, root_path, asgi_path(path)))
            return
        state = self.states.get(id(app))
        if state is None:
            state = self.state_of(app)
        scope = connection_scope(
            "http",
            exchange,
            root_path,
            path if path.isascii() else asgi_path(path),
            state,
            self.extension,
        )
        scope["method"] = exchange.method
        scope["scheme"] = exchange.scheme
        if exchange.version == "2.0":  # HTTP/2 frames trailers (skitai.server.http2_stream)
            scope["extensions"]["http.response.trailers"] = {}
        cycle = HTTPCycle(exchange, self.devel, self.names)
        self._spawn(exchange, cycle.run(app, scope))

    def _spawn(self, exchange: Exchange, coro: Any) -> None:
        # Not started eagerly (Python 3.12's eager_start): the app would then write
        # its response from inside the read callback, and on uvloop under wrk that
        # cost 3-4 µs more CPU per request (12 % fewer requests/s) than writing
        # after the loop's pass over the sockets (benchmarks/README.md).
        task = exchange.protocol.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class HTTPCycle:
    """``receive``/``send`` of one HTTP request for an ASGI app."""

    __slots__ = (
        "exchange",
        "protocol",
        "devel",
        "status",
        "headers",
        "declared",
        "remaining",
        "complete",
        "request_done",
        "refused",
        "names",
        "trailers",
        "_waiter",
    )

    def __init__(
        self, exchange: Exchange, devel: bool = False, names: dict[int, str] | None = None
    ) -> None:
        self.exchange = exchange
        self.names = names
        self.protocol = exchange.protocol
        self.devel = devel
        #: the status line, once ``http.response.start`` came
        self.status: str | None = None
        self.headers: EncodedHeaders | None = None
        #: the Content-Length the app declared, and the body bytes still owed to it
        self.declared: int | None = None
        self.remaining: int | None = None
        #: the response is complete (or was given up): nothing more goes out
        self.complete = False
        #: the whole request body went to the app (or cannot anymore)
        self.request_done = False
        #: the engine answered the request itself (a body error while reading)
        self.refused = False
        self._waiter: asyncio.Future[None] | None = None
        #: the app announced trailers (``http.response.trailers``, HTTP/2 only):
        #: the response ends with them, not with the last body message
        self.trailers = False

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        """Call ``app`` and make sure the exchange ends, whatever the app does."""
        try:
            await app(scope, self.receive, self.send)
        except ClientDisconnected:
            self._abandon()
        except asyncio.CancelledError:
            self._abandon()
            raise
        except BaseException:  # noqa: BLE001 - the outermost boundary: even sys.exit() in an app
            name = app_name(app, self.names)  # must not stop the worker
            if self.complete:
                logger.exception("error in ASGI application %s after its response", name)
                return
            logger.exception("error in ASGI application %s", name)
            self._fail(traceback.format_exc() if self.devel else "")
        else:
            if self.complete:
                return
            name = app_name(app, self.names)
            if self.status is None:
                logger.error("ASGI application %s returned without a response", name)
                self._fail("")
            else:
                logger.error("ASGI application %s returned before its response was complete", name)
                self._abandon()

    # -- receive ------------------------------------------------------------------
    async def receive(self) -> Message:
        """The next ``http.request`` message, then ``http.disconnect`` once the cycle ends."""
        if not self.request_done:
            body = self.exchange.body
            if body is None:
                self.request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            try:
                data = await body.next_chunk()
            except ProtocolError as error:
                self.request_done = True
                self._refuse(error)
                return {"type": "http.disconnect"}
            except ClientDisconnected:
                self.request_done = True
                return {"type": "http.disconnect"}
            more = not body.exhausted
            self.request_done = not more
            return {"type": "http.request", "body": data, "more_body": more}
        if not self.complete and not self.protocol.lost:
            await self._wait_until_done()
        return {"type": "http.disconnect"}

    async def _wait_until_done(self) -> None:
        # One future per cycle, done for good once the response completes or the
        # client goes: concurrent receive() calls (a task listening for the
        # disconnect beside one streaming the response) all wait on it.
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = self.protocol.loop.create_future()
            self.protocol.wait_lost().add_done_callback(self._wake)
        await asyncio.shield(waiter)  # a cancelled receive() must not cancel the others'

    def _wake(self, _future: object = None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
            self.protocol.wait_lost().remove_done_callback(self._wake)

    # -- send ---------------------------------------------------------------------
    async def send(self, message: Message) -> None:
        """Take ``http.response.start`` then ``http.response.body`` messages."""
        kind = message["type"]
        if self.refused or self.protocol.lost:
            raise ClientDisconnected("the client is gone (or was answered by the server)")
        if kind == "http.response.body":
            if self.status is None:
                raise ASGIProtocolError("http.response.body sent before http.response.start")
            if self.complete:
                raise ASGIProtocolError(
                    "http.response.body sent after the response was complete (more_body=False)"
                )
            await self._body(message.get("body", b""), message.get("more_body", False))
        elif kind == "http.response.start":
            if self.status is not None:
                raise ASGIProtocolError("http.response.start sent twice")
            self._start(message)
        elif kind == "http.response.trailers":
            self._trailers(message)
        else:
            raise ASGIProtocolError(f"unexpected ASGI message {kind!r} in an HTTP scope")

    def _start(self, message: Message) -> None:
        status = message.get("status")
        line = STATUS_LINES.get(status) if type(status) is int else None  # type: ignore[arg-type]
        if line is None:
            raise ASGIProtocolError(f"invalid status {status!r} in http.response.start")
        self.headers = fields = encode_headers(message.get("headers", ()), status)  # type: ignore[arg-type]
        self.status = line
        no_body = self.exchange.method == "HEAD" or status in (204, 304)
        self.declared = declared = fields.length
        self.remaining = None if no_body else declared
        self.trailers = bool(message.get("trailers")) and self.exchange.version == "2.0"

    async def _body(self, body: Any, more: bool) -> None:
        if type(body) is not bytes:
            if not isinstance(body, (bytearray, memoryview)):
                raise ASGIProtocolError(f"body must be bytes, not {type(body).__name__}")
            body = bytes(body)
        exchange = self.exchange
        remaining = self.remaining
        if remaining is not None:
            if len(body) > remaining:
                body = body[:remaining]  # never more than the declared Content-Length
            remaining = self.remaining = remaining - len(body)
        if not exchange.started:
            assert self.status is not None and self.headers is not None
            if not more and not remaining and not self.trailers:
                self.complete = True
                exchange.respond(self.status, self.headers, body)
                self._wake()
                return
            exchange.start(self.status, self.headers, self.declared)
        if body:
            exchange.write(body)
        if more:
            protocol = self.protocol
            if not protocol.writable.is_set():
                await protocol.drain()  # the client reads slowly: wait for it
                if protocol.lost:
                    self._abandon()
                    raise ClientDisconnected("client disconnected")
            return
        if self.trailers and not remaining:
            self.remaining = -1  # the body is complete: the trailers end the response
            return
        self.complete = True
        if remaining:
            exchange.abort()  # shorter than its Content-Length: the client must not wait
        else:
            exchange.end()
        self._wake()

    def _trailers(self, message: Message) -> None:
        """``http.response.trailers`` (HTTP/2): end the stream with these fields."""
        if not self.trailers or self.complete:
            raise ASGIProtocolError("http.response.trailers without trailers=True in the start")
        if self.remaining != -1:
            raise ASGIProtocolError("http.response.trailers before the last body message")
        if message.get("more_trailers", False):
            raise ASGIProtocolError("more_trailers=True is not supported: send them in one")
        fields = encode_headers(message.get("headers", ()), 200)
        self.complete = True
        self.exchange.end_with_trailers(fields)  # type: ignore[attr-defined]
        self._wake()

    # -- ending -------------------------------------------------------------------
    def _fail(self, details: str) -> None:
        """The app failed: a 500 if nothing went out yet, else drop the connection."""
        self.complete = True
        exchange = self.exchange
        if exchange.started or exchange.finished:
            exchange.abort()
        else:
            message = "Internal Server Error\n"
            if details:  # development mode: show why
                message += "\n" + details
            exchange.respond("500 Internal Server Error", [TEXT_PLAIN], message.encode())
        self._wake()

    def _refuse(self, error: ProtocolError) -> None:
        """The request body failed (too large, stalled, cut short): answer its status."""
        self.complete = self.refused = True
        exchange = self.exchange
        if exchange.started or exchange.finished:
            exchange.abort()
        else:
            body = (str(error) + "\n").encode()
            exchange.respond(error.status, [TEXT_PLAIN, ("Connection", "close")], body)
        self._wake()

    def _abandon(self) -> None:
        """The response cannot be completed (client gone, app stopped early): drop it."""
        self.complete = True
        if not self.exchange.finished:
            self.exchange.abort()
        self._wake()


__all__ = ["ASGIContainer", "HTTPCycle", "asgi_path"]
