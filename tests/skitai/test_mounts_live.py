"""``skitai.mount`` and ``skitai.run`` through real server scripts.

Every test writes a ``serve.py`` (and the modules it mounts) into a temporary
directory, starts it with the ``serve`` fixture and checks what a client
sees: which app answers a path, what it was told (``SCRIPT_NAME``,
``PATH_INFO``, its preference, command line options), and how many worker
processes and handler threads serve it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from skitai.testing import LiveClient

Serve = Callable[..., LiveClient]

#: A WSGI app factory shared by the scripts: answers "<name> <SCRIPT_NAME>|<PATH_INFO>".
NAMED_APP = """
import json


def named_app(name, routes=None):
    '''An app answering with its name and path; with routes, a RoutableApp.'''

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if routes is not None and path not in routes:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"{name}: no route {path}".encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{name} {environ['SCRIPT_NAME']}|{path}".encode()]

    if routes is None:
        return app

    class Routable:
        def __call__(self, environ, start_response):
            return app(environ, start_response)

        def has_route(self, path):
            return path in routes

    return Routable()
"""


def test_longest_prefix_wins(serve: Serve) -> None:
    client = serve(
        """
        import skitai
        from named import named_app

        skitai.mount("/", named_app("root"))
        skitai.mount("/api/v2", named_app("v2"))
        skitai.mount("/api", named_app("api"))
        skitai.run()
        """,
        files={"named.py": NAMED_APP},
    )
    expected = {
        "/": "root |/",
        "/x/y": "root |/x/y",
        "/apix": "root |/apix",
        "/api": "api /api|",
        "/api/": "api /api|/",
        "/api/users/1": "api /api|/users/1",
        "/api/v20": "api /api|/v20",
        "/api/v2": "v2 /api/v2|",
        "/api/v2/items": "v2 /api/v2|/items",
    }
    for path, body in expected.items():
        response = client.get(path)
        assert (response.status_code, response.text) == (200, body), path


def test_nothing_matches_is_404(serve: Serve) -> None:
    client = serve(
        """
        import skitai
        from named import named_app

        skitai.mount("/api", named_app("api"))
        skitai.run()
        """,
        files={"named.py": NAMED_APP},
    )
    for path in ("/", "/apix", "/other/api"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.text == "Not Found\n"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert client.get("/api/ok").text == "api /api|/ok"


def test_app_and_static_share_the_root(serve: Serve) -> None:
    # The spec's Vue example: app routes answer, other paths fall to the static
    # files, and what neither has is the app's own 404.
    client = serve(
        """
        import skitai
        from named import named_app

        app = named_app("app", routes={"/api/hello", "/login"})
        skitai.mount("/", app)
        skitai.mount("/", skitai.joinpath("dist"))
        skitai.run()
        """,
        files={
            "named.py": NAMED_APP,
            "dist/index.html": "<div id=app></div>",
            "dist/js/app.js": "new Vue({})",
            "dist/login": "a static file shadowed by the app route",
        },
    )
    assert client.get("/api/hello").text == "app |/api/hello"
    assert client.get("/login").text == "app |/login"  # the app comes first at "/"
    index = client.get("/")
    assert index.status_code == 200 and index.text == "<div id=app></div>"
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    script = client.get("/js/app.js")
    assert script.status_code == 200 and script.text == "new Vue({})"
    assert "ETag" in script.headers  # served by the static files, not the app
    missing = client.get("/js/missing.js")
    assert missing.status_code == 404
    assert missing.text == "app: no route /js/missing.js"


def test_static_first_then_app(serve: Serve) -> None:
    # The spec's "Simple App": skitai.mount('/', './static') before the app.
    client = serve(
        """
        import skitai
        from named import named_app

        skitai.mount("/", "./static")
        skitai.mount("/", named_app("app"))
        skitai.run()
        """,
        files={"named.py": NAMED_APP, "static/robots.txt": "User-agent: *\n"},
    )
    assert client.get("/robots.txt").text == "User-agent: *\n"
    assert client.get("/anything").text == "app |/anything"
    assert client.get("/").text == "app |/"  # static/ has no index.html


def test_static_mount_without_fallback_is_404(serve: Serve) -> None:
    client = serve(
        """
        import skitai
        from named import named_app

        skitai.mount("/", named_app("app", routes={"/only"}))
        skitai.mount("/files", "files")
        skitai.run()
        """,
        files={"named.py": NAMED_APP, "files/a.txt": "A"},
    )
    assert client.get("/files/a.txt").text == "A"
    assert client.get("/files/b.txt").status_code == 404
    assert client.get("/only").text == "app |/only"


# -- mount targets ------------------------------------------------------------------


def test_every_target_form(serve: Serve) -> None:
    client = serve(
        """
        import skitai
        import mod_app

        skitai.mount("/callable", mod_app.app)
        skitai.mount("/module", mod_app)
        skitai.mount("/module-name", "mod_app")
        skitai.mount("/file", "app_v1/app.py", "app")
        skitai.mount("/file-other-name", "app_v1/app.py", "other")
        skitai.mount("/spec", "pkg/wsgi:application")
        skitai.mount("/dotted", "pkg.wsgi:application")
        skitai.mount("/package", "wsgipkg")
        skitai.mount("/dir", "public")
        skitai.run()
        """,
        files={
            "mod_app.py": APP_SOURCE.format(name="mod_app"),
            "app_v1/app.py": APP_SOURCE.format(name="app_v1") + "other = named('app_v1.other')\n",
            "pkg/__init__.py": "",
            "pkg/wsgi.py": "application = __import__('mod_app').named('pkg.wsgi')\n",
            "wsgipkg/__init__.py": "",
            "wsgipkg/wsgi.py": "app = __import__('mod_app').named('wsgipkg.wsgi')\n",
            "public/hello.txt": "static hello",
        },
    )
    expected = {
        "/callable/x": "mod_app /callable|/x",
        "/module/x": "mod_app /module|/x",
        "/module-name/x": "mod_app /module-name|/x",
        "/file/x": "app_v1 /file|/x",
        "/file-other-name/x": "app_v1.other /file-other-name|/x",
        "/spec/x": "pkg.wsgi /spec|/x",
        "/dotted/x": "pkg.wsgi /dotted|/x",
        "/package/x": "wsgipkg.wsgi /package|/x",
        "/dir/hello.txt": "static hello",
    }
    for path, body in expected.items():
        response = client.get(path)
        assert (response.status_code, response.text) == (200, body), path


APP_SOURCE = """
def named(name):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{{name}} {{environ['SCRIPT_NAME']}}|{{environ['PATH_INFO']}}".encode()]
    return app


