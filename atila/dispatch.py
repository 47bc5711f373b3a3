"""One request through an app: route, checks, hooks, handler, response.

:func:`handle` is what ``Atila.__call__`` runs for each WSGI call::

    route match  -> 301 ("" vs "/"), 403/404 (unroute), 404, 405 with Allow
    OPTIONS      -> answered here (CORS preflight or Allow), handler not called
    415          -> the route's content_types refuse the body
    hooks        -> before_request ... teardown_request around
    handler      -> @app.inspect checks, argument binding, autoruns, the call
    response     -> atila.responses.build_response, CORS headers, HEAD body dropped

Error policy (one place): an :class:`~atila.errors.HTTPError` becomes its
status; any other exception is logged with its traceback and becomes a 500.
Both go through the app's error handlers, then the default error body.  A
traceback reaches the client only when ``app.debug`` is on.
"""

from __future__ import annotations

import contextvars
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from atila import responses, xmlrpc
from atila.corequests import DeferredResponse
from atila.coroutines import ON_LOOP_KEY, as_pending
from atila.cors import options_response, policy_for
from atila.endpoint import call_endpoint
from atila.errorpages import default_error_body, error_html, error_info, error_payload, wants_json
from atila.errors import HTTPError, NotAllowed, ParameterError
from atila.jsonbody import MAX_JSON_DEPTH
from atila.onloop import RESOLVED_KEY, runs_on_loop
from atila.openapi import openapi_table
from atila.request import Request
from atila.routing import Blocked, Match, NoMatch, Redirect, Route
from atila.security import RequestSecurity, authenticate_route
from atila.storage import AttrDict
from atila.was import Was, bind_was, unbind_was
from skitai.corequests import CorequestError, Pending

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["Built", "handle", "handle_on_loop", "http_error_of"]

WSGIResult = tuple[str, list[tuple[str, str]], Iterable[bytes]]


@dataclass
class Built:
    """A response Atila made itself (redirects, OPTIONS answers, default error pages)."""

    status: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def wsgi(self) -> WSGIResult:
        """Status, headers (with Content-Length unless 1xx/204/304) and body list."""
        code = int(self.status[:3])
        if code < 200 or code in (204, 304):
            return self.status, list(self.headers), []
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        return self.status, headers, [self.body] if self.body else []


class _ContextBody:
    """A streamed body iterated inside the request's context (``was`` stays usable)."""

    def __init__(self, body: Iterable[bytes], context: contextvars.Context) -> None:
        self._iterator: Iterator[bytes] = iter(body)
        self._body = body
        self._context = context

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            self._context.run(close)


def handle(app: Atila, environ: dict[str, Any]) -> WSGIResult | DeferredResponse:
    """Answer one WSGI request: status, headers and body iterable, or a deferral."""
    config = app.config  # item access: an AttrDict attribute read costs a failed lookup
    request = Request(environ, int(config["MAX_UPLOAD_SIZE"]))
    # routed already on the event loop, which left the request to this thread
    resolved = environ.pop(RESOLVED_KEY, None)
    return _handle(app, request, resolved)


def handle_on_loop(app: Atila, environ: dict[str, Any]) -> WSGIResult | DeferredResponse | None:
    """Answer one request on the engine's event loop when its route runs there, else
    None (the engine then calls the app on a handler thread; see :mod:`atila.onloop`)."""
    request = Request(environ, int(app.config["MAX_UPLOAD_SIZE"]))
    if request.method == "POST" and request.get_content_type() in xmlrpc.XMLRPC_TYPES:
        return None  # the call is in the body, parsed on the thread
    resolved = _resolve(app, request)
    if not (isinstance(resolved, Match) and runs_on_loop(app, resolved.route)):
        environ[RESOLVED_KEY] = resolved  # the thread does not route it again
        return None
    environ[ON_LOOP_KEY] = True
    return _handle(app, request, resolved)


