"""django_bridge fills the engine's registries: the distribution's entry points name it,
and ``skitai.alias(..., skitai.DJANGO, ...)`` makes an alias of a Django database."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from django.db import connection

import skitai
from django_bridge.aliases import DJANGO_ALIASES, alias_kind
from django_bridge.mount import mounted_project
from django_bridge.queryset import queryset_adapter
from skitai.corequests import DB_PGSQL, DB_SQLITE3, AliasError, registry

KIND = DB_PGSQL if connection.vendor == "postgresql" else DB_SQLITE3


@pytest.mark.parametrize(
    ("group", "name", "target"),
    [
        ("skitai.alias_kinds", "django", alias_kind),
        ("skitai.statement_adapters", "django", queryset_adapter),
        ("skitai.statement_adapters", "django_bridge", queryset_adapter),
        ("skitai.mount_targets", "django", mounted_project),
    ],
)
def test_entry_points_name_the_bridge(group: str, name: str, target: object) -> None:
    (point,) = entry_points(group=group, name=name)
    assert point.load() is target


def test_skitai_django_alias_kind() -> None:
    made = skitai.alias("@spec_django", skitai.DJANGO, max_conns=2)
    assert (made.kind, made.max_conns) == (KIND, 2)
    assert registry.get("@spec_django") is made
    assert DJANGO_ALIASES["@spec_django"] == "default"


def test_skitai_django_alias_kind_errors() -> None:
    with pytest.raises(AliasError, match="no Django database 'replica'"):
        skitai.alias("@spec_replica", skitai.DJANGO, using="replica")
    with pytest.raises(AliasError, match="takes only using="):
        skitai.alias("@spec_replica", skitai.DJANGO, flavour="x")
    assert "@spec_replica" not in registry


def test_mounting_the_asgi_application_registers_the_project_alias() -> None:
    """Django's ``asgi.py`` application mounts as ASGI and names ``@<project>`` (``@demo``)."""
    from django.core.asgi import get_asgi_application

    from skitai.corequests import registry
    from skitai.mounts import MountTable

    mount = MountTable().add("/admin", get_asgi_application())
    assert not isinstance(mount, list)
    assert mount.interface == "asgi"
    assert "@demo" in registry