app = named("{name}")
"""

#: An app that keeps the preference it was mounted with and reports it as JSON.
CONFIGURABLE_APP = """
import json


class ConfigurableApp:
    def __init__(self):
        self.pref = None

    def apply_preference(self, pref):
        self.pref = pref

    def __call__(self, environ, start_response):
        pref = self.pref
        report = {
            "options": pref.options() if pref else None,
            "config": dict(pref.config) if pref else None,
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(report).encode()]


app = ConfigurableApp()
"""


def test_preference_context_manager_reaches_the_app(serve: Serve) -> None:
    client = serve(
        """
        import skitai

        with skitai.preference() as pref:
            pref.debug = True
            pref.use_reloader = True
            pref.max_client_body_size = 1024
            pref.config["prefA"] = 1
            pref.config.prefB = "two"
            skitai.mount("/v1", "app_v1/app.py", "app", pref)
        skitai.run()
        """,
        files={"app_v1/app.py": CONFIGURABLE_APP},
    )
    report = client.get("/v1/").json()
    assert report["options"] == {"debug": True, "use_reloader": True, "max_client_body_size": 1024}
    assert report["config"] == {"prefA": 1, "prefB": "two"}
    # The mount's max_client_body_size is the server's limit for it.
    assert client.post("/v1/", data=b"x" * 1000).status_code == 200
    assert client.post("/v1/", data=b"x" * 2000).status_code == 413


def test_package_config_hook_and_set_static(serve: Serve) -> None:
    client = serve(
        """
        import skitai
        import myapp

        with skitai.preference() as pref:
            pref.config.from_serve = "serve.py"
            skitai.mount("/", myapp, pref)
        skitai.run()
        """,
        files={
            "myapp/__init__.py": """
                import os

                from .app import app


                def __config__(pref):
                    pref.config.MYSETTING = "set in __config__"
                    pref.set_static("/assets", os.path.join(os.path.dirname(__file__), "static"))
                    pref.set_media("/media", os.path.join(os.path.dirname(__file__), "media"))
            """,
            "myapp/app.py": CONFIGURABLE_APP,
            "myapp/static/logo.svg": "<svg/>",
            "myapp/media/upload.txt": "uploaded",
        },
    )
    report = client.get("/").json()
    config = report["config"]
    assert config["from_serve"] == "serve.py"
    assert config["MYSETTING"] == "set in __config__"
    assert config["STATIC_URL"] == "/assets"
    assert config["STATIC_ROOT"].endswith("myapp/static")
    assert config["MEDIA_URL"] == "/media"
    logo = client.get("/assets/logo.svg")
    assert logo.status_code == 200 and logo.text == "<svg/>"
    assert logo.headers["Content-Type"] == "image/svg+xml"
    assert client.get("/media/upload.txt").text == "uploaded"
    # A file the static mount does not have falls through to the app at "/".
    assert client.get("/assets/missing.svg").json()["config"]["MYSETTING"] == "set in __config__"


def test_file_target_runs_the_package_config_of_its_directory(serve: Serve) -> None:
    # Spec: "create __init__.py at same directory with app.py" with __config__(pref).
    client = serve(
        """
        import skitai

        with skitai.preference() as pref:
            pref.config.urlfile = skitai.joinpath("urls.txt")
            skitai.mount("/v1", "app_v1/app.py", "app", pref)
        skitai.run()
        """,
        files={
            "urls.txt": "a  http://a\nb  http://b\n",
            "app_v1/__init__.py": """
                def __config__(pref):
                    with open(pref.config.urlfile) as f:
                        lines = f.read().splitlines()
                    pref.config.urllist = [line.split("  ", 4) for line in lines]
            """,
            "app_v1/app.py": CONFIGURABLE_APP,
        },
    )
    assert client.get("/v1/").json()["config"]["urllist"] == [["a", "http://a"], ["b", "http://b"]]


def test_joinpath_is_relative_to_the_script(serve: Serve, tmp_path: Path) -> None:
    client = serve(
        """
        import os

        os.chdir("/")  # joinpath must not depend on the working directory
        import skitai


        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [skitai.joinpath("a", "b.txt").encode()]


        skitai.mount("/", app)
        skitai.mount("/files", skitai.joinpath("files"))
        skitai.run()
        """,
        files={"files/f.txt": "F"},
    )
    assert client.get("/").text == str(tmp_path / "a" / "b.txt")
    assert client.get("/files/f.txt").text == "F"


# -- command line -----------------------------------------------------------------------


OPTIONS_SERVER = """
import json
import os
import threading

