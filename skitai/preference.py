"""Runtime app preference: the object behind ``with skitai.preference () as pref``.

A :class:`Preference` collects settings that ``skitai.mount`` hands to the app
it mounts (seed section "Runtime App Preference"): plain attributes such as
``pref.debug`` or ``pref.use_reloader``, a free-form ``pref.config`` mapping,
static and media directories (``set_static``/``set_media``/``add_static``)
that the engine mounts as static mounts, and the packages an app extends or
is overridden by (``extends``/``overrides``, seed section "Inheritance and
Overriding").  This module only records; :mod:`skitai.mounts` and the app
(through ``apply_preference``) act on what was recorded.
"""

from __future__ import annotations

from types import ModuleType, TracebackType
from typing import Any

from .attrdict import AttrDict

__all__ = ["AttrDict", "Preference"]


class Preference:
    """Settings given to ``skitai.mount`` that override the mounted app's own.

    Any attribute can be set (``pref.debug = True``, ``pref.securekey = ...``);
    :meth:`options` returns them.  Reading an attribute never set raises
    ``AttributeError``.  Names starting with ``_`` are reserved, as are the
    methods and properties below.

    It is also a context manager: ``with Preference() as pref:`` binds the
    preference itself and does nothing on exit.
    """

    _config: AttrDict
    _static: tuple[str, str] | None
    _media: tuple[str, str] | None
    _added_statics: list[tuple[str | None, str]]
    _extended: list[Any]
    _overridden: list[Any]
    _front_statics: list[tuple[str | None, str]]
    _configured: set[int]

    def __init__(self) -> None:
        object.__setattr__(self, "_config", AttrDict())
        object.__setattr__(self, "_static", None)
        object.__setattr__(self, "_media", None)
        object.__setattr__(self, "_added_statics", [])
        object.__setattr__(self, "_extended", [])
        object.__setattr__(self, "_overridden", [])
        object.__setattr__(self, "_front_statics", [])
        object.__setattr__(self, "_configured", set())

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"Preference attribute names cannot start with '_': {name!r}")
        object.__setattr__(self, name, value)

    def __enter__(self) -> Preference:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"<Preference options={self.options()!r} config={dict(self._config)!r}>"

    @property
    def config(self) -> AttrDict:
        """Free-form app configuration (``pref.config["a"] = 1``, ``pref.config.b = 2``)."""
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        object.__setattr__(self, "_config", AttrDict(value))

    @property
    def extended(self) -> list[Any]:
        """Packages given to :meth:`extends`, in call order."""
        return self._extended

    @property
    def overridden(self) -> list[Any]:
        """Packages given to :meth:`overrides`, in call order."""
        return self._overridden

    @property
    def static_mounts(self) -> list[tuple[str, str]]:
        """``(url, root)`` directories the engine mounts as static mounts.

        In order: the :meth:`set_static` directory, the :meth:`set_media`
        directory, then every :meth:`add_static` directory (an ``add_static``
        without a URL uses ``config.STATIC_URL``, or ``"/"`` when unset).
        Roots are returned as given; the engine resolves relative ones.
        """
        default_url = self._config.get("STATIC_URL", "/")
        front = [(default_url if url is None else url, root) for url, root in self._front_statics]
        mounts = front + [pair for pair in (self._static, self._media) if pair is not None]
        for url, root in self._added_statics:
            mounts.append((default_url if url is None else url, root))
        return mounts

    def run_package_configs(self) -> None:
        """Call ``__config__(pref)`` of every :meth:`extends` and :meth:`overrides` package once.

        Static directories an overriding package adds come before the app's
        own (its files win); those of an extending package come after.
        """
        done = self._configured
        for package in [*self._extended, *self._overridden]:
            hook = getattr(package, "__config__", None)
            if id(package) in done or not callable(hook):
                continue
            done.add(id(package))
            before = len(self._added_statics)
            hook(self)
            if any(package is p for p in self._overridden):
                self._front_statics.extend(self._added_statics[before:])
                del self._added_statics[before:]

    def options(self) -> dict[str, Any]:
        """Return the plain attributes set on this preference (not ``config``)."""
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}

    def set_static(self, url: str, root: str) -> None:
        """Serve directory ``root`` at ``url``; sets ``config.STATIC_URL``/``STATIC_ROOT``.

        Calling it again replaces the previous static directory.
        """
        self._config.STATIC_URL = url
        self._config.STATIC_ROOT = root
        object.__setattr__(self, "_static", (url, root))

    def set_media(self, url: str, root: str) -> None:
        """Serve directory ``root`` at ``url``; sets ``config.MEDIA_URL``/``MEDIA_ROOT``.

        Calling it again replaces the previous media directory.
        """
        self._config.MEDIA_URL = url
        self._config.MEDIA_ROOT = root
        object.__setattr__(self, "_media", (url, root))

    def add_static(self, root: str, url: str | None = None) -> None:
        """Serve one more static directory, after those of :meth:`set_static`.

        Used by extended packages (seed: ``pref.add_static (os.path.join (...,
        'static'))`` in ``__config__``): files are looked up in the app's own
        static directory first, then in each added directory in call order.
        ``url`` defaults to ``config.STATIC_URL`` (``"/"`` when unset).
        """
        self._added_statics.append((url, root))

    def extends(self, package: ModuleType | Any) -> None:
        """Record that the mounted app extends ``package`` (its statics, templates, services)."""
        self._extended.append(package)

    def overrides(self, package: ModuleType | Any) -> None:
        """Record that ``package`` overrides the mounted app's services and resources."""
        self._overridden.append(package)
