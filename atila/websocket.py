"""``@app.websocket``: WebSocket routes (spec "More About Websocket").

::

    @app.route("/echo")
    @app.websocket(skitai.WS_CHANNEL, 60, onopen, onclose)
    def echo(was, message):
        return "you said: " + message

The route answers a WebSocket upgrade (any other request: 426 Upgrade
Required; a browser page of another origin than the server's or the route's
CORS ``access_control_allow_origin``: 403).  Route checks
(``@app.permission_required``, hooks, ...) run on the upgrade request as on
any request; then ``onopen(was)`` runs, still inside
that request (so a session it changes goes out with the ``101`` response), and
the connection switches to WebSocket (:mod:`skitai.server.websocket`).

Each message runs the handler with the upgrade request's ``was``
(``was.request.ARGS``, headers, cookies, user; ``was.websocket`` is the
connection): ``handler(was, message, **args)``, where ``args`` are the route
and query parameters the handler names.  What it returns is sent back:
``str`` as text, ``bytes`` as binary, ``dict``/``list`` as JSON text, None
nothing.  Modes (flags of ``spec``):

* ``WS_CHANNEL`` (with ``WS_THREAD``, the default, or ``WS_THREADSAFE``): each
  message runs on the handler pool, one at a time per connection, in order;
* ``WS_NOTHREAD`` (``WS_FAST``): on the event loop (never block in it);
* ``WS_SESSION``: the handler is a generator, ``message = yield`` takes the next
  message (None when the connection closes) and ``yield reply`` answers;
* ``WS_GROUPCHAT``: what the handler returns goes to every connection of the
  route, in every worker and host (a chat room; :mod:`atila.messaging`);
* ``WS_COROUTINE``: the handler is a generator that waits without holding a
  thread: ``message = yield was.Input()`` takes the next message (None once
  closed), ``task = yield <corequest>`` resumes with the finished task, and
  ``yield reply`` (str, bytes, dict, list) sends it.

``timeout`` closes a connection that sends nothing for that many seconds
(None: never); ``onclose(was)`` runs when it closes.
``app.websocket_send(client_id, message)`` pushes to a connection from
anywhere (``was.websocket.client_id``), whichever worker or host holds it.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atila import jsonenc
from atila.cors import policy_for
from atila.errors import HTTPError
from skitai.corequests import Pending, Task
from skitai.server.websocket import WS_CHANNEL, WS_COROUTINE, WS_GROUPCHAT, WS_NOTHREAD, WS_SESSION

if TYPE_CHECKING:
    from atila.app import Atila
    from atila.was import Was

__all__ = ["NEXT_MESSAGE", "WebSocketRoute", "websocket_route"]

logger = logging.getLogger("atila.websocket")

#: What ``was.Input()`` gives in a WebSocket coroutine: "wait for the next message".
NEXT_MESSAGE = object()

#: Close codes (RFC 6455).
_NORMAL_CLOSURE = 1000
_INTERNAL_ERROR = 1011


class WebSocketRoute:
    """One ``@app.websocket`` handler: the upgrade, and the connections it opened."""

    def __init__(
        self,
        app: Atila,
        handler: Callable[..., Any],
        spec: int,
        timeout: float | None,
        onopen: Callable[..., Any] | None,
        onclose: Callable[..., Any] | None,
    ) -> None:
        if spec & (WS_SESSION | WS_COROUTINE) and (onopen is not None or onclose is not None):
            raise ValueError("a generator handler opens and closes itself: no onopen/onclose")
        if spec & WS_COROUTINE and spec & WS_NOTHREAD:
            raise ValueError("a WS_COROUTINE handler runs on the handler pool, not WS_NOTHREAD")
        self.app = app
        self.handler = handler
        self.spec = spec
        self.timeout = timeout
        self.onopen = onopen
        self.onclose = onclose
        self.on_loop = bool(spec & WS_NOTHREAD)
        self.generator = bool(spec & (WS_SESSION | WS_COROUTINE))
        self.names = _parameter_names(handler, skip=1 if self.generator else 2)
        self.open_names = _parameter_names(onopen, skip=1) if onopen else set()
        #: WS_GROUPCHAT: the route's open connections in this worker
        self.members: dict[str, Any] = {}
        self._members_lock = threading.Lock()
        #: WS_GROUPCHAT: the room's name across processes (the handler's full name)
        self.room = f"{handler.__module__}.{handler.__qualname__}"
        if spec & WS_GROUPCHAT:
            app.messaging.add_room(self.room, self)

    def upgrade(self, was: Was, params: dict[str, Any]) -> Any:
        """The route's WSGI answer: accept the upgrade and answer 101 (or 426)."""
        upgrade = was.request.env.get("skitai.websocket")
        if upgrade is None:
            raise HTTPError(
                426, "this resource speaks WebSocket only", headers=[("Upgrade", "websocket")]
            )
        self._check_origin(was)
        self.app.websocket_clients = upgrade.clients
        connection = _Connection(self, was, {k: v for k, v in params.items() if k in self.names})
        socket = upgrade.accept(connection, idle_timeout=self.timeout)
        was.websocket = socket
        connection.socket = socket
        if self.onopen is not None:
            self.onopen(was, **{k: v for k, v in params.items() if k in self.open_names})
        connection.context = contextvars.copy_context()
        was.response.set_status("101 Switching Protocols")
        return None

    def _check_origin(self, was: Was) -> None:
        """403 for a browser page of another origin (cross-site WebSocket hijacking).

        Browsers send cookies with a WebSocket handshake from any page, and the
        same-origin policy does not apply: a page elsewhere could act with the
        user's session.  Its ``Origin`` must be this server's or one the route's
        CORS policy (``access_control_allow_origin``) allows.
        """
        request = was.request
        origin = request.env.get("HTTP_ORIGIN")
        if not origin:
            return  # not a browser: nothing rides on ambient cookies it did not choose
        host = request.env.get("HTTP_HOST", "")
        if origin.partition("://")[2] == host:
            return
        route = request.route
        if policy_for(self.app, route.options if route is not None else {}).allows(origin):
            return
        raise HTTPError(403, f"WebSocket from origin {origin!r} refused")

    def join(self, socket: Any) -> None:
        """A connection of a WS_GROUPCHAT route opened."""
        with self._members_lock:
            self.members[socket.client_id] = socket

    def leave(self, socket: Any) -> None:
        """A connection of a WS_GROUPCHAT route closed."""
        with self._members_lock:
            self.members.pop(socket.client_id, None)

    def broadcast(self, message: str | bytes) -> bool:
        """Send ``message`` to every member of the room, in every worker and host (WS_GROUPCHAT).

        This worker's members get it now; False when the hub is down, so the
        other processes' members did not get it.
        """
        self.send_here(message)
        return self.app.newest().messaging.publish_room(self.room, message)

    def send_here(self, message: str | bytes) -> None:
        """Send ``message`` to the room's members in this worker."""
        with self._members_lock:
            members = list(self.members.values())
        for socket in members:
            socket.send(message)