def _handle(
    app: Atila, request: Request, resolved: Match | Redirect | Blocked | NoMatch | None
) -> WSGIResult | DeferredResponse:
    config = app.config
    environ = request.env
    request.security = RequestSecurity(app, request)
    request.upload_dir = config.get("UPLOAD_TEMP_DIR")
    request.max_json_depth = config.get("MAX_JSON_DEPTH", MAX_JSON_DEPTH)
    context = _context(app, environ)
    was = Was(app, request, responses.Response(context))
    # A weak proxy: the context belongs to was.response, and a strong reference
    # back to was would make every request a reference cycle.
    context.error_renderer = partial(_render_error_of, app, weakref.ref(was))
    token = bind_was(was)
    r_token = app.r.begin()
    outcome: WSGIResult | DeferredResponse | None = None
    try:
        outcome = _complete(app, was, partial(_route_and_call, app, was, resolved))
        return outcome
    finally:
        if not isinstance(outcome, DeferredResponse):
            request.close()
        app.r.end(r_token)
        unbind_was(token)


def _complete(app: Atila, was: Was, produce: Callable[[], Any]) -> WSGIResult | DeferredResponse:
    """The response to ``produce()``'s result; a :class:`DeferredResponse` when the
    result is a corequest still running (``task.then``, ``was.Map``, a coroutine)."""
    request = was.request
    try:
        result = produce()
        pending = as_pending(result, was)
        if pending is not None:
            return DeferredResponse(pending, partial(_resume, app, was), contextvars.copy_context())
    except Exception as exc:  # noqa: BLE001 - the app's outermost boundary
        error = http_error_of(exc)
        if error is None:
            result = _unhandled(app, was, sys.exc_info())
        else:
            result = _error_result(app, was, error, sys.exc_info())
    status, headers, body = _finish(app, was, result)
    if request.method == "HEAD":
        _close(body)
        body = []
    elif not isinstance(body, (list, tuple)):
        body = _ContextBody(body, contextvars.copy_context())
    return status, headers, body


def _resume(app: Atila, was: Was, pending: Pending) -> WSGIResult | DeferredResponse:
    """Finish a deferred response (handler thread, in the request's context)."""
    outcome = _complete(app, was, partial(pending.resolve, was))
    if not isinstance(outcome, DeferredResponse):
        was.request.close()
    return outcome


def http_error_of(exc: BaseException) -> HTTPError | None:
    """The :class:`HTTPError` ``exc`` stands for: itself, or the one given to a failed
    ``assert cond, was.Error(...)``; None for any other exception (a 500)."""
    if isinstance(exc, HTTPError):
        return exc
    if isinstance(exc, AssertionError) and exc.args and isinstance(exc.args[0], HTTPError):
        return exc.args[0]
    if isinstance(exc, CorequestError):  # database down (503), timeout (504) ...
        lines = str(exc).strip().splitlines()
        return HTTPError(exc.status, detail=lines[0] if lines else None)
    return None


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


# -- routing -------------------------------------------------------------------


def _resolve(app: Atila, request: Request) -> Match | Redirect | Blocked | NoMatch:
    """Route the request; an XML-RPC call is routed to its method's path; with
    ``config.OPENAPI`` the document and its page come first (atila.openapi)."""
    if app.config.get("OPENAPI"):
        served = openapi_table(app).resolve(request.path, request.method, request.script_name)
        if isinstance(served, Match):
            return served
    if request.method == "POST" and request.get_content_type() in xmlrpc.XMLRPC_TYPES:
        call = xmlrpc.parse_call(request.body)
        if call is not None:
            target = xmlrpc.target_path(request.path, call[0])
            resolved = app.routes.resolve(target, "POST", request.script_name)
            if isinstance(resolved, Match):
                request.xmlrpc = call
                return resolved
            fallback = app.routes.resolve(request.path, request.method, request.script_name)
            if isinstance(fallback, NoMatch):
                request.xmlrpc = call  # an unknown method is a fault, not an HTML 404
            return fallback
    return app.routes.resolve(request.path, request.method, request.script_name)


