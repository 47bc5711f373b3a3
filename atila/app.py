"""``Atila``: the application object, a PEP 3333 WSGI callable.

It owns the app's options and configuration (spec "Core App Options",
"Default App Configuration", "Access Atila App"), the registration
decorators (routes, inspections, hooks, autoruns, error handlers) and the two
engine hooks of :mod:`skitai.types`: ``has_route`` (mount fall-through) and
``apply_preference`` (runtime preference).  Handling a request is
:func:`atila.dispatch.handle`.

Setup is frozen once the app has answered its first request: registering a
route, hook or handler after that raises ``RuntimeError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from atila.composition import Composition
from atila.corequests import DeferredResponse, setup_sqlphile
from atila.coroutines import mark_coroutine
from atila.dispatch import handle, handle_on_loop
from atila.endpoint import Endpoint, pipe_endpoint
from atila.hooks import FileModified, RequestHooks
from atila.parameters import Inspection
from atila.permissions import SecurityDecorators
from atila.request import Request
from atila.routing import Route, RouteTable, compile_route
from atila.security import AppSecurity
from atila.storage import AttrDict, RequestNamespace, SharedStore
from atila.templates import TemplateEngine
from atila.urls import URLBuilder
from atila.was import Was, current_was
from atila.websocket import websocket_route
from skitai.server.websocket import WS_CHANNEL

__all__ = ["DEFAULT_CONFIG", "Atila"]

Handler = Callable[..., Any]
NameList = Iterable[str] | str | None

#: Environ key a server in development mode sets to True (Skitai's ``--devel``):
#: the app then runs with ``debug`` on, as if ``app.debug = True``.
DEVEL_ENVIRON_KEY = "skitai.devel"

#: ``app.config`` defaults (spec "Default App Configuration").
DEFAULT_CONFIG: dict[str, Any] = {
    "MAX_UPLOAD_SIZE": 256 * 1024 * 1024,
    "STATIC_URL": "/",
    "MEDIA_URL": "/media/",
    "MINIFY_HTML": None,
    "JSON_ENCODER": "utcoffset",
    "PRETTY_JSON": False,
    #: seconds between ``@app.maintain`` ticks
    "MAINTAIN_INTERVAL": 60,
}


class Atila(SecurityDecorators, Composition):
    """An Atila application: ``app = Atila(__name__)``; mount it or call it as WSGI.

    Options (plain attributes, all overridable by a ``skitai.preference``):
    ``debug``, ``use_reloader``, ``securekey``, ``session_timeout``,
    ``authenticate``, ``authorization``, ``realm``, ``users``,
    ``access_control_allow_origin``, ``access_control_max_age``,
    ``expose_spec``, ``enable_namespace``.
    """

    def __init__(self, import_name: str) -> None:
        self.import_name = import_name
        #: Show tracebacks to clients (HTML page, or JSON for JSON clients).  Turned
        #: on by a server in development mode (``environ["skitai.devel"]``, ``--devel``).
        self.debug: bool = False
        self.use_reloader: bool = False
        #: this worker's open WebSocket connections (set by the first WebSocket upgrade)
        self.websocket_clients: Any = None
        self.securekey: str | None = None
        self.session_timeout: int | None = None
        self.authenticate: str | bool | None = None
        self.authorization: str | None = None
        self.realm: str | None = None
        self.users: Any = {}
        #: Security handlers and state (see atila.security, atila.permissions)
        self.security = AppSecurity()
        self.access_control_allow_origin: list[str] | str | None = None
        self.access_control_max_age: int = 0
        #: Add ``__spec__`` to API responses for clients on 127.0.0.x.
        self.expose_spec: bool = False
        self.enable_namespace: bool = True
        self.config = AttrDict(DEFAULT_CONFIG)
        #: Global app namespace (thread-safe).
        self.g = SharedStore()
        #: Thread-safe app storage (spec "App Storage").
        self.store = SharedStore()
        #: Current request namespace, valid only during a request.
        self.r = RequestNamespace()
        self.routes = RouteTable()
        self.urls = URLBuilder(self.routes)
        self.hooks = RequestHooks()
        #: ``{status code: handler}``; key None is the default error handler.
        self.error_handlers: dict[int | None, Handler] = {}
        #: Jinja2/Chameleon environments and the template search path (atila.templates).
        self.templates = TemplateEngine(self)
        self.logger = logging.getLogger(f"atila.app.{import_name}")
        self._endpoints: dict[Handler, Endpoint] = {}
        self._serving = False
        self._mount_point = ""
        self._preference: Any = None
        #: services, events, lifecycle (atila.composition)
        self._init_composition()

    def __repr__(self) -> str:
        return f"<Atila {self.import_name!r} routes={len(self.routes)}>"

    # -- WSGI and engine hooks -----------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer one WSGI request."""
        if self._successor is not None:  # the app's module was reloaded
            return self.newest()(environ, start_response)
        if not self.debug and environ.get(DEVEL_ENVIRON_KEY):
            self.debug = True  # the server runs in development mode
        if not self.lifecycle.started:
            self.lifecycle.start(None)
        self._serving = True
        self._mount_point = environ.get("SCRIPT_NAME", "")
        outcome = handle(self, environ)
        if isinstance(outcome, DeferredResponse):  # waiting for corequests
            return outcome.bind(start_response)
        status, headers, body = outcome
        start_response(status, headers)
        return body

    def call_on_loop(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer on the engine's event loop (:class:`skitai.types.LoopCallableApp`) when
        the route's handler never blocks; else None: the engine calls the app on a
        handler thread (see :mod:`atila.onloop`)."""
        if self._successor is not None:
            return self.newest().call_on_loop(environ, start_response)
        if not self.lifecycle.started:  # starting may block: not on the loop
            return None
        if not self.debug and environ.get(DEVEL_ENVIRON_KEY):
            self.debug = True
        self._serving = True
        self._mount_point = environ.get("SCRIPT_NAME", "")
        outcome = handle_on_loop(self, environ)
        if outcome is None:
            return None
        if isinstance(outcome, DeferredResponse):
            return outcome.bind(start_response)
        status, headers, body = outcome
        start_response(status, headers)
        return body

    def coroutine(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Make a generator handler a coroutine (spec "Generator Based Coroutine"):
        ``task = yield was.db(...).execute()`` waits without holding a thread."""
        return mark_coroutine(func)

    def setup_sqlphile(self, engine: str = "*postgresql", directory: str | None = None) -> Any:
        """``was.sql`` in ``engine``'s dialect (``skitai.DB_PGSQL`` or ``DB_SQLITE3``),
        with the SQL maps of the app's ``sqlmaps/`` directory (spec "Using SQL Map")."""
        return setup_sqlphile(self, engine, directory)

    def has_route(self, path: str) -> bool:
        """True when a route (of any method) serves ``path`` (relative to the mount point)."""
        if self._successor is not None:
            return bool(self.newest().has_route(path))
        if not self.lifecycle.started:
            self.lifecycle.start(None)
        return self.routes.has_route(path)

    def yields_to_static(self, path: str) -> bool:
        """True when only a ``"/<path:p>"`` route answers ``path``: a static file at the
        same mount point is served first (the spec's VueJS example; skitai's mount table)."""
        if self._successor is not None:
            return bool(self.newest().yields_to_static(path))
        if not self.lifecycle.started:
            self.lifecycle.start(None)
        return self.routes.yields_to_static(path)

    def apply_preference(self, pref: Any) -> None:
        """Take a ``skitai.preference``: its attributes become app attributes, its config
        updates ``app.config`` (``STATIC_ROOT``, ``STATIC_URL``, ``MEDIA_ROOT`` ...)."""
        self._preference = pref
        options = pref.options() if callable(getattr(pref, "options", None)) else {}
        for name, value in options.items():
            if name.startswith("_") or callable(getattr(type(self), name, None)):
                self.logger.warning("preference %r ignored: it names an Atila method", name)
                continue
            setattr(self, name, value)
        config = getattr(pref, "config", None)
        if config:
            self.config.update(config)
        self.templates.use_packages(getattr(pref, "extended", ()), getattr(pref, "overridden", ()))
        for package in getattr(pref, "extended", ()):
            self.extends(package)
        for package in getattr(pref, "overridden", ()):
            self.overrides(package)

    @property
    def mntopt(self) -> dict[str, Any]:
        """Mount options of the app (``module_name``, ``point``)."""
        return {"module_name": self.import_name, "point": self._mount_point or "/"}

    @property
    def was(self) -> Was:
        """The current request's ``was`` (raises outside a request)."""
        return current_was()

    def test_client(self, **options: Any) -> Any:
        """An in-process client for this app (:class:`skitai.testing.Client`)."""
        from skitai.testing import Client

        return Client(self, **options)

    # -- registration ----------------------------------------------------------

    def _check_setup(self, what: str) -> None:
        if self._serving and not self.services.loading:
            raise RuntimeError(f"cannot {what} after the app started serving requests")

    def _endpoint(self, func: Handler) -> Endpoint:
        endpoint = self._endpoints.get(func)
        if endpoint is None:
            endpoint = self._endpoints[func] = Endpoint.of(func)
        return endpoint

    def route(
        self,
        pattern: str,
        methods: Iterable[str] | str | None = None,
        content_types: Iterable[str] | str | None = None,
        **options: Any,
    ) -> Callable[[Handler], Handler]:
        """Route ``pattern`` to the decorated handler (spec "Routing").

        ``methods`` limits the HTTP methods (405 with ``Allow`` otherwise;
        None allows all), ``content_types`` the request body types (415);
        other ``options`` (``access_control_allow_origin`` ...) are kept on the
        route.  ``nothread=True`` runs a ``def`` handler that never blocks on the
        engine's event loop (:mod:`atila.onloop`).  A handler may carry several routes.
        """
        method_list = [methods] if isinstance(methods, str) else methods
        type_list = [content_types] if isinstance(content_types, str) else content_types

        def decorator(func: Handler) -> Handler:
            self._check_setup("add a route")
            endpoint = self._endpoint(func)
            unit = self.services.current
            route = compile_route(
                unit.join(pattern),
                func,
                endpoint=endpoint,
                defaults=endpoint.signature.defaults,
                methods=list(method_list) if method_list else None,
                content_types=list(type_list) if type_list else None,
                options={**unit.route_options, **options},
            )
            self.services.add_route(route, func)
            return func

        return decorator

    def websocket(
        self,
        spec: int = WS_CHANNEL,
        timeout: float | None = 60,
        onopen: Handler | None = None,
        onclose: Handler | None = None,
    ) -> Callable[[Handler], Handler]:
        """Make the decorated handler a WebSocket endpoint (spec "More About Websocket").

        Put it under ``@app.route``; see :mod:`atila.websocket` for ``spec``
        (``skitai.WS_CHANNEL | skitai.WS_THREAD`` ...), ``timeout`` (idle
        seconds) and the ``onopen(was)``/``onclose(was)`` callbacks.
        """
        self._check_setup("add a WebSocket route")
        return websocket_route(self, spec, timeout, onopen, onclose)

    def websocket_send(self, client_id: str, message: str | bytes) -> bool:
        """Send ``message`` to WebSocket client ``client_id``, on whichever worker or host.

        True when the client's connection was open and took the message;
        False when it closed, the id is unknown, or the other worker did not
        answer within the hub's timeout (2 s) or the hub is down (logged).
        From the event loop (``WS_NOTHREAD``) a push to another worker cannot
        wait: True there means handed to the hub.
        """
        context = self.lifecycle.context
        clients = getattr(context, "websocket_clients", None)
        if clients is None:  # not under Skitai's workers: the registry the upgrade named
            clients = self.websocket_clients
        return clients is not None and client_id is not None and clients.send(client_id, message)

    def unroute(self, pattern: str, status: int | str = 404) -> None:
        """Block every path matching glob ``pattern`` (``"/examples/*"``) with ``status``."""
        self._check_setup("unroute")
        self.services.add_unroute(pattern, status)

    def inspect(
        self,
        scope: str = "ARGS",
        required: NameList = None,
        ints: NameList = None,
        floats: NameList = None,
        emails: NameList = None,
        uuids: NameList = None,
        nones: NameList = None,
        lists: NameList = None,
        strings: NameList = None,
        booleans: NameList = None,
        dicts: NameList = None,
        oneof: Any = None,
        manyof: Any = None,
        notags: NameList = None,
        safes: NameList = None,
        **kargs: Any,
    ) -> Callable[[Handler], Handler]:
        """Validate and convert the handler's parameters (spec "Testing Parameters").

        Failures answer 400 with a JSON body naming the parameter.
        """
        rules = {
            "required": required, "ints": ints, "floats": floats, "emails": emails,
            "uuids": uuids, "nones": nones, "lists": lists, "strings": strings,
            "booleans": booleans, "dicts": dicts, "oneof": oneof, "manyof": manyof,
            "notags": notags, "safes": safes, **kargs,
        }  # fmt: skip
        inspection = Inspection(scope, **rules)

        def decorator(func: Handler) -> Handler:
            self._check_setup("add an inspection")
            self._endpoint(func).add_inspection(inspection, rules)
            return func

        return decorator

    #: Alias of :meth:`inspect` (spec: ``@app.require``).
    require = inspect

    def run_before(self, *funcs: Handler) -> Callable[[Handler], Handler]:
        """Call ``funcs(was)`` before the handler; one returning content answers instead."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("add autoruns")
            endpoint = self._endpoint(func)
            endpoint.before[:0] = funcs
            return func

        return decorator

    def run_after(self, *funcs: Handler) -> Callable[[Handler], Handler]:
        """Call ``funcs(was)`` after the handler returned (their results are ignored)."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("add autoruns")
            endpoint = self._endpoint(func)
            endpoint.after[:0] = funcs
            return func

        return decorator

    def if_file_modified(
        self, path: str, func: Handler, interval: float = 1.0
    ) -> Callable[[Handler], Handler]:
        """Before the handler, call ``func(was, path)`` when file ``path`` changed
        (checked at most every ``interval`` seconds; spec "Define Conditional Prework")."""
        return self.run_before(FileModified(path, func, interval))

    def before_request(self, func: Handler) -> Handler:
        """Register ``func(was)``, run before each routed handler; content it returns answers."""
        self._check_setup("add a hook")
        self._own_append(self.hooks.before, func)
        return func

    def finish_request(self, func: Handler) -> Handler:
        """Register ``func(was)``, run after a handler that succeeded."""
        self._check_setup("add a hook")
        self._own_append(self.hooks.finish, func)
        return func

    def failed_request(self, func: Handler) -> Handler:
        """Register ``func(was, exc_info)``, run when the handler raised; content answers."""
        self._check_setup("add a hook")
        self._own_append(self.hooks.failed, func)
        return func

    def teardown_request(self, func: Handler) -> Handler:
        """Register ``func(was)``, always run last."""
        self._check_setup("add a hook")
        self._own_append(self.hooks.teardown, func)
        return func

    def default_error_handler(self, func: Handler) -> Handler:
        """Register ``func(was, error)`` answering every error without its own handler."""
        self._check_setup("add an error handler")
        self.error_handlers[None] = func
        return func

    def error_handler(self, code: int) -> Callable[[Handler], Handler]:
        """Register ``func(was, error)`` answering errors with status ``code``."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("add an error handler")
            self.error_handlers[int(code)] = func
            return func

        return decorator

    # -- templates (spec "Working With Jinja2 Template Engine") -------------------

    @property
    def jinja_env(self) -> Any:
        """The app's ``jinja2.Environment`` (built on first use)."""
        return self.templates.jinja_env

    def jinja_overlay(
        self,
        variable_start_string: str = "{{",
        variable_end_string: str = "}}",
        block_start_string: str = "{%",
        block_end_string: str = "%}",
        comment_start_string: str = "{#",
        comment_end_string: str = "#}",
        line_statement_prefix: str | None = "%",
        line_comment_prefix: str | None = "%%",
        **kargs: Any,
    ) -> None:
        """Rebuild ``jinja_env`` with other delimiters and Jinja2 ``Environment`` options.

        Note the spec's defaults: ``%`` starts a line statement and ``%%`` a
        line comment unless given as None.
        """
        self._check_setup("change the Jinja2 environment")
        self.templates.overlay(
            variable_start_string=variable_start_string,
            variable_end_string=variable_end_string,
            block_start_string=block_start_string,
            block_end_string=block_end_string,
            comment_start_string=comment_start_string,
            comment_end_string=comment_end_string,
            line_statement_prefix=line_statement_prefix,
            line_comment_prefix=line_comment_prefix,
            **kargs,
        )

    def add_jinja_ext(self, extension: str | type) -> None:
        """Add a Jinja2 extension (``"jinja2.ext.i18n"``) to ``jinja_env``."""
        self._check_setup("add a Jinja2 extension")
        self.templates.add_extension(extension)

    def template_global(self, name: str | None = None) -> Callable[[Handler], Handler]:
        """Make ``func(was, ...)`` callable in templates as ``name(...)`` (``was`` is passed
        by Atila, not by the template)."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("add a template global")
            self.templates.add_global(name or func.__name__, func)
            return func

        return decorator

    def template_filter(self, name: str | None = None) -> Callable[[Handler], Handler]:
        """Make ``func`` a Jinja2 filter named ``name``."""

        def decorator(func: Handler) -> Handler:
            self._check_setup("add a template filter")
            self.templates.add_filter(name or func.__name__, func)
            return func

        return decorator

    # -- URLs and piping ---------------------------------------------------------

    def build_url(self, target: Any, *args: Any, **kwargs: Any) -> str:
        """``was.urlfor`` outside a request, or for another app (``was.apps["x"].build_url``).

        The mount point is the current request's when it is one of this app,
        else the point the engine mounted the app at, else the last request's.
        """
        try:
            was = current_was()
            if was.app is not self:
                raise LookupError
            script_name = was.request.script_name
        except (RuntimeError, LookupError):
            point = self.mount_point()
            script_name = self._mount_point if point is None else point.rstrip("/")
        return self.urls.urlfor(target, *args, script_name=script_name, **kwargs)

    def find_endpoint(self, target: Any) -> Endpoint:
        """The endpoint of a handler function or name; ``LookupError`` when unknown."""
        if callable(target):
            return self._endpoints.get(target) or Endpoint.of(target)
        routes = self.routes.routes_for(target)
        if not routes:
            raise LookupError(f"no handler named {target!r}")
        endpoint: Endpoint = routes[0].endpoint
        return endpoint

    def pipe(self, was: Was, target: Any, *args: Any, **kwargs: Any) -> Any:
        """``was.pipe``: call handler ``target`` with ``args``/``kwargs`` and return its result."""
        return pipe_endpoint(was, self.find_endpoint(target), args, kwargs)

    def describe(self, route: Route, request: Request) -> dict[str, Any]:
        """The ``__spec__`` of ``route`` for ``expose_spec`` (spec "Exposing API Specification")."""
        endpoint: Endpoint = route.endpoint
        signature = endpoint.signature
        requirements: dict[str, Any] = {}
        for rules in endpoint.rules:
            described = dict(rules)
            requirements.setdefault(described.pop("scope"), {}).update(described)
        return {
            "id": route.handler.__name__,
            "routeopt": {
                "methods": list(route.methods) if route.methods else None,
                "route": route.pattern,
                "args": list(signature.names),
                "keywords": signature.var_keyword,
                "urlargs": len(route.params),
                "mntopt": {"module_name": self.import_name, "point": request.script_name or "/"},
            },
            "auth_requirements": [],
            "parameter_requirements": requirements,
            "doc": route.handler.__doc__,
            "current_request": {
                "http_method": request.method,
                "http_version": request.version,
                "uri": request.uri,
            },
        }