class _Connection:
    """The engine's handler for one connection of a :class:`WebSocketRoute`."""

    def __init__(self, route: WebSocketRoute, was: Was, args: dict[str, Any]) -> None:
        self.route = route
        self.was = was
        self.args = args
        self.socket: Any = None
        self.context: contextvars.Context | None = None
        self._session: Any = None
        #: WS_COROUTINE: messages not asked for yet, and whether it waits for one
        self._inbox: deque[str | bytes] = deque()
        self._wants_message = False
        self._peer_closed = self._told_closed = False

    # -- engine callbacks (event loop) -------------------------------------------------
    def on_open(self, socket: Any) -> None:
        if self.route.spec & WS_GROUPCHAT:
            self.route.join(socket)
        if self.route.spec & WS_SESSION:
            self._dispatch(self._start_session)
        elif self.route.spec & WS_COROUTINE:
            self._dispatch(self._start_coroutine)

    def on_message(self, socket: Any, message: str | bytes) -> None:
        self._dispatch(self._answer, message)

    def on_close(self, socket: Any, code: int) -> None:
        if self.route.spec & WS_GROUPCHAT:
            self.route.leave(socket)
        self._dispatch(self._closed)

    def _dispatch(self, job: Callable[..., None], *args: Any) -> None:
        """Run ``job`` in the upgrade request's context: on the loop or the pool."""
        if self.route.on_loop:
            self._run(job, *args)
        else:
            self.socket.submit(self._run, job, *args)

    def _run(self, job: Callable[..., None], *args: Any) -> None:
        assert self.context is not None
        try:
            self.context.run(job, *args)
        except Exception:  # noqa: BLE001 - the application's error closes only this socket
            logger.exception("error in WebSocket handler %s", self.route.handler.__qualname__)
            self.socket.close(_INTERNAL_ERROR, "")

    # -- jobs (in the request's context) -------------------------------------------------
    def _answer(self, message: str | bytes) -> None:
        if self.route.spec & WS_SESSION:
            self._session_send(message)
            return
        if self.route.spec & WS_COROUTINE:
            if self._wants_message:
                self._wants_message = False
                self._step(message)
            else:
                self._inbox.append(message)
            return
        self._reply(self.route.handler(self.was, message, **self.args))

    def _reply(self, reply: Any) -> None:
        if reply is None:
            return
        if not isinstance(reply, (str, bytes)):
            reply = (
                jsonenc.dumps(reply, self.route.app.config.get("JSON_ENCODER", "utcoffset"))
                if isinstance(reply, (dict, list))
                else str(reply)
            )
        if self.route.spec & WS_GROUPCHAT:
            self.route.broadcast(reply)
        else:
            self.socket.send(reply)

    def _start_session(self) -> None:
        session = self.route.handler(self.was, **self.args)
        if not inspect.isgenerator(session):
            raise TypeError("a WS_SESSION handler must be a generator (message = yield)")
        self._session = session
        self._advance(next(session, None))

    def _session_send(self, message: str | bytes | None) -> None:
        if self._session is None:
            return
        try:
            reply = self._session.send(message)
        except StopIteration:
            self._end_session()
            return
        self._advance(reply)

    def _advance(self, reply: Any) -> None:
        """Send what the generator yields until it waits for a message (yields None)."""
        while reply is not None:
            self._reply(reply)
            try:
                reply = next(self._session)
            except StopIteration:
                self._end_session()
                return

    def _start_coroutine(self) -> None:
        coroutine = self.route.handler(self.was, **self.args)
        if not inspect.isgenerator(coroutine):
            raise TypeError("a WS_COROUTINE handler must be a generator (yield was.Input())")
        self._session = coroutine
        self._step(None)

    def _step(self, value: Any) -> None:
        """Run the coroutine until it waits for a message or a corequest, or ends."""
        coroutine = self._session
        while coroutine is not None:
            try:
                item = coroutine.send(value)
            except StopIteration:
                self._end_session()
                return
            value = None
            if item is None or item is NEXT_MESSAGE:
                if self._inbox:
                    value = self._inbox.popleft()
                elif self._peer_closed:
                    if self._told_closed:  # it was given None once; asking again ends it
                        self._session = None
                        coroutine.close()
                        return
                    self._told_closed = True  # value None: the spec's "if not msg: break"
                else:
                    self._wants_message = True
                    return
                continue
            if isinstance(item, Pending):
                if isinstance(item, Task) and item.done():
                    value = item
                    continue
                item.on_ready(lambda item=item: self.socket.submit(self._run, self._step, item))
                return
            self._reply(item)

    def _end_session(self) -> None:
        self._session = None
        self.socket.close(_NORMAL_CLOSURE, "")

    def _closed(self) -> None:
        if self.route.spec & WS_COROUTINE:
            self._peer_closed = True
            if self._wants_message:
                self._wants_message = False
                self._told_closed = True
                self._step(None)  # the spec's "if not msg: break"
            return
        if self._session is not None:
            session, self._session = self._session, None
            try:
                session.send(None)  # the spec's "if not message: return"
            except StopIteration:
                pass
            finally:
                session.close()
        if self.route.onclose is not None:
            self.route.onclose(self.was)


def _parameter_names(func: Callable[..., Any], skip: int) -> set[str]:
    """Names of ``func``'s parameters after the first ``skip`` (was, message)."""
    parameters = list(inspect.signature(func).parameters.values())[skip:]
    return {p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def websocket_route(
    app: Atila,
    spec: int = WS_CHANNEL,
    timeout: float | None = 60,
    onopen: Callable[..., Any] | None = None,
    onclose: Callable[..., Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What ``@app.websocket(...)`` returns: a decorator making the upgrade endpoint."""

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        route = WebSocketRoute(app, handler, spec, timeout, onopen, onclose)

        def upgrade(was: Any, **params: Any) -> Any:
            return route.upgrade(was, params)

        # Name and docs only: the endpoint's signature must stay (was, **params).
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(upgrade, name, getattr(handler, name, None))
        upgrade.websocket_route = route  # type: ignore[attr-defined]
        return upgrade

    return decorator
