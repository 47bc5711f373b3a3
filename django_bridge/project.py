"""Finding and starting a Django project from Atila or Skitai code.

:func:`setup` is what an Atila service calls before it imports Django models
(spec "Using Django Models": "call django.setup () and you can use your
models").  It accepts a settings module name (``"demo.settings"``) or the path
of a settings file (``"myapp/settings.py"``, relative to the calling script's
directory), puts the project root on ``sys.path``, honours an already set
``DJANGO_SETTINGS_MODULE`` and runs :func:`django.setup` once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["SettingsLocation", "locate_settings", "setup"]

SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"


class SettingsLocation:
    """A settings module name and the directory that must be on ``sys.path`` for it."""

    __slots__ = ("module", "root")

    def __init__(self, module: str, root: Path | None) -> None:
        self.module = module
        self.root = root

    def __repr__(self) -> str:
        return f"SettingsLocation({self.module!r}, root={self.root!r})"


def locate_settings(
    settings: str, base_dir: str | os.PathLike[str] | None = None
) -> SettingsLocation:
    """Turn ``"pkg.settings"`` or ``"path/to/pkg/settings.py"`` into a :class:`SettingsLocation`.

    A path is taken relative to ``base_dir`` (default: the current directory);
    the module name is made of the path's package directories (those holding
    an ``__init__.py``) and the project root is the directory above them.
    """
    if not settings.endswith(".py") and os.sep not in settings and "/" not in settings:
        return SettingsLocation(settings, None)
    path = Path(base_dir or os.getcwd(), settings).resolve()
    if path.suffix != ".py":
        path = path.with_suffix(".py")
    if not path.is_file():
        raise FileNotFoundError(f"Django settings file not found: {path}")
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    return SettingsLocation(".".join(parts), root)


def setup(settings: str | None = None, base_dir: str | os.PathLike[str] | None = None) -> Any:
    """Configure Django with ``settings`` (unless already configured) and return ``settings``.

    ``DJANGO_SETTINGS_MODULE`` wins over the ``settings`` argument when it is
    already set, as ``manage.py`` and ``wsgi.py`` do (``os.environ.setdefault``).
    Calling it again is cheap: Django is set up once per process.
    """
    import django
    from django.apps import apps
    from django.conf import settings as django_settings

    if settings is not None:
        location = locate_settings(settings, base_dir)
        if location.root is not None and str(location.root) not in sys.path:
            sys.path.insert(0, str(location.root))
        os.environ.setdefault(SETTINGS_ENV, location.module)
    if not os.environ.get(SETTINGS_ENV) and not django_settings.configured:
        raise RuntimeError(
            "Django settings unknown: pass django_bridge.setup('pkg.settings') "
            f"or set {SETTINGS_ENV}"
        )
    if not apps.ready:
        django.setup()
    return django_settings
