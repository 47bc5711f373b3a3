"""Larger apps through a real Skitai server: a package with service modules mounted by
``__setup__``, route names, mount options, extends/overrides, events and maintenance."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skitai.testing import LiveClient, test_client

SERVE = """
import skitai
import extpkg
import myapp
import overpkg

with skitai.preference() as pref:
    pref.debug = True
    pref.config.FROM_PREF = "pref"
    pref.set_static("/", "myapp/static")
    pref.extends(extpkg)
    pref.overrides(overpkg)
    skitai.mount("/", myapp, pref)
skitai.run()
"""

FILES = {
    "myapp/__init__.py": """
        from . import services

        def __config__(pref):
            pref.config.FROM_CONFIG = "config hook"

        def __setup__(app, mntopt):
            app.mount("/", services)
    """,
    "myapp/wsgi.py": """
        import atila

        app = atila.Atila(__name__)
        app.config.MAINTAIN_INTERVAL = 0.05

        @app.route("/")
        def index(was):
            return "index"

        @app.route("/examples")
        def examples(was):
            return "own examples"

        @app.route("/shared")
        def shared(was):
            return "own shared"

        @app.route("/config")
        def config(was):
            return was.API(pref=app.config.FROM_PREF, hook=app.config.FROM_CONFIG,
                           debug=app.debug)

        @app.maintain(2)
        def tick(was, now, count):
            app.store.inc("ticks")

        @app.route("/ticks")
        def ticks(was):
            return str(app.store.get("ticks", 0))

        @app.on("photo-updated")
        def photo_updated(was):
            app.store.inc("photo-updated")

        @app.on("user-updated")
        @app.emit_after("photo-updated")
        def user_updated(was):
            app.store.inc("user-updated")

        @app.route("/users", methods=["POST"])
        @app.emit_after("user-updated")
        def users(was):
            return "saved"

        @app.on("custom")
        def custom(was, value, suffix=""):
            app.store.set("custom", value + suffix + ":" + type(was).__name__)

        @app.route("/emit/<value>")
        def emit(was, value):
            results = app.emit("custom", value, suffix="!")
            return "emitted %d" % len(results)

        @app.on("request:failed")
        def on_failed(was, exc_info):
            app.store.set("failed", exc_info[0].__name__)

        @app.on("request:finished")
        def on_finished(was):
            app.store.inc("finished")

        @app.route("/boom")
        def boom(was):
            raise ValueError("boom")

        @app.route("/store")
        def store(was):
            return was.API(dict(app.store.items()))
    """,
    "myapp/static/own.css": "own\n",
    "myapp/static/same.css": "own same\n",
    "myapp/services/__init__.py": """
        from . import admin, auth, boards

        def __setup__(app, mntopt):
            app.mount("/boards", boards, threshold=10)
            app.mount("/admin", admin, debug_only=True)
            app.mount("/regist", auth, ns="regist", redirect="index")

        def __mount__(app, mntopt):
            @app.route("/contactus")
            def contactus(was):
                return " ".join([was.urlfor("boards.index.search", q="x y"),
                                 was.urlfor("regist.login"), was.urlfor("index")])
    """,
    "myapp/services/boards/__init__.py": """
        from . import index

        def __setup__(app, mntopt):
            app.mount("/", index, threshold=mntopt["threshold"] + 1)
    """,
    "myapp/services/boards/index.py": """
        def __mount__(app, mntopt):
            @app.route("/search")
            def search(was, q=""):
                return was.API(q=q, point=mntopt["point"], mntopt=__mntopt__)
    """,
    "myapp/services/admin.py": """
        def __mount__(app):
            @app.route("/panel")
            def panel(was):
                return "admin panel"
    """,
    "myapp/services/auth.py": """
        def __mount__(app):
            @app.route("/login")
            def login(was):
                return "login, then " + was.urlfor(__mntopt__["redirect"])
    """,
    "extpkg/__init__.py": """
        import os

        def __config__(pref):
            pref.add_static(os.path.join(os.path.dirname(__file__), "static"))

        def __mount__(app):
            @app.route("/examples")
            def examples(was):
                return "extended examples"

            @app.route("/ext-only")
            def ext_only(was):
                return "extended only"

            @app.route("/shared")
            def shared(was):
                return "extended shared"
    """,
    "extpkg/static/ext.css": "ext\n",
    "extpkg/static/same.css": "ext same\n",
    "overpkg/__init__.py": """
        import os

        def __config__(pref):
            pref.add_static(os.path.join(os.path.dirname(__file__), "static"))

        def __mount__(app):
            @app.route("/shared")
            def shared(was):
                return "overridden shared"
    """,
    "overpkg/static/same.css": "over same\n",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    import textwrap

    root: Path = tmp_path_factory.mktemp("services")
    for name, text in {**FILES, "serve.py": SERVE}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    client = test_client(str(root / "serve.py"), devel=False)
    yield client
    client.stop()


def test_package_services_with_setup_mount_and_options(live: LiveClient) -> None:
    found = live.get("/boards/search?q=abc").json()
    # boards/__init__.__setup__ mounted index with its own options; point is the full prefix
    assert found == {"q": "abc", "point": "/boards", "mntopt": {"threshold": 11}}
    assert live.get("/admin/panel").text == "admin panel"  # debug_only with pref.debug
    assert live.get("/regist/login").text == "login, then /"  # __mntopt__ redirect option


def test_route_names_with_services_stripped_and_ns(live: LiveClient) -> None:
    assert live.get("/contactus").text == "/boards/search?q=x%20y /regist/login /"


def test_preference_and_config_hook_override_the_app(live: LiveClient) -> None:
    assert live.get("/config").json() == {"pref": "pref", "hook": "config hook", "debug": True}


def test_extends_and_overrides_search_order(live: LiveClient) -> None:
    assert live.get("/examples").text == "own examples"  # app beats extended package
    assert live.get("/ext-only").text == "extended only"  # extended services are mounted
    assert live.get("/shared").text == "overridden shared"  # overriding package beats app
    assert live.get("/same.css").text == "over same\n"  # static: overrides, own, extends
    assert live.get("/own.css").text == "own\n"
    assert live.get("/ext.css").text == "ext\n"


def test_events_emit_after_chain_and_request_events(live: LiveClient) -> None:
    before = live.get("/store").json()
    assert live.post("/users").text == "saved"
    assert live.get("/emit/hello").text == "emitted 1"
    assert live.get("/boom").status_code == 500
    after = live.get("/store").json()
    assert after["user-updated"] == before.get("user-updated", 0) + 1
    assert after["photo-updated"] == before.get("photo-updated", 0) + 1
    assert after["custom"] == "hello!:Was"  # emitted in a request: the handler gets its was
    assert after["failed"] == "ValueError"
    assert after["finished"] >= before.get("finished", 0) + 3


def test_maintain_runs_every_n_ticks(live: LiveClient) -> None:
    deadline = time.monotonic() + 10
    while int(live.get("/ticks").text) < 3:
        assert time.monotonic() < deadline, "maintenance job did not run"
        time.sleep(0.05)
