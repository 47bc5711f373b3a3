"""App lifecycle hooks and hot reloading through a real Skitai server.

One server runs the whole story: start, a service module edited while the
server answers (reloaded in place), an edit with a syntax error (the previous
version keeps serving), then shutdown; the hooks log to a file checked last.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from skitai.testing import LiveClient

SERVE = """
import skitai
import lifeapp

with skitai.preference() as pref:
    pref.use_reloader = True
    skitai.mount("/", lifeapp, pref)
skitai.run()
"""

PAGE = """
from lifeapp.log import log

TEXT = "{text}"

def __mount__(app, mntopt):
    log("page.__mount__ " + TEXT)

    @app.route("")
    def page(was):
        return TEXT

def __umount__(app):
    log("page.__umount__ " + TEXT)
"""

FILES = {
    "lifeapp/__init__.py": """
        from . import services

        def __setup__(app, mntopt):
            app.mount("/", services)
    """,
    "lifeapp/log.py": """
        import os

        LOG = os.path.join(os.path.dirname(os.path.dirname(__file__)), "lifecycle.log")

        def log(line):
            with open(LOG, "a") as f:
                f.write(line + "\\n")
    """,
    "lifeapp/wsgi.py": """
        import atila
        from lifeapp.log import log

        app = atila.Atila(__name__)

        def logger_for(event):
            def handler(wac):
                log(event + " " + type(wac).__name__)
            handler.__name__ = event
            return handler

        for event in ("before_mount", "mounted", "mounted_or_reloaded", "before_reload",
                      "reloaded", "before_umount", "umounted"):
            getattr(app, event)(logger_for(event))

        @app.before_mount
        def register_engine(wac):
            wac.register("searcher", "the searcher")

        @app.route("/searcher")
        def searcher(was):
            return was.searcher
    """,
    "lifeapp/services/__init__.py": """
        from lifeapp.log import log
        from . import page

        def __setup__(app):
            log("services.__setup__")
            app.mount("/page", page)
    """,
    "lifeapp/services/page.py": PAGE.format(text="first"),
}


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_lifecycle_order_and_hot_reload(serve: Callable[..., LiveClient], tmp_path: Path) -> None:
    live = serve(SERVE, files=FILES)
    page = tmp_path / "lifeapp/services/page.py"
    assert live.get("/page").text == "first"
    assert live.get("/searcher").text == "the searcher"  # wac.register -> was.searcher

    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:  # another client, served all through the reload
        other = live.clone()  # not "with": leaving it would stop the shared server
        while not stop.is_set():
            statuses.append(other.get("/page").status_code)
        other.close()

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        page.write_text(PAGE.format(text="second"))
        _wait_for(lambda: live.get("/page").text == "second", "the edited module to serve")
    finally:
        stop.set()
        asker.join()
    assert statuses and set(statuses) == {200}

    page.write_text(PAGE.format(text="third") + "\ndef broken(:\n")
    assert live.server is not None
    _wait_for(lambda: "not reloading" in live.server.output_tail(), "the syntax error report")
    assert live.get("/page").text == "second"  # the previous version keeps serving
    live.stop()

    log = (tmp_path / "lifecycle.log").read_text().splitlines()
    assert log == [
        "before_mount AppContext",
        "services.__setup__",
        "page.__mount__ first",
        "mounted AppContext",
        "mounted_or_reloaded AppContext",
        "before_reload AppContext",
        "page.__umount__ first",
        "page.__mount__ second",
        "reloaded AppContext",
        "mounted_or_reloaded AppContext",
        "before_umount AppContext",
        "page.__umount__ second",
        "umounted AppContext",
    ]


APP_SERVE = """
import skitai

with skitai.preference() as pref:
    pref.use_reloader = True
    pref.config.FROM_PREF = "pref"
    skitai.mount("/", "appmod.py", pref)
    skitai.mount("/other", "other.py")
skitai.run()
"""

APP_MODULE = """
import atila

app = atila.Atila(__name__)
app.config.VERSION = "{version}"

@app.route("/")
def index(was):
    return " ".join([app.config.VERSION, app.config.FROM_PREF, was.urlfor("index")])

@app.route("/extra-{version}")
def extra(was):
    return "extra"
"""

OTHER = """
import atila

app = atila.Atila(__name__)

@app.route("/peer")
def peer(was):
    return was.apps["appmod"].config.VERSION + " " + was.urlfor("appmod:index")
"""


def test_app_module_reload_replaces_the_app(
    serve: Callable[..., LiveClient], tmp_path: Path
) -> None:
    files = {"appmod.py": APP_MODULE.format(version="one"), "other.py": OTHER}
    live = serve(APP_SERVE, files=files)
    assert live.get("/").text == "one pref /"
    assert live.get("/other/peer").text == "one /"

    (tmp_path / "appmod.py").write_text(APP_MODULE.format(version="two"))
    _wait_for(lambda: live.get("/").text == "two pref /", "the reloaded app")
    assert live.get("/extra-two").text == "extra"
    assert live.get("/extra-one").status_code == 404
    assert live.get("/other/peer").text == "two /"  # was.apps gives the new app
