"""Service modules: ``app.mount``, their hooks, route names and in-place reloading.

Spec sections "Resource Structure For Larger App", "Mounting Resources:
Making Simpler & Modular App", "URL Building with Namespace", "Unmounting
Resources", "Inheritance and Overriding" and "Standard package structure".

A *service* is a module (or package) with any of these hooks::

    def __setup__(app, mntopt): ...   # mount sub services here: app.mount("/foo", foo)
    def __mount__(app, mntopt): ...   # register routes, hooks, events
    def __umount__(app): ...          # release resources (before a reload, at shutdown)

(``mntopt`` is optional in each.)  ``app.mount(point, module, **options)``
makes a :class:`ServiceUnit`; routes registered while its hooks run are
prefixed with the unit's point and owned by the unit, as are the hooks,
event handlers and maintenance jobs registered then (through
:meth:`ServiceRegistry.own`), so reloading the module can take them all
back.  The units form a tree (a package's ``__setup__`` mounts its
children); the app's module-level routes belong to the root unit.

The live :class:`~atila.routing.RouteTable` is rebuilt from the units, in
priority order: packages given to ``overrides`` first, then the app's own
routes and services, then packages given to ``extends`` — so a route of the
app shadows an extended package's route with the same pattern, and an
overriding package's route shadows the app's.  A fully qualified handler name
(``"boards.index.search"``, ``"regist.login"`` with ``ns="regist"``) claimed
by two handlers of the same priority raises :class:`DuplicateNameError`; a
short name (``"search"``) claimed twice is left out (use the full name).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from atila.errors import HTTPError
from atila.responses import File
from atila.routing import Route, RouteTable
from atila.urls import URLBuilder, handler_names

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = [
    "RESERVED_OPTIONS",
    "DuplicateNameError",
    "ServiceRegistry",
    "ServiceUnit",
    "compiles",
    "join_points",
    "modules_at",
    "reload_module",
]

logger = logging.getLogger("atila.services")

#: ``app.mount`` options with a meaning of their own; others are the module's ``__mntopt__``.
RESERVED_OPTIONS = ("ns", "debug_only", "authenticate", "point")
#: Route priorities: packages given to ``overrides``, the app itself, packages given to ``extends``.
TIER_OVERRIDE, TIER_OWN, TIER_EXTEND = 0, 1, 2


class DuplicateNameError(ValueError):
    """Two different handlers claim the same fully qualified name."""


def join_points(prefix: str, point: str) -> str:
    """``join_points("/a", "/b") == "/a/b"``; ``"/"`` and ``""`` add nothing."""
    point = point.strip()
    if point in ("", "/"):
        return prefix
    return prefix.rstrip("/") + "/" + point.strip("/")


def _call_hook(hook: Callable[..., Any], app: Atila, mntopt: dict[str, Any]) -> Any:
    """Call ``hook(app, mntopt)`` or ``hook(app)``, whichever it takes."""
    try:
        params = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):
        return hook(app, mntopt)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_more = any(p.kind is p.VAR_POSITIONAL for p in params)
    return hook(app, mntopt) if len(positional) >= 2 or takes_more else hook(app)


@dataclass(eq=False)
class ServiceUnit:
    """One mounted service module and what it registered."""

    module: ModuleType | None
    point: str
    mntopt: dict[str, Any]
    tier: int = TIER_OWN
    ns: str | None = None
    parent: ServiceUnit | None = None
    #: route options every route of the unit gets (``authenticate``)
    route_options: dict[str, Any] = field(default_factory=dict)
    children: list[ServiceUnit] = field(default_factory=list)
    routes: list[tuple[Route, Callable[..., Any]]] = field(default_factory=list)
    unroutes: list[tuple[str, int | str]] = field(default_factory=list)
    undo: list[Callable[[], None]] = field(default_factory=list)

    def __repr__(self) -> str:
        name = self.module.__name__ if self.module is not None else "<app>"
        return f"<ServiceUnit {name} at {self.point or '/'!r}>"

    def join(self, pattern: str) -> str:
        """The full pattern of a route registered as ``pattern`` in this unit."""
        if not self.point:
            return pattern
        return self.point + (pattern if pattern.startswith("/") or not pattern else "/" + pattern)

    def walk(self) -> Iterator[ServiceUnit]:
        """This unit and every unit below it, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()


