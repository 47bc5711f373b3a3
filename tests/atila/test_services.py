"""Service mounting, names, events, lifecycle and reloading with the in-process client."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import atila
from atila.lifecycle import AppContext
from atila.services import DuplicateNameError
from skitai.testing import Client


def _module(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in hooks.items():
        setattr(module, key, value)
    return module


def _blog(calls: list[str] | None = None) -> types.ModuleType:
    def __mount__(app: atila.Atila, mntopt: dict[str, Any]) -> None:
        @app.route("/posts")
        def posts(was: Any) -> str:
            return "posts at " + was.urlfor(posts)

    return _module("site.services.blog", __mount__=__mount__)


def test_mount_prefixes_routes_and_defers_until_start() -> None:
    app = atila.Atila("site.app")
    app.mount("/blog", _blog())
    assert len(app.routes) == 0  # mounted when the app starts
    assert Client(app).get("/blog/posts").text == "posts at /blog/posts"


def test_same_module_twice_needs_a_namespace() -> None:
    app = atila.Atila("site.app")
    blog = _blog()
    app.mount("/a", blog)
    app.mount("/b", blog)
    with pytest.raises(DuplicateNameError, match="ns="):
        app.on_worker_start()

    app = atila.Atila("site.app")
    app.mount("/a", blog, ns="first")
    app.mount("/b", blog, ns="second")
    client = Client(app)
    assert client.get("/b/posts").text == "posts at /b/posts"
    assert app.build_url("first.posts") == "/a/posts"
    assert app.build_url("second.posts") == "/b/posts"
    with pytest.raises(atila.BuildError):  # the short name is ambiguous: left out
        app.build_url("posts")


def test_without_namespaces_a_repeated_name_is_an_error() -> None:
    app = atila.Atila("site.app")
    app.enable_namespace = False
    app.mount("/a", _blog())
    app.mount("/b", _blog())
    with pytest.raises(DuplicateNameError, match="'posts'"):
        app.on_worker_start()


def test_mount_options_debug_only_authenticate_and_mntopt() -> None:
    seen: dict[str, Any] = {}

    def __setup__(app: atila.Atila) -> None:  # the one-argument form
        seen["setup"] = True

    def __mount__(app: atila.Atila, mntopt: dict[str, Any]) -> None:
        seen["mntopt"] = mntopt

        @app.route("/in")
        def sign_in(was: Any) -> str:
            return "in"

    auth = _module("site.services.auth", __setup__=__setup__, __mount__=__mount__)
    admin = _module("site.services.admin", __mount__=__mount__)
    app = atila.Atila("site.app")
    app.mount(auth, authenticate="bearer", redirect="index")  # no point: "/"
    app.mount("/admin", admin, debug_only=True)
    app.on_worker_start()
    assert seen["setup"] and auth.__mntopt__ == {"redirect": "index"}
    assert seen["mntopt"]["point"] == "/" and seen["mntopt"]["authenticate"] == "bearer"
    (route,) = list(app.routes)  # admin was skipped: debug is off
    assert route.pattern == "/in" and route.options["authenticate"] == "bearer"


def test_mount_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("file a")
    app = atila.Atila("site.app")
    app.mount("/files", str(tmp_path))
    client = Client(app)
    assert client.get("/files/a.txt").text == "file a"
    assert client.get("/files/../secret").status_code == 404


def test_setup_is_frozen_once_serving() -> None:
    app = atila.Atila("site.app")
    app.mount("/blog", _blog())
    Client(app).get("/blog/posts")
    with pytest.raises(RuntimeError):
        app.route("/late")(lambda was: "late")


def test_wac_register_is_seen_by_every_app() -> None:
    first, second = atila.Atila("first"), atila.Atila("second")

    @first.before_mount
    def register(wac: AppContext) -> None:
        wac.register("searcher", "found it")

    @second.route("/")
    def index(was: Any) -> str:
        return was.searcher

    try:
        first.on_worker_start()
        assert Client(second).get("/").text == "found it"
        assert first.lifecycle.wac.searcher == "found it"
        with pytest.raises(ValueError, match="already exists"):
            AppContext.register("request", object())
    finally:
        AppContext.unregister("searcher")
    assert not hasattr(atila.Was, "searcher")


def test_events_outside_a_request_get_wac_and_survive_a_failing_handler() -> None:
    app = atila.Atila("site.app")
    got: list[Any] = []

    @app.on("ping")
    def broken(was: Any, value: int) -> None:
        raise ValueError("broken handler")

    @app.on("ping")
    def fine(was: Any, value: int) -> int:
        got.append((type(was).__name__, value))
        return value * 2

    assert app.emit("ping", 21) == [42]
    assert got == [("AppContext", 21)]
    assert app.emit("nobody-listens") == []


def test_if_updated_and_getlu_without_a_server() -> None:
    app = atila.Atila("site.app")
    reloads: list[str] = []

    @app.route("/")
    @app.if_updated("prices", lambda was, key: reloads.append(key))
    def index(was: Any) -> str:
        return "ok"

    @app.route("/touch")
    def touch(was: Any) -> str:
        was.setlu("prices")
        return "touched"

    client = Client(app)
    client.get("/")
    assert reloads == []
    client.get("/touch")
    client.get("/")
    client.get("/")
    assert reloads == ["prices"]


def test_maintain_names_are_unique() -> None:
    app = atila.Atila("site.app")

    @app.maintain
    def job(was: Any, now: float, count: int) -> None:
        pass

    with pytest.raises(ValueError, match="already exists"):
        app.maintain(3)(job)


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "reloadpkg"
    (root / "services").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "services" / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    yield root / "services"
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("reloadpkg")]:
        del sys.modules[name]


VIEW = """
def __mount__(app):
    @app.route("/text")
    def text(was):
        return {text!r}

    @app.before_request
    def hook(was):
        was.app.store.inc("hooks")

