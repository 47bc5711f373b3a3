"""``AttrDict``: a dict whose keys are also attributes (``pref.config.X``, ``app.config.X``).

A leaf utility with no engine state: the preference, the framework's config and
anything else that wants ``d.key`` for ``d["key"]`` share this one class.
"""

from __future__ import annotations

from typing import Any


class AttrDict(dict[str, Any]):
    """A dict whose keys can also be read and written as attributes.

    ``d.key`` is ``d["key"]``; reading a missing key as an attribute raises
    ``AttributeError`` (so ``getattr(d, "x", default)`` and ``hasattr`` work).
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r}") from None
