"""Namespaces an app keeps: ``app.config``, ``app.g``, ``app.store`` and ``app.r``.

* :class:`AttrDict` — a dict whose keys read and write as attributes
  (``app.config.STATIC_URL``, ``was.request.args.limit``); the one class of
  :mod:`skitai.attrdict`, re-exported.
* :class:`SharedStore` — a lock-guarded dict-like store shared by every
  handler thread (spec "App Storage": ``app.store.get/set``; also ``app.g``,
  the "global app context namespace").
* :class:`RequestNamespace` — ``app.r``: an empty object valid only during
  the current request (spec "Registering Per Request Calling Functions"); it
  lives in a context variable, so concurrent requests never see each other's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar, Token
from types import SimpleNamespace
from typing import Any

from skitai.attrdict import AttrDict

__all__ = ["AttrDict", "OutsideRequestError", "RequestNamespace", "SharedStore"]


class OutsideRequestError(RuntimeError):
    """A per-request object (``was``, ``app.r``) was used outside of a request."""


class SharedStore:
    """A thread-safe key/value store with dict and attribute access.

    Every single operation holds one lock, so ``store.set("n", 1)`` and
    ``store["n"]`` are safe from any handler thread.  Keep values simple
    (str, int, float): a mutable value taken out of the store is not
    protected by the lock.  :meth:`inc` is an atomic read-modify-write.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_data", {})

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Set ``key`` to ``value``."""
        with self._lock:
            self._data[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Set ``key`` to ``default`` unless present; return its value."""
        with self._lock:
            return self._data.setdefault(key, default)

    def inc(self, key: str, delta: int | float = 1) -> int | float:
        """Atomically add ``delta`` to ``key`` (missing counts as 0); return the new value."""
        with self._lock:
            value = self._data.get(key, 0) + delta
            self._data[key] = value
            return value

    def remove(self, key: str) -> Any:
        """Delete ``key`` if present; return its old value (or None)."""
        with self._lock:
            return self._data.pop(key, None)

    def keys(self) -> list[str]:
        """A snapshot of the keys."""
        with self._lock:
            return list(self._data)

    def items(self) -> list[tuple[str, Any]]:
        """A snapshot of the items."""
        with self._lock:
            return list(self._data.items())

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._data[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with self._lock:
            try:
                return self._data[name]
            except KeyError:
                raise AttributeError(f"no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delattr__(self, name: str) -> None:
        with self._lock:
            try:
                del self._data[name]
            except KeyError:
                raise AttributeError(f"no key {name!r}") from None

    def __repr__(self) -> str:
        return f"<SharedStore {self.items()!r}>"


class RequestNamespace:
    """``app.r``: attributes that live for the current request only.

    Each request gets a fresh, empty namespace (:meth:`begin`); outside a
    request any access raises :class:`OutsideRequestError`.
    """

    def __init__(self, name: str = "app.r") -> None:
        object.__setattr__(
            self, "_current", ContextVar[SimpleNamespace | None](f"atila.{name}", default=None)
        )
        object.__setattr__(self, "_label", name)

    def begin(self) -> Token[SimpleNamespace | None]:
        """Start a fresh namespace for a request; pass the token to :meth:`end`."""
        return self._current.set(SimpleNamespace())

    def end(self, token: Token[SimpleNamespace | None]) -> None:
        """Drop the request's namespace."""
        self._current.reset(token)

    @property
    def active(self) -> bool:
        """True inside a request."""
        return self._current.get() is not None

    def _namespace(self) -> SimpleNamespace:
        namespace = self._current.get()
        if namespace is None:
            raise OutsideRequestError(f"{self._label} is only available during a request")
        return namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(self._namespace(), name)
        except AttributeError:
            raise AttributeError(f"{self._label} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._namespace(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._namespace(), name)

    def __contains__(self, name: str) -> bool:
        return hasattr(self._namespace(), name)

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute ``name``, or ``default``."""
        return getattr(self._namespace(), name, default)
