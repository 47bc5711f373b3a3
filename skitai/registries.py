"""Registries that the layers above the engine fill: alias kinds, statement adapters,
mount-target handlers.

``skitai`` never imports ``atila`` or ``django_bridge``.  Where the spec spells
an API on the engine that a higher layer must serve (``skitai.alias("@django",
skitai.DJANGO, ...)``, a QuerySet given to ``execute()``, a mounted Django
project registering ``@<project>``), the engine asks a :class:`Registry`.  A
registry is filled in two ways:

* in code: ``registry.register(key, handler)``;
* through the entry points of an installed distribution, in the registry's
  group (``setup.py``: ``entry_points={"skitai.alias_kinds": ["django =
  django_bridge.aliases:alias_kind"]}``).  An entry point is loaded only the
  first time its key is asked for, so a handler costs nothing until it is
  needed.

Keys are names: an alias kind (``"django"``), or the top-level package of a
class (``"django"`` for ``django.db.models.QuerySet``): :meth:`Registry.for_object`
tries the packages of an object's classes along its MRO, so a subclass defined
in the user's own package finds the handler of its base class.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

__all__ = ["Registry", "RegistryLoadError", "packages_of"]

T = TypeVar("T")

#: Packages whose classes never have a handler (skipped without an entry point lookup).
_BUILTIN_PACKAGES = frozenset({"builtins", "abc", "collections", "typing"})


class RegistryLoadError(ImportError):
    """An entry point of a registry's group named a handler that could not be loaded."""


def packages_of(obj: Any) -> Iterator[str]:
    """The top-level packages of the classes in ``type(obj).__mro__``, most derived first."""
    seen: set[str] = set()
    for cls in type(obj).__mro__:
        package = str(getattr(cls, "__module__", "") or "").partition(".")[0]
        if package and package not in seen and package not in _BUILTIN_PACKAGES:
            seen.add(package)
            yield package


class Registry(Generic[T]):
    """Handlers by key, registered in code or found in the entry point group ``group``."""

    def __init__(self, group: str, what: str) -> None:
        #: the entry point group (``"skitai.alias_kinds"``)
        self.group = group
        #: what a handler is, for error messages (``"alias kind"``)
        self.what = what
        self._handlers: dict[str, T] = {}
        self._searched: set[str] = set()
        self._lock = threading.Lock()

    def register(self, key: str, handler: T) -> T:
        """Make ``handler`` the one for ``key`` (replacing an earlier one); return it."""
        with self._lock:
            self._handlers[key] = handler
        return handler

    def get(self, key: str) -> T | None:
        """The handler for ``key``: registered, else loaded from an entry point, else None.

        Raises :class:`RegistryLoadError` when the entry point exists but its
        target cannot be imported.
        """
        handler = self._handlers.get(key)
        if handler is not None or key in self._searched:
            return handler
        with self._lock:
            if key not in self._handlers and key not in self._searched:
                found = self._entry_point(key)
                if found is not None:
                    self._handlers[key] = self._load(found)
                self._searched.add(key)
            return self._handlers.get(key)

    def for_object(self, obj: Any) -> T | None:
        """The handler keyed by the first package along ``obj``'s class MRO that has one."""
        for package in packages_of(obj):
            handler = self.get(package)
            if handler is not None:
                return handler
        return None

    def keys(self) -> list[str]:
        """Every key with a handler: registered ones and those of entry points (not loaded)."""
        names = set(self._handlers)
        names.update(point.name for point in entry_points(group=self.group))
        return sorted(names)

    def _entry_point(self, key: str) -> EntryPoint | None:
        found = tuple(entry_points(group=self.group, name=key))
        return found[0] if found else None

    def _load(self, point: EntryPoint) -> T:
        try:
            return point.load()  # type: ignore[no-any-return]
        except Exception as exc:
            raise RegistryLoadError(
                f"{self.what} {point.name!r}: entry point {point.value!r} "
                f"(group {self.group!r}) failed to load: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"<Registry {self.group} {sorted(self._handlers)}>"