def __umount__(app):
    app.store.inc("umounts")
"""


def test_reload_replaces_routes_and_keeps_serving_on_syntax_error(package: Path) -> None:
    view = package / "view.py"
    view.write_text(textwrap.dedent(VIEW.format(text="one")))
    module = importlib.import_module("reloadpkg.services.view")
    app = atila.Atila("reloadpkg.app")
    app.mount("/v", module)
    client = Client(app)
    assert client.get("/v/text").text == "one"

    view.write_text(textwrap.dedent(VIEW.format(text="two")))
    assert app.services.reload({str(view)}) is True
    assert client.get("/v/text").text == "two"
    assert app.store.get("umounts") == 1
    assert app.store.get("hooks") == 2  # the old before_request hook was taken back

    view.write_text("def broken(:\n")
    assert app.services.reload({str(view)}) is False
    assert client.get("/v/text").text == "two"
    assert app.services.reload({"/not/a/module.py"}) is False


def test_cross_app_with_an_engine_context() -> None:
    from skitai.context import AppMount, EngineContext
    from skitai.states import LocalStateTable

    main, search = atila.Atila("main"), atila.Atila("search")
    heard: list[str] = []

    @search.route("/query")
    def query(was: Any, q: str = "") -> str:
        return q

    @search.on_broadcast("user:changed")
    def changed(was: Any, userid: str) -> None:
        heard.append(userid)

    @main.route("/")
    def index(was: Any) -> str:
        was.broadcast("user:changed", "u1")
        return was.urlfor("search:query", "a b") + " " + was.apps["main"].build_url("index")

    context = EngineContext(
        (AppMount("main", "/", main), AppMount("rpc", "/rpc", main),
         AppMount("search", "/search", search)),
        LocalStateTable(),
    )  # fmt: skip
    for app in (main, search):
        app.on_worker_start(context)
    assert Client(main).get("/").text == "/search/query?q=a%20b /"
    assert heard == ["u1"]  # once, though main is mounted twice
    assert search.mount_point() == "/search" and main.apps["search"] is search
    for app in (main, search):
        app.on_worker_stop()