def _describe_route(route: Route, app: Atila) -> dict[str, Any]:
    return {
        "methods": list(route.methods) if route.methods else None,
        "content_types": list(route.content_types) if route.content_types else None,
        "options": dict(route.options),
        "mntopt": dict(app.mntopt),
        "route": route.pattern,
    }


def _route_and_call(
    app: Atila, was: Was, resolved: Match | Redirect | Blocked | NoMatch | None = None
) -> Any:
    request = was.request
    if resolved is None:
        resolved = _resolve(app, request)
    if isinstance(resolved, Redirect):
        location = quote(resolved.location.encode("latin-1", "replace"), safe="/")
        if request.query_string:
            location += "?" + request.query_string
        return Built("301 Moved Permanently", [("Location", location)])
    if isinstance(resolved, Blocked):
        raise HTTPError(resolved.status)
    if isinstance(resolved, NoMatch):
        if request.xmlrpc is not None:
            raise HTTPError(404, f"no such method: {request.xmlrpc[0]}")
        if resolved.allowed:
            raise NotAllowed(list(resolved.allowed))
        raise HTTPError(404)
    route = resolved.route
    endpoint = route.endpoint
    request.route = route
    request.routed = route.handler
    request.routable = partial(_describe_route, route, app)  # made when read
    request.PARAMS = AttrDict(resolved.params)
    request.DEFAULT = AttrDict(endpoint.signature.defaults)
    if request.method == "OPTIONS":
        status, headers = options_response(
            policy_for(app, route.options), request.headers, route.allowed_methods()
        )
        return Built(status, headers)
    if request.xmlrpc is not None:
        names = endpoint.signature.names
        params = request.xmlrpc[1]
        if len(params) > len(names):
            raise ParameterError("params", f"{request.xmlrpc[0]} takes {len(names)} parameters")
        request.set_data(dict(zip(names, params, strict=False)))
    elif route.content_types is not None and (
        request.get_content_type() or request.method in ("POST", "PUT", "PATCH")
    ):
        if not route.accepts_content_type(request.get_content_type()):
            raise HTTPError(415, f"unsupported content type: {request.get_content_type()!r}")
    authenticate_route(app, was, route)
    if app.hooks:
        return app.hooks.run(was, lambda: call_endpoint(was, endpoint))
    return call_endpoint(was, endpoint)


# -- errors --------------------------------------------------------------------


def _unhandled(app: Atila, was: Was, exc_info: Any) -> Any:
    """Log an unexpected exception and answer 500."""
    app.logger.error(
        "unhandled exception in %s %s", was.request.method, was.request.uri, exc_info=exc_info
    )
    return _error_result(app, was, HTTPError(500), exc_info)


def _error_result(app: Atila, was: Was, exc: HTTPError, exc_info: Any) -> Any:
    """The error handler's content for ``exc``, or the default error page."""
    request = was.request
    if exc.code < 400:  # NotModified (304) from set_etag/set_mtime, or a raised redirect
        return Built(exc.status, list(exc.headers))
    if request.xmlrpc is not None:
        headers, body = xmlrpc.dump_fault(exc.code, exc.detail or exc.message)
        return Built("200 OK", headers[:1], body)
    info = error_info(
        exc, request.uri, debug=app.debug, exc_info=exc_info if exc.code >= 500 else None
    )
    handler = app.error_handlers.get(exc.code, app.error_handlers.get(None))
    if handler is not None:
        fresh = responses.Response(was.response.context)
        fresh.set_status(exc.status)
        for name, value in exc.headers:
            fresh.set_header(name, value)
        was.response = fresh
        try:
            return handler(was, info)
        except Exception:  # noqa: BLE001 - a broken error handler must not hide the error
            app.logger.error("error handler %r failed", handler, exc_info=True)
    return _default_error(request, exc, info, exc_info)


def _default_error(
    request: Request, exc: HTTPError, info: dict[str, Any], exc_info: Any = None
) -> Built:
    as_json = wants_json(request.headers.get("accept", ""))
    content_type, body = default_error_body(info, as_json, exc_info, request.method)
    return Built(exc.status, [*exc.headers, ("Content-Type", content_type)], body)


