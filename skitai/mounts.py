"""Mount points: which app or static directory answers a request path.

``skitai.mount (point, target, [name], pref)`` (seed sections "Atila with
Skitai App Engine" and "Runtime App Preference") lands here.  This module owns

* turning a mount target into a WSGI app or a static directory (see
  :meth:`MountTable.add` for every accepted kind), running the target's
  ``__config__ (pref)`` hook and the app's ``apply_preference`` hook;
* the :class:`MountTable` the server consults once per request:
  :meth:`MountTable.resolve` picks the mount by longest prefix and lets a
  request fall through mounts that share a prefix (an app and a static
  directory both at ``/``).

All the loading and sorting happens at mount time; ``resolve`` only does
string prefix checks and the mounts' ``has_route`` hooks.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from skitai.interfaces import Interface, asgi3, detect_interface
from skitai.mount_targets import (
    Loaded,
    MountError,
    abspath,
    adopt,
    basename_label,
    callable_label,
    describe,
    load_string,
    module_label,
)
from skitai.preference import Preference
from skitai.types import ConfigurableApp, RoutableApp, WSGIApp

if TYPE_CHECKING:
    from skitai.static import StaticFiles

__all__ = [
    "APP_ATTRIBUTES",
    "Mount",
    "MountError",
    "MountTable",
    "normalize_mount_args",
    "normalize_point",
]

#: Attribute names tried, in order, when a module is mounted without an app name.
APP_ATTRIBUTES = ("app", "application")
#: Submodule of a package tried when the package itself has no app attribute
#: (the seed's ``myapp/wsgi.py`` layout).
_APP_SUBMODULE = "wsgi"
_SLASHES = re.compile(r"/{2,}")


def normalize_point(point: str) -> str:
    """Return ``point`` as ``"/"`` or ``"/a/b"``: a leading slash, no trailing one.

    ``"v1/"`` becomes ``"/v1"``, ``""`` becomes ``"/"``; repeated slashes are
    collapsed.  Raises :class:`MountError` for a non-string or a point holding
    ``?`` or ``#``.
    """
    if not isinstance(point, str) or "?" in point or "#" in point:
        raise MountError(f"mount point must be a URL path like '/' or '/v1', got {point!r}")
    cleaned = _SLASHES.sub("/", "/" + point.strip()).rstrip("/")
    return cleaned or "/"


def normalize_mount_args(
    target: Any, *args: Any, name: str | None = None, pref: Preference | None = None
) -> tuple[str | None, Preference | None]:
    """Sort ``skitai.mount``'s optional arguments into ``(name, pref)``.

    The seed calls ``mount (point, target, 'app', pref)``, ``mount (point,
    target, pref)`` and ``mount (point, target, pref, name = 'myapp')``: each
    positional argument after the target is a name (a ``str``) or a
    :class:`~skitai.preference.Preference`, in either order; ``None`` is
    skipped.  Raises :class:`MountError` when one is given twice or has
    another type.
    """
    if len(args) > 2:
        raise MountError(f"mount {describe(target)}: expected at most a name and a preference")
    found: dict[type, Any] = {}
    for value in (*args, name, pref):
        kind = next((t for t in (str, Preference) if isinstance(value, t)), None)
        if kind is None and value is not None:
            raise MountError(
                f"mount {describe(target)}: expected an app name (str) or a Preference, "
                f"got {value!r}"
            )
        if kind in found:
            what = "name" if kind is str else "preference"
            raise MountError(f"mount {describe(target)}: {what} given twice")
        if kind is not None:
            found[kind] = value
    return found.get(str), found.get(Preference)


@dataclass(eq=False)
class Mount:
    """One mount point serving either an app (WSGI or ASGI) or a static directory.

    ``point`` is normalised by :func:`normalize_point`.  Exactly one of
    ``app`` and ``static`` is set.  ``pref`` is the preference the mount was
    made with (``None`` when none was given and no ``__config__`` hook ran).
    ``interface`` says how the engine calls ``app`` (:mod:`skitai.interfaces`):
    ``"wsgi"`` on a handler thread, ``"asgi"`` (an ASGI 3 callable) on the loop.
    """

    point: str
    app: WSGIApp | None
    static: StaticFiles | None
    name: str
    pref: Preference | None = None
    interface: Interface = "wsgi"
    _prefix: str = field(init=False, repr=False)
    _cut: int = field(init=False, repr=False)
    _route: Callable[[str], bool] | None = field(init=False, repr=False)
    _yields: Callable[[str], bool] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.app is None) == (self.static is None):
            raise ValueError("a Mount serves exactly one of an app and a static directory")
        self.point = normalize_point(self.point)
        root = self.point == "/"
        self._prefix = "" if root else self.point + "/"
        self._cut = 0 if root else len(self.point)
        if self.static is not None:
            self._route = self.static.has_wsgi_route
        elif isinstance(self.app, RoutableApp):
            self._route = self.app.has_route
        else:
            self._route = None
        hook = getattr(self.app, "yields_to_static", None) if self.app is not None else None
        self._yields = hook if callable(hook) else None

    def matches(self, path: str) -> bool:
        """Return True when request ``path`` is the point or lies under it (``/`` matches all)."""
        return path.startswith(self._prefix) or path == self.point

    def relative(self, path: str) -> str:
        """Return the part of ``path`` under the point (the WSGI ``PATH_INFO``).

        ``/v1/users`` under ``/v1`` is ``/users``; ``/v1`` itself is ``""``;
        under ``/`` the path is returned unchanged.  ``path`` must match.
        """
        return path[self._cut :]

    def handles(self, path: str) -> bool:
        """Return True when this mount serves request ``path`` (a full path that matches).

        A static mount asks its ``StaticFiles.has_wsgi_route``, an app with a
        ``has_route`` hook (:class:`skitai.types.RoutableApp`) asks the app,
        both with :meth:`relative` ``(path)``; any other app serves everything.
        """
        route = self._route
        return True if route is None else route(path[self._cut :])

    def yields_to_static(self, path: str) -> bool:
        """True when the app serves ``path`` only through a catch-all route and lets a
        static file answer first (optional app hook ``yields_to_static(path)``)."""
        hook = self._yields
        return hook is not None and bool(hook(path[self._cut :]))


class MountTable:
    """The server's mounts, kept sorted for :meth:`resolve`.

    Mounts are added while the server is being set up; :meth:`freeze` (called
    when the server starts) makes the table read-only.  Iterating yields the
    mounts in the order they were added.
    """

    def __init__(self) -> None:
        self._mounts: list[Mount] = []
        self._ordered: tuple[Mount, ...] = ()
        #: app mounts that no later (shorter) mount can also match: resolve() returns
        #: them without asking their has_route hook
        self._solo: frozenset[Mount] = frozenset()
        self._frozen = False

    def __iter__(self) -> Iterator[Mount]:
        return iter(self._mounts)

    def __len__(self) -> int:
        return len(self._mounts)

    @property
    def frozen(self) -> bool:
        """True once :meth:`freeze` was called."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse further mounts: :meth:`add` raises ``RuntimeError`` from now on."""
        self._frozen = True

    def add(
        self,
        point: str,
        target: Any,
        name: str | None = None,
        pref: Preference | None = None,
        *,
        base_dir: str | None = None,
        interface: str = "auto",
    ) -> Mount | list[Mount]:
        """Mount ``target`` at ``point`` and return the new mount(s).

        ``target`` is one of:

        * a WSGI callable (an Atila app or any other) or an ASGI callable
          (Starlette, FastAPI, Django's ``ASGIHandler``): told apart by
          :func:`skitai.interfaces.detect_interface`, unless ``interface``
          (``"wsgi"`` or ``"asgi"``) says which it is;
        * a module or package: its attribute ``name`` when it has one, else
          ``app`` or ``application``, else (a package) the same attributes of
          its ``wsgi`` submodule;
        * ``"path/app.py"``: the file is imported (a file inside a package is
          imported as ``pkg.app`` with the directory above the top package
          put on ``sys.path``; a lone file with its own directory put on
          ``sys.path``), then treated as a module;
        * ``"path/wsgi.py:application"``, ``"pkg/wsgi:application"`` or
          ``"pkg.wsgi:application"``: the module as above, then the named
          attribute (required);
        * ``"myapp"``: an importable module name (also looked up in
          ``base_dir``), unless ``base_dir/myapp`` is a directory that is not
          a package;
        * a directory: served as static files.

        Relative paths are taken from ``base_dir`` (default: the current
        directory).  ``name`` names the app attribute when the module has it;
        otherwise it names the mount (default: derived from the file, module,
        directory or app); like ``skitai.mount``, ``name`` and ``pref`` may be
        given in either order.  Before the app is looked up, the ``__config__
        (pref)`` hooks of the module and, for a submodule, of its package run
        (with a new empty :class:`Preference` when ``pref`` is None), then
        those of the packages given to ``pref.extends``/``pref.overrides``
        (:meth:`Preference.run_package_configs`); then an app with
        ``apply_preference`` (:class:`skitai.types.ConfigurableApp`) gets the
        preference.  A preference given to a static directory also goes to
        the apps already mounted at the same point without one.  The
        preference's ``static_mounts`` are mounted
        too, after the target, and the result is then a list of mounts
        (otherwise the single new mount).

        Raises :class:`MountError` for a bad target and ``RuntimeError``
        once the table is frozen.
        """
        if self._frozen:
            raise RuntimeError("cannot mount after the server started")
        point = normalize_point(point)
        name, pref = normalize_mount_args(target, name, pref)
        base = os.path.abspath(os.path.expanduser(base_dir or os.getcwd()))
        added = [self._append(_build_mount(point, target, name, pref, base, interface))]
        if added[0].static is not None and pref is not None:
            self._lend_pref(added[0], pref)
        configured = added[0].pref
        if configured is not None:
            added.extend(self._add_pref_statics(configured, base))
        return added[0] if len(added) == 1 else added

    def resolve(self, path: str) -> Mount | None:
        """Return the mount that answers request ``path``, or None (a ``404``).

        Candidates are the mounts whose point matches, longest point first
        and, among equal points, in the order they were added.  The first
        candidate that :meth:`Mount.handles` the path wins.  When every
        candidate refuses, the first refusing *app* candidate (the most
        specific app) answers, so its own ``404`` page is shown; when only
        static mounts matched, or none did, the result is None.

        An app whose only route for the path is a catch-all (its
        ``yields_to_static(path)`` hook says so: the spec's VueJS example,
        ``@app.route("/<path:path>")`` next to ``skitai.mount("/", "dist")``)
        answers only when no later static mount has the file.
        """
        fallback: Mount | None = None
        weak: Mount | None = None
        solo = self._solo
        for mount in self._ordered:
            if mount.matches(path):
                if mount in solo and fallback is None and weak is None:
                    # No other mount can serve this path: skip the has_route hook.
                    return mount
                if weak is not None and mount.static is None:
                    continue
                if mount.handles(path):
                    if weak is None and mount.yields_to_static(path):
                        weak = mount
                        continue
                    return mount
                if fallback is None and mount.app is not None:
                    fallback = mount
        return weak or fallback

    def _lend_pref(self, static: Mount, pref: Preference) -> None:
        """A preference given to a static directory mount goes to the apps already
        mounted at the same point without one (the spec's VueJS example mounts the app,
        then ``skitai.mount("/", "../frontend/dist", pref = pref)``)."""
        for mount in self._mounts:
            if mount.app is None or mount.pref is not None or mount.point != static.point:
                continue
            pref.run_package_configs()
            if isinstance(mount.app, ConfigurableApp):
                mount.app.apply_preference(pref)
            mount.pref = pref

    def _append(self, mount: Mount) -> Mount:
        self._mounts.append(mount)
        # sorted() is stable: equal points keep their insertion order.
        self._ordered = tuple(sorted(self._mounts, key=lambda m: -len(m.point)))
        self._solo = frozenset(
            m
            for i, m in enumerate(self._ordered)
            if m.app is not None and not any(_covers(later, m) for later in self._ordered[i + 1 :])
        )
        return mount

    def _add_pref_statics(self, pref: Preference, base: str) -> list[Mount]:
        """Mount the preference's static directories not already mounted at the same point."""
        added = []
        for url, root in pref.static_mounts:
            point = normalize_point(url)
            directory = os.path.realpath(abspath(root, base))
            if any(
                m.point == point and m.static is not None and m.static.root == directory
                for m in self._mounts
            ):
                continue
            mount = Mount(point, None, _static_files(directory), basename_label(directory), pref)
            added.append(self._append(mount))
        return added