import skitai

skitai.add_option("--flag", default="unset", help="a custom option")
skitai.add_option("--verbose-mode", action="store_true")
OPTIONS = skitai.options()


def app(environ, start_response):
    report = {
        "flag": OPTIONS.flag,
        "verbose": OPTIONS.verbose_mode,
        "pid": os.getpid(),
        "threads": sorted(
            t.name for t in threading.enumerate() if t.name.startswith("skitai-handler")
        ),
        "multiprocess": environ["wsgi.multiprocess"],
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(report).encode()]


skitai.mount("/", app)
skitai.run(workers=1, threads=1)
"""


def test_custom_option_from_the_command_line(serve: Serve) -> None:
    client = serve(OPTIONS_SERVER, "--flag", "hello", "--verbose-mode")
    report = client.get("/").json()
    assert report["flag"] == "hello" and report["verbose"] is True


def test_custom_option_default(serve: Serve) -> None:
    report = serve(OPTIONS_SERVER).get("/").json()
    assert report["flag"] == "unset" and report["verbose"] is False
    assert report["threads"] == ["skitai-handler-0"]  # run(threads=1)
    assert report["multiprocess"] is False


def test_threads_and_workers_flags_override_run(serve: Serve) -> None:
    client = serve(OPTIONS_SERVER, "--workers", "2", "--threads", "3", "--flag=x")
    first = client.get("/").json()
    assert first["flag"] == "x"
    assert first["threads"] == ["skitai-handler-0", "skitai-handler-1", "skitai-handler-2"]
    assert first["multiprocess"] is True
    pids = {first["pid"]}
    for _ in range(200):  # a new connection each time: any worker may accept it
        pids.add(requests.get(client.url_for("/"), timeout=10).json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2
    assert client.process is not None and client.process.pid not in pids  # the master serves none