class ServiceRegistry:
    """The service units of one app and the route table built from them."""

    def __init__(self, app: Atila) -> None:
        self.app = app
        self.root = ServiceUnit(None, "", {"point": "/"})
        #: the unit receiving registrations (routes, hooks ...) right now
        self.current = self.root
        self.extended: list[ModuleType] = []
        self.overridden: list[ModuleType] = []
        self.ready = False
        #: True while units are being (re)mounted: registration is allowed
        self.loading = False
        self._pending: list[tuple[str, Any, dict[str, Any]]] = []
        self._lock = threading.RLock()

    # -- registration -------------------------------------------------------------

    def units(self) -> list[ServiceUnit]:
        """Every unit, parents first, in mount order."""
        return list(self.root.walk())

    def add_route(self, route: Route, func: Callable[..., Any]) -> None:
        """Record ``route`` in the current unit (and make it live unless a rebuild follows)."""
        self.current.routes.append((route, func))
        if not self.loading:
            self.app.routes.add(route, self.names_for(self.current, func))

    def add_unroute(self, pattern: str, status: int | str) -> None:
        """Record an ``app.unroute`` in the current unit."""
        pattern = self.current.join(pattern)
        self.current.unroutes.append((pattern, status))
        if not self.loading:
            self.app.routes.unroute(pattern, status)

    def own(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` when the current service unit is unmounted (nothing for the app itself)."""
        if self.current is not self.root:
            self.current.undo.append(undo)

    def names_for(self, unit: ServiceUnit, func: Callable[..., Any]) -> tuple[str, ...]:
        """The names ``was.urlfor``/``was.pipe`` accept for ``func`` of ``unit`` (short first)."""
        short = getattr(func, "__name__", "")
        if unit.ns:
            full: tuple[str, ...] = (f"{unit.ns}.{short}",)
        else:
            full = tuple(n for n in handler_names(func) if n != short)
        if not self.app.enable_namespace:
            return (short,) if not unit.ns else full
        return (short, *full)

    # -- mounting -------------------------------------------------------------------

    def mount(self, point: str, target: Any, options: dict[str, Any]) -> ServiceUnit | None:
        """``app.mount``: mount now when the app is being set up, else at setup time."""
        if not self.ready and not self.loading:
            self._pending.append((point, target, options))
            return None
        return self._mount(point, target, options, self.current, self.current.tier)

    def _mount(
        self, point: str, target: Any, options: dict[str, Any], parent: ServiceUnit, tier: int
    ) -> ServiceUnit | None:
        options = dict(options)
        point = options.pop("point", point)
        if options.get("debug_only") and not self.app.debug:
            return None
        if isinstance(target, str):
            self._mount_directory(join_points(parent.point, point), target)
            return None
        if not isinstance(target, ModuleType):
            raise TypeError(f"app.mount() takes a module or a directory, got {target!r}")
        custom = {k: v for k, v in options.items() if k not in RESERVED_OPTIONS}
        full_point = join_points(parent.point, point)
        mntopt = {**options, "point": full_point or "/", "module_name": target.__name__}
        route_options = dict(parent.route_options)
        if options.get("authenticate"):
            route_options["authenticate"] = options["authenticate"]
        target.__mntopt__ = custom  # type: ignore[attr-defined] - spec: module.__mntopt__
        unit = ServiceUnit(
            target, full_point, mntopt, tier, options.get("ns"), parent, route_options
        )
        parent.children.append(unit)
        self._run(unit)
        return unit

    def _run(self, unit: ServiceUnit) -> None:
        """Call the unit's ``__setup__`` then ``__mount__`` with registrations going to it."""
        assert unit.module is not None
        with self._into(unit):
            for name in ("__setup__", "__mount__"):
                hook = getattr(unit.module, name, None)
                if callable(hook):
                    _call_hook(hook, self.app, unit.mntopt)

    @contextmanager
    def _into(self, unit: ServiceUnit) -> Iterator[None]:
        previous, loading = self.current, self.loading
        self.current, self.loading = unit, True
        try:
            yield
        finally:
            self.current, self.loading = previous, loading

    def _mount_directory(self, point: str, directory: str) -> None:
        """Serve the files of ``directory`` below ``point`` (spec "Mounting Directories")."""
        root = os.path.realpath(directory)

        def serve_file(path: str) -> File:
            full = os.path.realpath(os.path.join(root, path))
            if not full.startswith(root + os.sep) or not os.path.isfile(full):
                raise HTTPError(404)
            return File(full)

        serve_file.__name__ = f"directory_{abs(hash(point))}"
        self.app.route(point.rstrip("/") + "/<path:path>", methods=["GET"])(serve_file)

    def setup(self) -> None:
        """Mount everything: overriding packages, the app's package, ``app.mount`` calls,
        extended packages; then build the route table."""
        with self._lock:
            if self.ready:
                return
            root_routes = len(self.root.routes)
            self.loading = True
            try:
                for package in self.overridden:
                    self._mount("/", package, {}, self.root, TIER_OVERRIDE)
                for point, target, options in self._pending:
                    self._mount(point, target, options, self.root, TIER_OWN)
                home = self.home_package()
                home_hooks = home is not None and (
                    hasattr(home, "__setup__") or hasattr(home, "__mount__")
                )
                if home_hooks:
                    self._mount("/", home, {}, self.root, TIER_OWN)
                elif not self._pending:
                    for module in self.implicit_services():
                        self._mount("/", module, {}, self.root, TIER_OWN)
                for package in self.extended:
                    self._mount("/", package, {}, self.root, TIER_EXTEND)
            finally:
                self.loading = False
            self.ready = True
            if self.root.children or len(self.root.routes) != root_routes:
                self.rebuild()

    def implicit_services(self) -> list[ModuleType]:
        """Imported service modules to mount at ``/`` when the app mounts nothing itself.

        Spec "Implicit Mount Services On Your App" (and the deprecated ``auto_mount``):
        an app that never calls ``app.mount()`` (and whose package has no
        ``__setup__``/``__mount__``) gets every *imported* module of the ``services``
        directory beside its module that has a ``__setup__`` or ``__mount__`` hook; a
        package with hooks is mounted instead of its sub modules (its ``__setup__``
        mounts those).
        """
        module = sys.modules.get(self.app.import_name)
        file = getattr(module, "__file__", None)
        if not file:
            return []
        directory = os.path.join(os.path.dirname(os.path.abspath(file)), "services") + os.sep
        found = []
        for name, candidate in sorted(list(sys.modules.items()), key=lambda item: item[0]):
            path = getattr(candidate, "__file__", None)
            if not isinstance(candidate, ModuleType) or not path:
                continue
            if not os.path.abspath(path).startswith(directory):
                continue
            if not (callable(getattr(candidate, "__mount__", None))
                    or callable(getattr(candidate, "__setup__", None))):  # fmt: skip
                continue
            if any(name.startswith(chosen.__name__ + ".") for chosen in found):
                continue
            found.append(candidate)
        return found

    def home_package(self) -> ModuleType | None:
        """The package holding the app (``myapp`` for ``Atila("myapp.wsgi")``), if any."""
        module = sys.modules.get(self.app.import_name)
        if module is None or module.__name__ == "__main__":
            return None
        if hasattr(module, "__path__"):
            return module
        parent = module.__name__.rpartition(".")[0]
        return sys.modules.get(parent) if parent else None

    def resource_dirs(self, kind: str) -> list[str]:
        """Existing ``<package>/<kind>`` directories in search order (``"templates"``,
        ``"static"``): overriding packages, the app, extended packages."""
        module = sys.modules.get(self.app.import_name)
        own = [self.home_package() or module]
        found = []
        for package in [*self.overridden, *own, *self.extended]:
            file = getattr(package, "__file__", None)
            if file:
                directory = os.path.join(os.path.dirname(os.path.abspath(file)), kind)
                if os.path.isdir(directory) and directory not in found:
                    found.append(directory)
        return found

    # -- the route table ---------------------------------------------------------------

    def rebuild(self) -> None:
        """Build a new route table from every unit and make it live (one assignment)."""
        ordered = sorted(self.units(), key=lambda unit: unit.tier)  # stable: mount order kept
        claims: dict[str, tuple[Callable[..., Any], int, Route]] = {}
        ambiguous: set[str] = set()
        accepted: list[tuple[Route, list[str]]] = []
        # A bare function name is the *full* name of a handler of the app's own module
        # and of the ``services`` package itself (spec: "services" is stripped), so it
        # beats the same name used as a short alias by a handler of a sub module.
        owners: dict[str, set[Callable[..., Any]]] = {}
        if self.app.enable_namespace:
            for unit in ordered:
                for _route, func in unit.routes:
                    names = self.names_for(unit, func)
                    if names and not unit.ns and (unit is self.root or len(names) == 1):
                        owners.setdefault(names[0], set()).add(func)
        primary = {name: next(iter(funcs)) for name, funcs in owners.items() if len(funcs) == 1}
        for unit in ordered:
            for route, func in unit.routes:
                names = []
                for name in self.names_for(unit, func):
                    if name in primary and primary[name] is not func and "." not in name:
                        continue  # a short alias of the name another handler owns
                    owner = claims.get(name)
                    if owner is None:
                        claims[name] = (func, unit.tier, route)
                    elif owner[0] is not func:
                        if owner[1] < unit.tier:
                            continue  # overridden by a higher priority package
                        if "." in name or not self.app.enable_namespace:
                            raise DuplicateNameError(
                                f"handler name {name!r} is used by two handlers: "
                                f"{owner[2].pattern!r} and {route.pattern!r}; mount one of "
                                "their modules with ns='...' or rename the function"
                            )
                        ambiguous.add(name)
                    names.append(name)
                accepted.append((route, names))
        table = RouteTable()
        for unit in ordered:
            for pattern, status in unit.unroutes:
                table.unroute(pattern, status)
        for route, names in accepted:
            table.add(route, tuple(n for n in names if n not in ambiguous))
        self.app.routes = table
        self.app.urls = URLBuilder(table)

    # -- unmounting and reloading --------------------------------------------------------

    def umount(self, unit: ServiceUnit) -> None:
        """Call ``__umount__`` of ``unit``'s children then of ``unit``; undo its registrations."""
        for child in reversed(unit.children):
            self.umount(child)
        hook = getattr(unit.module, "__umount__", None)
        if callable(hook):
            try:
                _call_hook(hook, self.app, unit.mntopt)
            except Exception:  # noqa: BLE001 - the others must still be unmounted
                logger.exception("__umount__ of %s failed", unit.module)
        for undo in reversed(unit.undo):
            undo()
        unit.undo.clear()

    def umount_all(self) -> None:
        """Unmount every service unit (worker shutdown, app reload)."""
        with self._lock:
            for unit in reversed(self.root.children):
                self.umount(unit)

    def remount_all(self) -> None:
        """Mount every service again after :meth:`umount_all` (a failed app reload)."""
        with self._lock:
            self.root.children.clear()
            self.ready = False
            self.setup()
            self.rebuild()

    def watched_files(self) -> list[str]:
        """Files whose change reloads a unit: the modules of every unit."""
        files = []
        for unit in self.units():
            file = getattr(unit.module, "__file__", None)
            if file:
                files.append(os.path.realpath(file))
        return files

    def reload(self, paths: set[str]) -> bool:
        """Reload the service modules among ``paths`` in place; True when routes changed.

        A module that does not compile is logged and nothing changes (the old
        version keeps serving).  Otherwise the affected units are unmounted
        (``__umount__`` first), their modules reloaded with ``importlib.reload``
        and mounted again, and a new route table replaces the old one.  A
        reloaded module that fails while importing or mounting is logged and
        its old unit is put back.
        """
        real = {os.path.realpath(p) for p in paths}
        with self._lock:
            changed = modules_at(real)
            if not changed:
                return False
            for module in changed:
                if not compiles(module):
                    return False
            by_module = {id(u.module): u for u in self.units() if u.module is not None}
            if any(id(m) not in by_module for m in changed):
                targets = [u for u in self.root.children]  # a helper changed: remount all
            else:
                changed_ids = {id(m) for m in changed}
                targets = [u for u in self.units() if id(u.module) in changed_ids]
                targets = [u for u in targets if not _has_ancestor_in(u, targets)]
            self.app.lifecycle.emit_reload("before_reload")
            for unit in targets:
                self.umount(unit)
            for module in changed:
                if id(module) not in by_module:
                    reload_module(module)
            for unit in targets:
                self._remount(unit)
            self.rebuild()
            self.app.lifecycle.emit_reload("reloaded")
            self.app.lifecycle.emit_reload("mounted_or_reloaded")
            return True

    def _remount(self, old: ServiceUnit) -> None:
        """Reload ``old``'s module and mount it again in the same place."""
        assert old.module is not None and old.parent is not None
        fresh = ServiceUnit(
            old.module, old.point, old.mntopt, old.tier, old.ns, old.parent, old.route_options
        )
        siblings = old.parent.children
        index = siblings.index(old)
        try:
            reload_module(old.module)
            siblings[index] = fresh
            self._run(fresh)
            logger.info("reloaded %s", old.module.__name__)
        except Exception:  # noqa: BLE001 - a broken edit must not take the app down
            logger.exception("cannot reload %s: the previous version keeps serving", old.module)
            self.umount(fresh)
            siblings[index] = old


def modules_at(paths: set[str]) -> list[ModuleType]:
    """Loaded modules whose source file is one of ``paths``."""
    found = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and module.__name__ != "__main__" and os.path.realpath(file) in paths:
            found.append(module)
    return found


def compiles(module: ModuleType) -> bool:
    """True when ``module``'s source compiles; a syntax error is logged."""
    path = module.__file__ or ""
    try:
        with open(path, "rb") as source:
            compile(source.read(), path, "exec")
    except (SyntaxError, ValueError, OSError) as exc:
        logger.error("not reloading %s: %s (the previous version keeps serving)", path, exc)
        return False
    return True


def reload_module(module: ModuleType) -> None:
    """``importlib.reload`` after dropping the module's cached bytecode.

    The bytecode cache is keyed by the source's mtime (whole seconds) and
    size, so an edit of the same size within a second would load stale code.
    """
    source = getattr(module, "__file__", None)
    if source and source.endswith(".py"):
        try:
            os.remove(importlib.util.cache_from_source(source))
        except (OSError, NotImplementedError, ValueError):
            pass
    importlib.invalidate_caches()
    importlib.reload(module)


def _has_ancestor_in(unit: ServiceUnit, units: list[ServiceUnit]) -> bool:
    parent = unit.parent
    while parent is not None:
        if any(parent is u for u in units):
            return True
        parent = parent.parent
    return False