# -- building a mount -------------------------------------------------------


def _build_mount(
    point: str, target: Any, name: str | None, pref: Preference | None, base: str, interface: str
) -> Mount:
    """Turn ``target`` into the main mount of :meth:`MountTable.add`."""
    if isinstance(target, str):
        loaded = load_string(target, base)
    elif isinstance(target, ModuleType):
        loaded = Loaded(module_label(target.__name__), module=target)
    elif callable(target):
        return _app_mount(point, target, name or callable_label(target), pref, None, interface)
    else:
        raise MountError(
            f"cannot mount {describe(target)} at {point}: expected a WSGI callable, a module, "
            "a .py file, 'module:app' or a directory"
        )
    if loaded.static_root is not None:
        static = _static_files(loaded.static_root)
        return Mount(point, None, static, name or loaded.label, pref)
    assert loaded.module is not None
    pref = _run_config_hooks(loaded.module, pref)
    app, name_was_attribute = _app_from_module(loaded.module, loaded.attr, name)
    label = name if name is not None and not name_was_attribute else loaded.label
    return _app_mount(point, app, label, pref, loaded.module, interface)


def _app_mount(
    point: str,
    app: WSGIApp,
    name: str,
    pref: Preference | None,
    module: ModuleType | None,
    interface: str,
) -> Mount:
    """Show the app to its mount-target handler, run the preference's package hooks,
    hand the preference to a configurable app, tell WSGI from ASGI, make the mount."""
    app = adopt(point, app, module)
    if pref is not None:
        pref.run_package_configs()
        if isinstance(app, ConfigurableApp):
            app.apply_preference(pref)
    kind = detect_interface(app, interface)
    if kind == "asgi":
        app = asgi3(app)
    return Mount(point, app, None, name, pref, kind)