# -- the response ----------------------------------------------------------------


def _context(app: Atila, environ: dict[str, Any]) -> responses.ResponseContext:
    config = app.config
    return responses.ResponseContext.from_environ(
        environ,
        bool(app.debug),
        config["JSON_ENCODER"],
        bool(config["PRETTY_JSON"]),
        config.get("STATIC_ROOT"),
        config["STATIC_URL"],
    )


def _render_error_of(
    app: Atila, was_ref: weakref.ref[Was], status: str, detail: str | None, exc_info: Any
) -> Any:
    """:func:`_render_error` for the request behind ``was_ref`` (still alive while rendering)."""
    was = was_ref()
    if was is None:
        raise RuntimeError("the request has ended")
    return _render_error(app, was, status, detail, exc_info)


def _render_error(app: Atila, was: Was, status: str, detail: str | None, exc_info: Any) -> Any:
    """Body of an error response returned without one (``was.response("404 Not Found")``).

    The app's error handler for the status answers when there is one; else
    the default page.  ``exc_info`` given to ``was.response`` shows the
    traceback even when debug is off (spec "Response").
    """
    request = was.request
    error = HTTPError(status, detail=detail)
    info = error_info(error, request.uri, debug=bool(app.debug or exc_info), exc_info=exc_info)
    handler = app.error_handlers.get(error.code, app.error_handlers.get(None))
    if handler is not None:
        try:
            content = handler(was, info)
        except Exception:  # noqa: BLE001 - a broken error handler must not hide the error
            app.logger.error("error handler %r failed", handler, exc_info=True)
        else:
            if not isinstance(content, responses.Response):
                return content
    if wants_json(request.headers.get("accept", "")):
        return responses.API(error_payload(info))
    return error_html(info, exc_info if app.debug else None, request.method)


def _build(app: Atila, was: Was, result: Any) -> WSGIResult:
    """Turn a handler's return value into status, headers and body."""
    request = was.request
    if isinstance(result, Built):
        return result.wsgi()
    if request.xmlrpc is not None and not isinstance(result, responses.Response):
        headers, body = xmlrpc.dump_result(result)
        return "200 OK", headers, [body]
    if app.expose_spec and isinstance(result, responses.API):
        route = request.route
        if route is not None and request.get_remote_addr().startswith("127.0.0."):
            result["__spec__"] = app.describe(route, request)
    return responses.build_response(result, was.response, was.response.context)


def _finish(app: Atila, was: Was, result: Any) -> WSGIResult:
    request = was.request
    try:
        status, headers, body = _build(app, was, result)
        cookies = request.security.response_headers(int(status[:3]))
        if cookies:
            headers = [*headers, *cookies]
    except Exception as exc:  # noqa: BLE001 - a response that cannot be built is an error
        status, headers, body = _build_error(app, was, exc, sys.exc_info())
    origin = request.env.get("HTTP_ORIGIN")
    if origin and request.method != "OPTIONS":
        route = request.route
        policy = policy_for(app, route.options if route is not None else {})
        headers = [*headers, *policy.response_headers(origin)]
    return status, headers, body


def _build_error(app: Atila, was: Was, exc: Exception, exc_info: Any) -> WSGIResult:
    """The response for an error raised while building a response."""
    request = was.request
    error_of = http_error_of(exc)
    if error_of is not None:
        error = error_of
    else:
        app.logger.error("cannot build the response of %s", request.uri, exc_info=exc_info)
        error = HTTPError(500)
    try:
        return _build(app, was, _error_result(app, was, error, exc_info))
    except Exception:  # noqa: BLE001 - last resort: the default error page always works
        app.logger.error("cannot build the error response of %s", request.uri, exc_info=True)
        info = error_info(error, request.uri, debug=app.debug, exc_info=exc_info)
        return _default_error(request, error, info, exc_info).wsgi()
