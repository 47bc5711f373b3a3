"""The engine's registries: alias kinds, statement adapters, mount-target handlers.

Higher layers (``django_bridge``, ``atila``) fill them; here they are filled in
code by the test, with classes whose package is made up, so the engine's own
rules are checked without any framework.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import skitai
from skitai.corequests import DB_SQLITE3, Alias, AliasError, AliasTable
from skitai.corequests.aliases import register_alias_kind
from skitai.corequests.statements import adapt_statement, register_statement_adapter
from skitai.mount_targets import register_mount_handler
from skitai.mounts import MountTable
from skitai.registries import Registry, packages_of

ALIAS = Alias("@db", DB_SQLITE3, "x.db")


class FakeQuery:
    """A query object of a made-up ORM package ``fakeorm``."""

    def __init__(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.sql, self.params = sql, params


FakeQuery.__module__ = "fakeorm.query"


class UserQuery(FakeQuery):
    """A subclass in the user's own package: found through its base class."""


UserQuery.__module__ = "myshop.models"


def fake_adapter(obj: Any, alias: Alias) -> tuple[str, Any] | None:
    if not isinstance(obj, FakeQuery):
        return None
    return f"{obj.sql} /* {alias.name} */", obj.params


register_statement_adapter("fakeorm", fake_adapter)


def test_text_and_transactions_pass_unchanged() -> None:
    assert adapt_statement("SELECT ?", (1,), ALIAS) == ("SELECT ?", (1,))
    assert adapt_statement(("BEGIN", "END"), None, ALIAS) == (["BEGIN", "END"], None)


def test_query_objects_go_through_the_adapter_of_their_package() -> None:
    assert adapt_statement(FakeQuery("SELECT ?", (2,)), None, ALIAS) == ("SELECT ? /* @db */", (2,))
    assert list(packages_of(UserQuery("x"))) == ["myshop", "fakeorm"]
    assert adapt_statement(UserQuery("SELECT 3"), None, ALIAS) == ("SELECT 3 /* @db */", ())
    assert adapt_statement(["BEGIN", FakeQuery("DELETE FROM t")], None, ALIAS) == (
        ["BEGIN", "DELETE FROM t /* @db */"],
        None,
    )


def test_objects_without_an_adapter_are_a_type_error_never_their_repr() -> None:
    with pytest.raises(TypeError, match="execute\\(\\) takes SQL text") as info:
        adapt_statement(object(), None, ALIAS)
    assert "builtins.object" in str(info.value) and "fakeorm" in str(info.value)
    with pytest.raises(TypeError, match="carries its own parameters"):
        adapt_statement(FakeQuery("SELECT 1"), (1,), ALIAS)
    with pytest.raises(TypeError, match="transaction"):
        adapt_statement([FakeQuery("SELECT ?", (1,))], None, ALIAS)
    with pytest.raises(TypeError, match="cannot run a"):
        adapt_statement([b"SELECT 1"], None, ALIAS)


def test_an_alias_kind_turns_its_target_into_a_database(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None, dict[str, Any]]] = []

    def settings_kind(name: str, target: str | None, options: dict[str, Any]) -> tuple[str, str]:
        seen.append((name, target, options))
        return DB_SQLITE3, str(tmp_path / f"{target}.db")

    register_alias_kind("test-settings", settings_kind)
    table = AliasTable()
    made = table.add("@app", "test-settings", "shop", max_conns=3, flavour="lite")
    assert (made.kind, made.location, made.max_conns) == (
        DB_SQLITE3, str(tmp_path / "shop.db"), 3
    )  # fmt: skip
    assert seen == [("@app", "shop", {"flavour": "lite"})]
    assert table.get("@app") is made


def test_alias_kind_errors(tmp_path: Path) -> None:
    table = AliasTable()
    with pytest.raises(AliasError, match="unsupported alias kind 'nosuch'.*\\*sqlite3"):
        table.add("@x", "nosuch", "t")
    with pytest.raises(AliasError, match="takes no options"):
        table.add("@x", DB_SQLITE3, str(tmp_path / "x.db"), flavour="lite")
    with pytest.raises(AliasError, match="built-in"):
        register_alias_kind(DB_SQLITE3, lambda name, target, options: (DB_SQLITE3, "x"))
    register_alias_kind("test-broken", lambda name, target, options: ("*oracle", "x"))
    with pytest.raises(AliasError, match="unknown kind '\\*oracle'"):
        table.add("@x", "test-broken", "t")
    assert "@x" not in table


def test_skitai_has_the_spec_django_constant() -> None:
    assert skitai.DJANGO == "django"


def test_a_registry_without_entry_points_knows_only_what_was_registered() -> None:
    plugins: Registry[str] = Registry("skitai.tests.no-such-group", "test plugin")
    assert plugins.get("x") is None and plugins.keys() == []
    plugins.register("x", "handler")
    assert plugins.get("x") == "handler" and plugins.keys() == ["x"]
    assert plugins.for_object(object()) is None


class FakeFrameworkApp:
    """A WSGI app of a made-up framework package ``fakefw``."""

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"fake"]


FakeFrameworkApp.__module__ = "fakefw.handlers"


def test_mount_target_handlers_see_their_apps_and_may_wrap_them() -> None:
    seen: list[tuple[str, Any, Any]] = []

    def wrap(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"wrapped"]

    def handler(point: str, app: Any, module: Any) -> Any:
        seen.append((point, app, module))
        return wrap if point == "/wrapped" else None

    register_mount_handler("fakefw", handler)
    app = FakeFrameworkApp()
    table = MountTable()
    assert table.add("/plain", app).app is app
    assert table.add("/wrapped", app).app is wrap
    assert seen == [("/plain", app, None), ("/wrapped", app, None)]

    def other(environ: Any, start_response: Any) -> list[bytes]:
        return []

    assert table.add("/other", other).app is other and len(seen) == 2