def _run_config_hooks(module: ModuleType, pref: Preference | None) -> Preference | None:
    """Call ``__config__ (pref)`` of ``module``'s package (for a submodule), then of ``module``.

    Returns the preference the hooks saw: ``pref``, or a new one when hooks
    exist and ``pref`` is None.
    """
    modules = [module]
    package_name = module.__name__.rpartition(".")[0]
    if not hasattr(module, "__path__") and package_name in sys.modules:
        modules.insert(0, sys.modules[package_name])
    hooks = [getattr(m, "__config__", None) for m in modules]
    hooks = [hook for hook in hooks if callable(hook)]
    if hooks and pref is None:
        pref = Preference()
    for hook in hooks:
        hook(pref)
    return pref


def _app_from_module(
    module: ModuleType, attr: str | None, name: str | None
) -> tuple[WSGIApp, bool]:
    """Return the module's app and whether ``name`` was the attribute that named it."""
    if attr is not None:
        return _callable_attribute(module, attr), False
    if name is not None and hasattr(module, name):
        return _callable_attribute(module, name), True
    holder: ModuleType | None = module
    if _app_attribute(module) is None and hasattr(module, "__path__"):
        holder = _import_submodule(module, _APP_SUBMODULE)
    found = None if holder is None else _app_attribute(holder)
    if holder is None or found is None:
        tried = ([name] if name is not None else []) + list(APP_ATTRIBUTES)
        where = f" (nor its {_APP_SUBMODULE!r} submodule)" if hasattr(module, "__path__") else ""
        raise MountError(
            f"cannot mount {describe(module)}: no attribute "
            f"{' or '.join(repr(t) for t in tried)} in module {module.__name__!r}{where}"
        )
    return _callable_attribute(holder, found), False


