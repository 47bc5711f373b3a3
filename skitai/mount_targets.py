"""Loading mount targets: files, module specs, dotted names and directories.

``skitai.mount`` accepts strings naming what to mount (``"app_v1/app.py"``,
``"pkg/wsgi:application"``, ``"pkg.wsgi:application"``, ``"myapp"``, a
directory).  This module turns such a string into a module (and the name of
its app attribute) or a static root, importing files with the right
``sys.path`` entries; :mod:`skitai.mounts` builds the mounts from the result.

It also holds the mount-target handlers (:data:`mount_handlers`): an app being
mounted is shown to the handler keyed by the top-level package of its class
(or a base class), registered in code or through the ``skitai.mount_targets``
entry points of an installed distribution.  ``django_bridge`` registers one for
``django``: mounting a Django project's ``wsgi.py`` registers ``@<project>``
(spec "Working With Django").
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from skitai.registries import Registry

#: Trailing module name parts skipped when naming a mount after its module.
_GENERIC_NAMES = frozenset({"wsgi", "app", "application", "__init__"})
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
_NOT_WORD = re.compile(r"\W")


class MountError(ValueError):
    """A ``mount`` target or argument that cannot be turned into a mount."""


#: ``handler(point, app, module) -> app | None``: sees ``app`` as it is mounted at
#: ``point`` (``module``: the module it was found in, or None for an app object);
#: returning another WSGI callable mounts that one instead.
MountTargetHandler = Callable[[str, Any, "ModuleType | None"], Any]
#: Mount-target handlers by the top-level package of the app's class.
mount_handlers: Registry[MountTargetHandler] = Registry(
    "skitai.mount_targets", "mount-target handler"
)


def register_mount_handler(package: str, handler: MountTargetHandler) -> MountTargetHandler:
    """Show ``handler`` every app mounted whose class (or a base class) is in ``package``."""
    return mount_handlers.register(package, handler)


def adopt(point: str, app: Any, module: ModuleType | None) -> Any:
    """``app`` after its mount-target handler, if any, saw it (or the app it gave instead)."""
    handler = mount_handlers.for_object(app)
    if handler is None:
        return app
    replaced = handler(point, app, module)
    return app if replaced is None else replaced


@dataclass
class Loaded:
    """What a string target names: a module (and maybe its app attribute) or a directory."""

    label: str
    module: ModuleType | None = None
    attr: str | None = None
    static_root: str | None = None


def load_string(spec: str, base: str) -> Loaded:
    """Interpret a string target (see :meth:`MountTable.add`)."""
    left, attr = _split_attribute(spec)
    if not left:
        raise MountError(f"cannot mount {spec!r}: empty target")
    dotted = _DOTTED_NAME.match(left) is not None
    if left.endswith(".py") or (attr is not None and not dotted):
        module, label = _load_path(left, spec, base)
        return Loaded(label, module=module, attr=attr)
    candidate = abspath(left, base)
    if dotted and not (os.path.isdir(candidate) and not _is_package_dir(candidate)):
        module = _import_dotted(left, spec, base)
        return Loaded(module_label(left), module=module, attr=attr)
    if os.path.isdir(candidate):
        return Loaded(basename_label(candidate), static_root=candidate)
    raise MountError(
        f"cannot mount {spec!r}: no directory {candidate}; expected a directory, a .py file, "
        "'module:app' or an importable module name"
    )


def _split_attribute(spec: str) -> tuple[str, str | None]:
    """``"pkg/wsgi:application"`` -> ``("pkg/wsgi", "application")``."""
    left, colon, right = spec.rpartition(":")
    if colon and left and right.isidentifier():
        return left, right
    return spec, None


def _load_path(left: str, spec: str, base: str) -> tuple[ModuleType, str]:
    """Import the file or package directory ``left`` names; return it and its label."""
    path = abspath(left, base)
    if not path.endswith(".py"):
        if os.path.isfile(path + ".py"):
            path += ".py"
        elif _is_package_dir(path):
            path = os.path.join(path, "__init__.py")
        else:
            raise MountError(f"cannot mount {spec!r}: neither {path}.py nor package {path} exists")
    elif not os.path.isfile(path):
        raise MountError(f"cannot mount {spec!r}: file {path} not found")
    importlib.invalidate_caches()
    dotted, root = _package_module_name(path)
    if dotted is not None:
        return _import_package_file(path, dotted, root, spec), module_label(dotted)
    directory, filename = os.path.split(path)
    stem = filename[: -len(".py")]
    _ensure_sys_path(directory)
    label = basename_label(directory) if stem in _GENERIC_NAMES else stem
    return _import_lone_file(path, stem), label


def _package_module_name(path: str) -> tuple[str | None, str]:
    """Dotted name of ``path`` inside its package, and the directory above the top package.

    The name is None when the file is not inside a package (or a directory
    name is not an identifier), the root is then the file's directory.
    """
    directory, filename = os.path.split(path)
    stem = filename[: -len(".py")]
    parts = [] if stem == "__init__" else [stem]
    root = directory
    while _is_package_dir(root) and os.path.dirname(root) != root:
        parts.insert(0, os.path.basename(root))
        root = os.path.dirname(root)
    if root == directory or not all(part.isidentifier() for part in parts):
        return None, directory
    return ".".join(parts), root


def _import_package_file(path: str, dotted: str, root: str, spec: str) -> ModuleType:
    """Import ``dotted`` from ``root`` and check it is the file ``path``."""
    _ensure_sys_path(root)
    module = importlib.import_module(dotted)
    if not _same_file(getattr(module, "__file__", None), path):
        raise MountError(
            f"cannot mount {spec!r}: module name {dotted!r} already refers to "
            f"{getattr(module, '__file__', None)}"
        )
    return module


def _import_lone_file(path: str, stem: str) -> ModuleType:
    """Import a file that is not in a package, reusing a module already loaded from it.

    It is imported under its own name when that name finds this very file;
    otherwise (the name is taken, e.g. a ``json.py``) under a private unique
    name, so it never shadows another module.
    """
    for loaded in (sys.modules.get(stem), sys.modules.get("__main__")):
        if loaded is not None and _same_file(getattr(loaded, "__file__", None), path):
            return loaded
    if stem.isidentifier() and stem not in sys.modules:
        found = importlib.util.find_spec(stem)
        if found is not None and _same_file(found.origin, path):
            return importlib.import_module(stem)
    return _exec_file(path, _unique_module_name(stem))


def _exec_file(path: str, module_name: str) -> ModuleType:
    """Execute ``path`` as module ``module_name`` (registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MountError(f"cannot mount {path!r}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _unique_module_name(stem: str) -> str:
    """A module name for ``stem`` not yet in ``sys.modules``."""
    base = "_skitai_mount_" + _NOT_WORD.sub("_", stem)
    name, number = base, 1
    while name in sys.modules:
        number += 1
        name = f"{base}_{number}"
    return name


def _import_dotted(dotted: str, spec: str, base: str) -> ModuleType:
    """Import ``dotted``, also from ``base`` when its top package or module is there."""
    top = dotted.partition(".")[0]
    if os.path.isfile(os.path.join(base, top + ".py")) or os.path.isdir(os.path.join(base, top)):
        _ensure_sys_path(base)
        importlib.invalidate_caches()
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (dotted == missing or dotted.startswith(missing + ".")):
            raise MountError(
                f"cannot mount {spec!r}: no module named {missing!r} "
                f"(and no directory {os.path.join(base, dotted)})"
            ) from exc
        raise


# -- small helpers ------------------------------------------------------------


def _ensure_sys_path(directory: str) -> None:
    """Put ``directory`` first on ``sys.path`` unless it is already there."""
    if directory not in sys.path:
        sys.path.insert(0, directory)


def abspath(path: str, base: str) -> str:
    """``path`` made absolute against ``base`` (``~`` expanded)."""
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def _is_package_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "__init__.py"))


def _same_file(a: str | None, b: str) -> bool:
    return a is not None and os.path.realpath(a) == os.path.realpath(b)


def basename_label(path: str) -> str:
    return os.path.basename(path.rstrip(os.sep)) or path


def module_label(dotted: str) -> str:
    """Mount name for a module: its last name part that is not generic (``myapp.wsgi`` -> myapp)."""
    parts = dotted.split(".")
    while len(parts) > 1 and parts[-1] in _GENERIC_NAMES:
        parts.pop()
    return parts[-1]


def callable_label(app: Any) -> str:
    """Mount name for a callable: its ``__name__``, else its class name in lower case."""
    name = getattr(app, "__name__", None)
    if isinstance(name, str) and name.isidentifier():
        return name
    return type(app).__name__.lower()


def describe(target: Any) -> str:
    """A short description of a mount target for error messages."""
    if isinstance(target, ModuleType):
        return f"module {target.__name__!r}"
    text = repr(target)
    return text if len(text) <= 80 else text[:77] + "..."