def _app_attribute(module: ModuleType) -> str | None:
    """The first of :data:`APP_ATTRIBUTES` that ``module`` has, or None."""
    return next((attr for attr in APP_ATTRIBUTES if hasattr(module, attr)), None)


def _import_submodule(package: ModuleType, name: str) -> ModuleType | None:
    """Import ``package.name`` when it exists; None when it does not."""
    full_name = f"{package.__name__}.{name}"
    if importlib.util.find_spec(full_name) is None:
        return None
    return importlib.import_module(full_name)


def _callable_attribute(module: ModuleType, attr: str) -> WSGIApp:
    """``module.attr``, which must exist and be callable."""
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise MountError(
            f"cannot mount {describe(module)}: no attribute {attr!r} in module {module.__name__!r}"
        ) from None
    if not callable(app):
        raise MountError(
            f"cannot mount {module.__name__}.{attr}: expected a WSGI callable, "
            f"got {type(app).__name__}"
        )
    return app  # type: ignore[no-any-return]


def _static_files(directory: str) -> StaticFiles:
    """A ``StaticFiles`` for ``directory`` (imported here: only static mounts need it)."""
    from skitai.static import StaticFiles

    return StaticFiles(directory)


# -- string targets -----------------------------------------------------------


def _covers(shorter: Mount, longer: Mount) -> bool:
    """True when every path under ``longer`` also matches ``shorter``."""
    return (
        shorter.point == "/"
        or longer.point == shorter.point
        or longer.point.startswith(shorter.point + "/")
    )
