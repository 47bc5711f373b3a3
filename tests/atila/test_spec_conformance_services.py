"""Black-box conformance with the spec's larger-app sections, through running servers.

Spec (spec/atila-framework.txt) sections exercised, each example run with minimal
adaptation (typos fixed, ``...`` bodies filled in so a test can observe them):
"Resource Structure For Larger App", "Runtime App Preference", "Implicit Mount Services
On Your App", "Mounting Directories", "Mounting Services With Options", "Setup Services",
"Recursive Sub Services Mounting", "Unmounting Resources", "URL Building with Namespace",
"Piping", "Access Environment Variables", "Define Autoruns", "Define Conditional
Prework", "Inter Process Update Notification", "App Lifecycle Hook", "App Event
Handling", "App Storage", "Inverval Base App Maintenancing", "Creating and Handling
Custom Event", "Cross App Communication & Accessing Resources", "Communication with
Event", "Inheritance and Overriding", "Unrouting", "Standard package structure" and
"VueJS with Skito-Atila".

Observations that must hold whatever worker answers go through a log file the apps
append to (``LOG``), so the multi-worker server needs no sticky connections.
Deliberate readings of the spec are in docs/atila-services.md.
"""

from __future__ import annotations

import os
import sqlite3
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from skitai.testing import LiveClient, test_client

LOG_HELPER = """
    import os
    import time

    LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.log")

    def log(*parts):
        with open(LOG, "a") as f:
            f.write(" ".join(str(p) for p in parts) + "\\n")
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def fresh_get(client: LiveClient, path: str, **kwargs: object) -> requests.Response:
    """A GET on a new connection (so a multi-worker server may answer from any worker)."""
    return requests.get(client.url_for(path), headers={"Connection": "close"}, timeout=10, **kwargs)  # type: ignore[arg-type]


# =====================================================================================
# Server A: "Resource Structure For Larger App" package + every mount-option example
# =====================================================================================

PACKAGE_FILES = {
    "helpers.py": LOG_HELPER,
    # serve.py, as in the spec (port comes from --port)
    "serve.py": """
        import skitai
        import myapp

        with skitai.preference () as pref:
          pref.use_reloader = True
          pref.securekey = "larger-app-secret"
          skitai.mount ('/', myapp, pref)
        skitai.run (ip = '0.0.0.0', port = 5000)
    """,
    # myapp/__init__.py ("import os" added: the spec's example uses os without it)
    "myapp/__init__.py": """
        import os
        import skitai
        from . import services

        __version__ = "1.0.0"

        def __config__ (pref):
          pref.config.MYSETTTING = '...'
          pref.set_static ('/', os.path.join (os.path.dirname (__file__), 'static'))
          pref.set_media ('/media', os.path.join (os.path.dirname (__file__), '..', 'media'))

          skitai.mount (
            '/resources',
            os.path.join (os.path.dirname (__file__), 'resources')
          )

        def __setup__ (app, mntopt):
          # app.mount () SHOULD be called in __setup__ ()
          app.mount ('/', services)
    """,
    "myapp/wsgi.py": """
        import os
        from atila import Atila
        from helpers import log

        app = Atila (__name__)
        # "Mounting Directories"
        app.mount ('/files', os.path.join (os.path.dirname (__file__), 'files'))

        for _event in ("before_mount", "mounted", "mounted_or_reloaded", "before_reload",
                       "reloaded", "before_umount", "umounted"):
          app.on (_event) (lambda wac, _event = _event: log ("lifecycle", _event))

        @app.route ("/config")
        def config (was):
          return was.API (MYSETTTING = app.config.MYSETTTING,
                          STATIC_URL = app.config.STATIC_URL,
                          MEDIA_URL = app.config.MEDIA_URL,
                          use_reloader = app.use_reloader,
                          debug = app.debug)
    """,
    "myapp/static/site.css": "body {}\n",
    "myapp/files/readme.txt": "app directory mount\n",
    "myapp/resources/data.txt": "resource file\n",
    "media/upload.txt": "media file\n",
    # service/__init__.py of the spec, plus the mounts of the "Mounting Services" examples
    "myapp/services/__init__.py": """
        from . import feature1
        from . import feature2
        from . import auth, signout_mod, dbg, secured, foo, examples, v1, umountable

        def __setup__ (app, mntopt):
          app.mount ('/feature1', feature1)
          app.mount ('/feature2', feature2)
          # "Mounting Services With Options"
          app.mount ( '/regist', auth, ns = "regist")
          app.mount (signout_mod, redirect = "index")
          app.mount ('/dbg', dbg, debug_only = True)
          app.mount ('/secured', secured, authenticate = "bearer")
          # "Setup Services"
          app.mount ('/', foo, base_path = '/home/ubuntu')
          # "Recursive Sub Services Mounting"
          app.mount ('/examples', examples, threshold = 10)
          # "URL Building with Namespace"
          app.mount ('/', v1)
          # "Unmounting Resources"
          app.mount ('/umountable', umountable)

        def __mount__ (app, mntopt):
          @app.route ('/')
          def index (was):
            return '<a href="{}">Feature 1</a> | <a href="{}">Feature 2</a>'.format (
              was.urlfor ('feature1.index'),
              was.urlfor ('feature2.index')
            )

          @app.route ('/contactus')
          def contactus (was):
            return 'Contact Us'
    """,
    "myapp/services/feature1.py": """
        def __mount__ (app, mntopt):
          @app.route ('') # this is mapped as '/feature1'
          def index (was):
            return 'Feature 1 Index'

          @app.route ('/intro')  # this is mapped as '/feature1/intro'
          def contactus (was):
            return 'Feature 1 Intro'
    """,
    "myapp/services/feature2/__init__.py": """
        def __mount__ (app, mntopt):
          @app.route ('')
          def index (was):
            return 'Feature 2 Index'
    """,
    "myapp/services/auth.py": """
        def __mount__ (app, mntopt):
          @app.route ("/login")
          def login (was):
            return was.API (url = was.urlfor ("regist.login"))
    """,
    "myapp/services/signout_mod.py": """
        def __mount__ (app):
          @app.route ("/regist/signout")
          def signout (was):
              was.request.mbox.push ("Signed out successfully", "success")
              return was.redirect (was.urlfor (__mntopt__.get ("redirect", 'index')))

          @app.route ("/regist/mntopt")
          def show_mntopt (was):
              return was.API (mntopt = __mntopt__)
    """,
    "myapp/services/dbg.py": """
        def __mount__ (app):
          @app.route ("/only")
          def only (was):
            return "debug only"
    """,
    "myapp/services/secured.py": """
        def __mount__ (app):
          @app.route ("/data")
          def data (was):
            return "secret data"
    """,
    "myapp/services/foo.py": """
        BASE_PATH = '/var'

        def __setup__ (app, mntopt):
          global BASE_PATH
          BASE_PATH = mntopt.get ('base_path', BASE_PATH)

        def __mount__ (app):
          @app.route ("/base-path")
          def base_path (was):
            return BASE_PATH
    """,
    "myapp/services/examples/__init__.py": """
        from . import foo, bar

        def __setup__ (app, mntopt):
          app.mount ('/foo', foo, threshold = mntopt.get ('threshold', 5))
          app.mount ('/bar', bar)
    """,
    "myapp/services/examples/foo.py": """
        def __mount__ (app, mntopt):
          @app.route ('')
          def threshold (was):
            return str (mntopt ['threshold'])
    """,
    "myapp/services/examples/bar.py": """
        def __mount__ (app, mntopt):
          @app.route ('')
          def bar (was):
            return 'bar'
    """,
    "myapp/services/v1/__init__.py": """
        from . import account

        def __setup__ (app, mntopt):
          app.mount ('/v1', account)
    """,
    "myapp/services/v1/account.py": """
        def __mount__ (app):
          @app.route ("/register")
          def register (was):
            return "register"

          @app.route ("/register-url")
          def register_url (was):
            return was.urlfor ("v1.account.register")
    """,
    "myapp/services/umountable.py": """
        import helpers

        class Resource:
          def close (self):
            helpers.log ("umount", "resource closed")

        resource = Resource ()

        def __mount__ (app):
          @app.route ('')
          def show (was):
            return "mounted"

        def __umount__ (app):
          resource.close ()
          app.someghing = None
    """,
}


@pytest.fixture(scope="module")
def pkg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, Path]]:
    root = tmp_path_factory.mktemp("larger_app")
    write_tree(root, PACKAGE_FILES)
    client = test_client(str(root / "serve.py"), devel=False)
    try:
        yield client, root
    finally:
        client.stop()


class TestResourceStructureForLargerApp:
    def test_services_index_links_to_features(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/")
        assert resp.status_code == 200
        assert resp.text == '<a href="/feature1">Feature 1</a> | <a href="/feature2">Feature 2</a>'

    def test_contactus(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        assert client.get("/contactus").text == "Contact Us"

    def test_feature1_empty_route_is_mount_point(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/feature1")
        assert (resp.status_code, resp.text) == (200, "Feature 1 Index")
        assert client.get("/feature1/intro").text == "Feature 1 Intro"

    def test_feature_package_module(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        assert client.get("/feature2").text == "Feature 2 Index"

    def test_config_hook_values_reach_the_app(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        data = client.get("/config").json()
        assert data["MYSETTTING"] == "..."
        assert data["STATIC_URL"] == "/"
        assert data["MEDIA_URL"] == "/media"
        assert data["use_reloader"] is True

    def test_set_static_from_config_hook(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/site.css")
        assert resp.status_code == 200
        assert resp.text == "body {}\n"
        assert resp.headers["content-type"].startswith("text/css")

    def test_set_media_from_config_hook(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/media/upload.txt")
        assert (resp.status_code, resp.text) == (200, "media file\n")

    def test_skitai_mount_inside_config_hook(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/resources/data.txt")
        assert (resp.status_code, resp.text) == (200, "resource file\n")

    def test_app_mount_directory(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        resp = client.get("/files/readme.txt")
        assert (resp.status_code, resp.text) == (200, "app directory mount\n")
        assert client.get("/files/../wsgi.py").status_code == 404
        assert client.get("/files/%2e%2e/wsgi.py").status_code == 404

    def test_unknown_path_404(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        assert client.get("/no/such/thing").status_code == 404


class TestMountingServicesWithOptions:
    def test_point_prefixes_routes(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        # "Finally, route of login is '/regist/login'."
        resp = client.get("/regist/login")
        assert resp.status_code == 200

    def test_ns_names(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        # {{ was.urlfor ("regist.login") }}
        assert client.get("/regist/login").json()["url"] == "/regist/login"

    def test_custom_option_is_mntopt(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        # app.mount (auth, redirect = "index") -> auth.__mntopt__ = {"redirect": "index"}
        assert client.get("/regist/mntopt").json()["mntopt"] == {"redirect": "index"}
        resp = client.get("/regist/signout", allow_redirects=False)
        assert resp.status_code in (301, 302, 303, 307)
        assert resp.headers["location"].endswith("/")

    def test_debug_only_not_mounted_without_debug(
        self, pkg_server: tuple[LiveClient, Path]
    ) -> None:
        client, _ = pkg_server
        assert client.get("/dbg/only").status_code == 404

    def test_authenticate_bearer_applies_to_all_routes(
        self, pkg_server: tuple[LiveClient, Path]
    ) -> None:
        client, _ = pkg_server
        resp = client.get("/secured/data")
        assert resp.status_code == 401
        assert "bearer" in resp.headers.get("www-authenticate", "").lower()

    def test_setup_hook_reads_mount_options(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        assert client.get("/base-path").text == "/home/ubuntu"

    def test_recursive_mount(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        # "As a result, foo will be mounted on /examples/foo." with the parent's option
        resp = client.get("/examples/foo")
        assert (resp.status_code, resp.text) == (200, "10")
        assert client.get("/examples/bar").text == "bar"

    def test_url_building_with_namespace(self, pkg_server: tuple[LiveClient, Path]) -> None:
        client, _ = pkg_server
        assert client.get("/v1/register").text == "register"
        assert client.get("/v1/register-url").text == "/v1/register"


def test_reload_and_umount(tmp_path: Path) -> None:
    """ "Hot Reloading", "Unmounting Resources" and "App Lifecycle Hook": a changed service
    module is reloaded in place, its __umount__ runs before, the reload hooks around it;
    __umount__ runs again when the app is unmounted from Skitai (server stop)."""
    write_tree(tmp_path, PACKAGE_FILES)
    log = tmp_path / "events.log"
    client = test_client(str(tmp_path / "serve.py"), devel=False)
    try:
        assert client.get("/umountable").text == "mounted"
        assert [line.split()[1] for line in read_log(log) if line.startswith("lifecycle")] == [
            "before_mount",
            "mounted",
            "mounted_or_reloaded",
        ]
        time.sleep(0.3)  # the watcher is running
        module = tmp_path / "myapp/services/umountable.py"
        module.write_text(module.read_text().replace('return "mounted"', 'return "remounted"'))
        assert wait_for(lambda: client.get("/umountable").text == "remounted")
        assert wait_for(lambda: read_log(log)[-1:] == ["lifecycle mounted_or_reloaded"])
        events = [line for line in read_log(log)[3:]]
        assert events == [
            "lifecycle before_reload",
            "umount resource closed",
            "lifecycle reloaded",
            "lifecycle mounted_or_reloaded",
        ]
        assert client.get("/feature1").text == "Feature 1 Index"  # the rest kept serving
    finally:
        client.stop()
    tail = read_log(log)[7:]
    assert tail == ["lifecycle before_umount", "umount resource closed", "lifecycle umounted"]


# =====================================================================================
# Server B: single app.py — implicit services, piping, env, autoruns, conditional
# prework, inter-process update, lifecycle, events, storage, maintenance (2 workers)
# =====================================================================================

APP_FILES = {
    "helpers.py": LOG_HELPER,
    "templates/sign/signin.html": "<form>signin next={{ next_url }}</form>",
    "services/__init__.py": "",
    # services/auth.py of "Implicit Mount Services On Your App" (``auth.authenticate`` of
    # the spec is a user database call: a small stand-in is defined here)
    "services/auth.py": """
        # shared utility functions used by views

        def titlize (s):
          return s.title ()

        def authenticate (username, password):
          return username == "hans" and password == "secret" or None

        def __mount__ (app):
          @app.login_handler
          def login_handler (was):
            if was.request.session.get ("username"):
              return
            next_url = not was.request.uri.endswith ("signout") and was.request.uri or ""
            return was.redirect (was.urlfor ("signin", next_url))

          @app.route ("/signout")
          def signout (was):
            was.request.session.remove ("username")
            was.request.mbox.push ("Signed out successfully", "success")
            return was.redirect (was.urlfor ('index'))

          @app.route ("/signin")
          def signin (was, next_url = None, **form):
            if was.request.args.get ("username"):
              user = authenticate (username = was.request.args ["username"],
                                   password = was.request.args ["password"])
              if user:
                was.request.session.set ("username", was.request.args ["username"])
                return was.redirect (was.request.args ["next_url"])
              else:
                was.request.mbox.push ("Invalid User Name or Password", "error",
                                       icon = "new_releases")
            return was.render ("sign/signin.html", next_url = next_url or was.urlfor ("index"))

          @app.route ("/private")
          @app.login_required
          def private (was):
            return "private " + was.request.session.get ("username")
    """,
    "services/boards/__init__.py": "",
    "services/boards/index.py": """
        def __mount__ (app):
          @app.route ('/search')
          def search (was, q):
            return "found " + q
    """,
    "config.txt": "v1\n",
    "other.py": """
        from atila import Atila

        app = Atila (__name__)

        # app mounted to 'def.com/'
        @app.route ("/")
        def index (was):
          return was.searcher.query ("news")
    """,
    "app.py": """
        import os
        import sys
        import threading

        import skitai
        from atila import Atila

        import helpers
        from helpers import log
        from services import auth
        from services.boards import index as board_index

        HERE = os.path.dirname (os.path.abspath (__file__))

        app = Atila (__name__)

        app.debug = True
        app.use_reloader = True
        app.securekey = "implicit-mount-secret"
        app.config.MAINTAIN_INTERVAL = 0.05  # seconds, default is 60
        app.store.set ("num-nodes", 0) # thread safe store

        # ------------------------------------------------------------ Piping
        @app.route ("/1")
        @app.inspect (offset = int)
        def index (was, offset = 1):
            return was.API (result = offset)

        @app.route ("/2")
        def index2 (was):
            return was.pipe (index)

        @app.route ("/3")
        def index3 (was):
            return was.pipe (index, offset = 4)

        @app.route ("/4")
        def index4 (was):
            return was.pipe ('index', offset = 't')

        @app.route ("/board")
        def board (was):
            return was.pipe ('boards.index.search', q = 'news')

        # ------------------------------------------------------------ Environment
        @app.route ("/env")
        def env (was):
            ua = None
            if "HTTP_USER_AGENT" in was.request.env:
              ua = was.request.env ["HTTP_USER_AGENT"]
            return was.API (ua = ua, ctype = was.request.env.get ("CONTENT_TYPE"),
                            alias = was.env is was.request.env)

        # ------------------------------------------------------------ Autoruns
        def pre1 (was):
          log ("pre1", was.request.uri)

        def pre2 (was):
          log ("pre2", was.request.uri)
          if was.request.args.get ("abort"):
            return "aborted by pre2"

        def post1 (was):
          log ("post1", was.request.uri)
          return "post1 result is ignored"

        @app.route ("/autorun")
        @app.run_before (pre1, pre2)
        @app.run_after (post1)
        def autorun (was, abort = None):
          log ("main", was.request.uri)
          return "main"

        # ------------------------------------------------------------ Conditional prework
        def reload_config (was, path):
          with open (path) as f:
            app.store.set ("config", f.read ().strip ())

        @app.route ("/conf")
        @app.if_file_modified (os.path.join (HERE, "config.txt"), reload_config, interval = 1)
        def conf (was):
          return app.store.get ("config", "")

        # ------------------------------------------------------------ Inter-process update
        @app.route ("/weather/add")
        def add_weather (was):
          was.setlu ("weather-news")
          return str (was.getlu ("weather-news"))

        def reload_cache (was, key):
          app.store.set ("weather-loaded", was.getlu (key))

        @app.route ("/weather")
        @app.if_updated ('weather-news', reload_cache)
        def weather (was):
          return str (app.store.get ("weather-loaded"))

        # ------------------------------------------------------------ Lifecycle hooks
        class SNSLoginEngine:
          def __init__ (self, logger):
            self.logger = logger
          def reset (self):
            pass
          def check_user_to (self, provider):
            return "checked " + provider

        class FulltextSearcher:
          def __init__ (self, numthreads):
            self.numthreads = numthreads
          def query (self, q):
            return "searched %s with %d threads" % (q, self.numthreads)

        @app.before_mount
        def before_mount (wac):
          log ("before_mount", os.getpid ())
          logger = wac.logger.get ("app")
          # OR
          logger = wac.logger.make_logger ("login", "daily")
          logger.info ("before_mount")
          config = wac.config
          wac.register ("loginengine", SNSLoginEngine (logger))
          wac.register ("searcher", FulltextSearcher (wac.numthreads))

        @app.before_reload
        def before_remount (wac):
          wac.loginengine.reset ()

        def create_cache (res):
          d = {}
          for row in res.data:
            d [row.code] = row.name
          app.store.set ('STATENAMES', d)

        @app.mounted
        def mounted (was):
          log ("mounted", os.getpid ())
          was.db ('@mydb', callback = create_cache).execute ("select code, name from states;")

        @app.route ("/states")
        def states (was):
          return was.API (app.store.get ('STATENAMES') or {})

        @app.mounted_or_reloaded
        def mounted_or_reloaded (was):
          log ("mounted_or_reloaded", os.getpid ())

        @app.before_umount
        def before_umount (was):
          log ("before_umount", os.getpid ())

        @app.umounted
        def umounted (wac):
          wac.unregister ("loginengine")
          wac.unregister ("searcher")
          log ("umounted", os.getpid ())

        # app mounted to 'abc.com/register'
        @app.route ("/register")
        def register (was):
          return was.loginengine.check_user_to ("facebook") + "; " + was.searcher.query ("ipad")

        # ------------------------------------------------------------ App events
        @app.on ("request:failed")
        def request_failed_handler (was, exc_info):
          print ("I got it!")
          log ("request:failed", exc_info [0].__name__)

        for _event in ("request:before_start", "request:success", "request:teardown",
                       "request:finished"):
          def _handler (was, *args, _event = _event):
            if was.request.uri.startswith ("/events/"):
              log (_event, was.request.uri)
          app.on (_event) (_handler)

        @app.route ("/events/ok")
        def events_ok (was):
          return "ok"

        @app.route ("/events/fail")
        def events_fail (was):
          raise RuntimeError ("boom")

        # ------------------------------------------------------------ App storage
        @app.route ("/users/count", methods = ["POST"])
        def count_user (was):
          total = app.store.get ("total-user", 0)
          app.store.set ("total-user", total + 1)
          return str (app.store.get ("total-user"))

        # ------------------------------------------------------------ Maintenance
        @app.maintain (10, threading = False) # execute every 10 maintaining
        def maintain_num_nodes (was, now, count):
          num_nodes = was.getlu ("cluster.num-nodes")
          if app.store ["num-nodes"] != num_nodes:
            app.store ["num-nodes"] = num_nodes
            app.broadcast ("cluster:num_nodes")

        @app.on_broadcast ("cluster:num_nodes")
        def num_nodes_changed (was):
          log ("cluster:num_nodes", os.getpid ())

        try:
          @app.maintain (3)
          def maintain_num_nodes (was, now, count):
            pass
        except ValueError:
          app.config.DUPLICATE_MAINTAIN = "refused"
        else:
          app.config.DUPLICATE_MAINTAIN = "accepted"

        @app.route ("/maintain/duplicate")
        def dup (was):
          return app.config.DUPLICATE_MAINTAIN

        # ------------------------------------------------------------ Custom events
        @app.on ("user-updated")
        def user_updated_direct (was, user):
          log ("user-updated", user)

        @app.route ('/users', methods = ["POST"])
        def users (was):
          args = was.request.json ()
          app.emit ("user-updated", args ['userid'])
          return ''

        @app.on ("photo-updated")
        def photo_updated (was):
          log ("photo-updated")

        @app.on ("user-touched")
        @app.emit_after ("photo-updated")
        def user_touched (was):
          log ("user-touched")

        @app.route ('/users2', methods = ["POST"])
        @app.emit_after ("user-touched")
        def users2 (was):
          args = was.request.json ()
          return ''

        if __name__ == "__main__":
          with skitai.preference () as pref:
            pref.use_reloader = True
            skitai.register_states ("weather-news", "cluster.num-nodes")
            skitai.alias ("@mydb", skitai.DB_SQLITE3, os.path.join (HERE, "states.db"))
            skitai.mount ('/', './static')
            skitai.mount ('/other', 'other.py')
            skitai.mount ('/', app, pref)
          skitai.run ()
    """,
    "static/hello.txt": "static hello\n",
}


def make_states_db(root: Path) -> None:
    with sqlite3.connect(root / "states.db") as db:
        db.execute("create table states (code text, name text)")
        db.executemany(
            "insert into states values (?, ?)", [("CA", "California"), ("NY", "New York")]
        )


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, Path]]:
    root = tmp_path_factory.mktemp("single_app")
    write_tree(root, APP_FILES)
    make_states_db(root)
    client = test_client(str(root / "app.py"), devel=False, args=["--workers", "2"])
    try:
        yield client, root
    finally:
        client.stop()


class TestImplicitMountServices:
    """ "You just import module from services ... __mount__ (app) will be automatically
    executed on starting." (no app.mount () call in app.py)"""

    def test_imported_service_routes_are_mounted(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        resp = client.get("/signin")
        assert resp.status_code == 200
        assert "signin next=/1" in resp.text

    def test_login_flow(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        session = client.clone()
        session.cookies.clear()
        resp = session.get("/private", allow_redirects=False)
        assert resp.status_code in (301, 302, 303, 307)
        assert "/signin?next_url=" in resp.headers["location"]
        resp = session.post(
            "/signin",
            data={"username": "hans", "password": "secret", "next_url": "/private"},
            allow_redirects=False,
        )
        assert resp.status_code in (301, 302, 303, 307)
        assert resp.headers["location"].endswith("/private")
        assert session.get("/private").text == "private hans"
        resp = session.get("/signout", allow_redirects=False)
        assert resp.headers["location"].endswith("/1")
        assert session.get("/private", allow_redirects=False).status_code in (301, 302, 303, 307)

    def test_wrong_password_renders_form(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        resp = client.post("/signin", data={"username": "hans", "password": "bad"})
        assert resp.status_code == 200
        assert "signin" in resp.text

    def test_static_mount_beside_app(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/hello.txt").text == "static hello\n"


class TestPiping:
    def test_plain(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/1").json()["result"] == 1

    def test_pipe_function(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/2").json()["result"] == 1

    def test_pipe_with_argument(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/3").json()["result"] == 4

    def test_pipe_by_name_is_inspected(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        # offset = 't' fails @app.inspect (offset = int)
        assert client.get("/4").status_code == 400

    def test_pipe_by_full_resource_name(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/board").text == "found news"
        assert client.get("/search", params={"q": "x"}).text == "found x"


def test_environment_variables(app_server: tuple[LiveClient, Path]) -> None:
    client, _ = app_server
    data = client.get("/env", headers={"User-Agent": "spec-agent/1"}).json()
    assert data == {"ua": "spec-agent/1", "ctype": None, "alias": True}


class TestAutoruns:
    def test_order(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        assert client.get("/autorun?abort=").text == "main"
        lines = [line for line in read_log(root / "events.log") if line.endswith("/autorun?abort=")]
        assert [line.split()[0] for line in lines] == ["pre1", "pre2", "main", "post1"]

    def test_run_before_response_aborts(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        assert client.get("/autorun?abort=1").text == "aborted by pre2"
        lines = [
            line for line in read_log(root / "events.log") if line.endswith("/autorun?abort=1")
        ]
        assert "main /autorun?abort=1" not in lines
        assert lines[:2] == ["pre1 /autorun?abort=1", "pre2 /autorun?abort=1"]


def test_if_file_modified(app_server: tuple[LiveClient, Path]) -> None:
    client, root = app_server
    # the mtime when the decorator ran is the starting point (docs/atila-services.md):
    # nothing is loaded until the file changes
    assert client.get("/conf").text == ""
    time.sleep(0.05)
    (root / "config.txt").write_text("v2\n")
    os.utime(root / "config.txt", (time.time() + 5, time.time() + 5))
    assert wait_for(lambda: client.get("/conf").text == "v2", timeout=4)


def test_if_updated_across_workers(app_server: tuple[LiveClient, Path]) -> None:
    client, _ = app_server
    stamp = fresh_get(client, "/weather/add").text
    seen = {fresh_get(client, "/weather").text for _ in range(12)}
    assert seen == {stamp}


class TestLifecycle:
    def test_registered_objects_visible_in_this_and_other_apps(
        self, app_server: tuple[LiveClient, Path]
    ) -> None:
        client, _ = app_server
        assert client.get("/register").text == ("checked facebook; searched ipad with 4 threads")
        assert client.get("/other/").text == "searched news with 4 threads"

    def test_mounted_corequest_with_callback(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert wait_for(
            lambda: fresh_get(client, "/states").json() == {"CA": "California", "NY": "New York"}
        )

    def test_start_order_per_worker(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        client.get("/1")
        lines = read_log(root / "events.log")
        pids = {line.split()[1] for line in lines if line.startswith("before_mount")}
        assert len(pids) == 2  # two workers
        for pid in pids:
            mine = [
                line.split()[0]
                for line in lines
                if line.endswith(" " + pid)
                and line.split()[0] in ("before_mount", "mounted", "mounted_or_reloaded")
            ]
            assert mine == ["before_mount", "mounted", "mounted_or_reloaded"]


class TestEvents:
    def test_request_events(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        assert client.get("/events/ok").text == "ok"
        assert client.get("/events/fail").status_code == 500
        assert wait_for(lambda: "request:finished /events/fail" in read_log(root / "events.log"))
        lines = read_log(root / "events.log")
        ok = [line.split()[0] for line in lines if line.endswith("/events/ok")]
        assert ok == [
            "request:before_start",
            "request:success",
            "request:teardown",
            "request:finished",
        ]
        assert "request:failed RuntimeError" in lines
        fail = [line.split()[0] for line in lines if line.endswith("/events/fail")]
        assert "request:success" not in fail
        assert fail[0] == "request:before_start" and fail[-1] == "request:finished"

    def test_custom_event_with_args(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        resp = client.post("/users", json={"userid": "u-77"})
        assert resp.status_code == 200
        assert "user-updated u-77" in read_log(root / "events.log")

    def test_emit_after_chain(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        before = read_log(root / "events.log")
        assert client.post("/users2", json={"userid": "u-1"}).status_code == 200
        new = read_log(root / "events.log")[len(before) :]
        assert new[-2:] == ["user-touched", "photo-updated"]

    def test_store(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        first = int(client.post("/users/count").text)
        assert int(client.post("/users/count").text) == first + 1

    def test_maintain_and_broadcast(self, app_server: tuple[LiveClient, Path]) -> None:
        client, root = app_server
        # each worker's first maintenance run sees num-nodes change from 0 to a timestamp
        assert wait_for(
            lambda: (
                len(
                    {
                        line.split()[1]
                        for line in read_log(root / "events.log")
                        if line.startswith("cluster:num_nodes")
                    }
                )
                == 2
            ),
            timeout=5,
        )

    def test_maintain_names_unique(self, app_server: tuple[LiveClient, Path]) -> None:
        client, _ = app_server
        assert client.get("/maintain/duplicate").text == "refused"


def test_implicit_service_reload_and_shutdown_order(tmp_path: Path) -> None:
    write_tree(tmp_path, APP_FILES)
    make_states_db(tmp_path)
    client = test_client(str(tmp_path / "app.py"), devel=False)
    try:
        assert client.get("/1").status_code == 200
        # "If you set app.use_reloader, theses services will be automatically reloaded"
        time.sleep(0.3)
        module = tmp_path / "services/boards/index.py"
        module.write_text(module.read_text().replace('"found "', '"FOUND "'))
        assert wait_for(lambda: client.get("/search?q=x").text == "FOUND x")
    finally:
        client.stop()
    names = [
        line.split()[0]
        for line in read_log(tmp_path / "events.log")
        if line.split()[0]
        in ("before_mount", "mounted", "mounted_or_reloaded", "before_umount", "umounted")
    ]
    assert names == [
        "before_mount", "mounted", "mounted_or_reloaded", "mounted_or_reloaded",
        "before_umount", "umounted",
    ]  # fmt: skip


# =====================================================================================
# Server C: cross-app communication and communication with event
# =====================================================================================

CROSS_FILES = {
    "helpers.py": LOG_HELPER,
    "serve.py": """
        import skitai

        skitai.mount ("/", "main.py")
        skitai.mount ("/search", "search.py")
        skitai.mount ('/users', 'users.py')
        skitai.mount ('/photos', 'photos.py')
        skitai.run ()
    """,
    "main.py": """
        from atila import Atila

        app = Atila (__name__)

        @app.route ("/save_path")
        def save_path (was):
          search_app = was.apps ["search"]
          save_path = search_app.config.save_path
          return save_path

        @app.route ("/search_url")
        def search_url (was):
          return was.API (
            urlfor = was.urlfor ('search:query', "Your Name"),
            build_url = was.apps ["search"].build_url ("query", "Your Name"),
          )
    """,
    "search.py": """
        from atila import Atila

        app = Atila (__name__)
        app.config.save_path = "/var/tmp/search"

        @app.route ("/query")
        def query (was, q):
          return "query " + q
    """,
    "users.py": """
        import json
        from atila import Atila
        from helpers import log

        app = Atila (__name__)

        @app.route ('/users', methods = ["PATCH"])
        def users (was):
          args = was.request.json ()
          # broadcasting event to all mounted apps
          was.broadcast ('user:data-added', args ['userid'])

          return was.response (
            "200 OK",
            json.dumps ({}),
            [("Content-Type", "application/json")]
          )

        @app.broadcast_after ('some-event')
        def touch (was):
          log ("touch")

        @app.route ('/touch', methods = ["POST"])
        def touch_route (was):
          touch (was)
          return "touched"
    """,
    "photos.py": """
        from atila import Atila
        from helpers import log

        app = Atila (__name__)

        @app.on_broadcast ('user:data-added')
        def refresh_user_cache (was, userid):
          log ("photos refresh", userid)

        @app.on_broadcast ('some-event')
        def some_event (was):
          log ("photos some-event")
    """,
}


@pytest.fixture(scope="module")
def cross_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, Path]]:
    root = tmp_path_factory.mktemp("cross_app")
    write_tree(root, CROSS_FILES)
    client = test_client(str(root / "serve.py"), devel=False)
    try:
        yield client, root
    finally:
        client.stop()


class TestCrossApp:
    def test_apps_by_file_name(self, cross_server: tuple[LiveClient, Path]) -> None:
        client, _ = cross_server
        assert client.get("/save_path").text == "/var/tmp/search"

    def test_urlfor_other_app(self, cross_server: tuple[LiveClient, Path]) -> None:
        client, _ = cross_server
        data = client.get("/search_url").json()
        assert data["urlfor"] == "/search/query?q=Your%20Name"
        assert data["build_url"] == data["urlfor"]
        assert client.get(data["urlfor"]).text == "query Your Name"

    def test_broadcast_reaches_other_app(self, cross_server: tuple[LiveClient, Path]) -> None:
        client, root = cross_server
        resp = client.patch("/users/users", json={"userid": "u-5"})
        assert resp.status_code == 200
        assert resp.json() == {}
        assert resp.headers["content-type"].startswith("application/json")
        assert "photos refresh u-5" in read_log(root / "events.log")

    def test_broadcast_after(self, cross_server: tuple[LiveClient, Path]) -> None:
        client, root = cross_server
        assert client.post("/users/touch").text == "touched"
        lines = read_log(root / "events.log")
        assert lines[-2:] == ["touch", "photos some-event"]


# =====================================================================================
# Server D: "Inheritance and Overriding", "Unrouting", "Standard package structure"
# =====================================================================================

INHERIT_FILES = {
    "serve.py": """
        import skitai
        import myapp
        import atila_vue # VueJS frontend templates for Atila
        import tfserver
        import mytfserver

        with skitai.preference () as pref:
          pref.extends (atila_vue)
          skitai.mount ('/', myapp, pref)

        with skitai.preference () as pref:
          pref.overrides (mytfserver)
          skitai.mount ('/tf', tfserver, pref)
        skitai.run ()
    """,
    # file: atila_vue.__init__.py
    "atila_vue/__init__.py": """
        import os
        from . import services

        __version__ = "0.1.0"
        BASE_DIR = os.path.dirname (__file__)

        def __config__ (pref):
          pref.add_static (os.path.join (os.path.dirname (__file__), 'static'))

        def __setup__ (app, mntopt):
          app.mount (services) # add services to app
    """,
    "atila_vue/services/__init__.py": """
        def __mount__ (app, mntopt):
          @app.route ('/examples')
          def examples (was):
            return 'atila_vue examples'

          @app.route ('/vue-only')
          def vue_only (was):
            return was.render ('vue.html')

          @app.route ('/page')
          def page (was):
            return was.render ('page.html')
    """,
    "atila_vue/static/vue.js": "vue from atila_vue\n",
    "atila_vue/static/base.css": "base from atila_vue\n",
    "atila_vue/templates/vue.html": "vue template from atila_vue",
    "atila_vue/templates/page.html": "page template from atila_vue",
    "myapp/__init__.py": """
        import os

        __version__ = "1.0.0"

        def __config__ (pref):
          pref.set_static ('/', os.path.join (os.path.dirname (__file__), 'static'))

        def __setup__ (app, mntopt):
          pass
    """,
    "myapp/wsgi.py": """
        from atila import Atila

        app = Atila (__name__)

        @app.route ('/examples')
        def examples (was):
          return 'myapp examples'
    """,
    "myapp/static/base.css": "base from myapp\n",
    "myapp/templates/page.html": "page template from myapp",
    "tfserver/__init__.py": """
        from . import services

        __version__ = "2.0.0"

        def __setup__ (app, mntopt):
          app.mount (services)
    """,
    "tfserver/wsgi.py": """
        from atila import Atila

        app = Atila (__name__)
        app.unroute ('/gone', 404)
        app.unroute ('/gone/*', 404)
    """,
    "tfserver/services/__init__.py": """
        def __mount__ (app, mntopt):
          @app.route ('/predict')
          def predict (was):
            return 'tfserver predict'

          @app.route ('/models')
          def models (was):
            return 'tfserver models'

          @app.route ('/gone')
          def gone (was):
            return 'still here'

          @app.route ('/gone/sub')
          def gone_sub (was):
            return 'still here'
    """,
    "mytfserver/__init__.py": """
        from . import services

        __version__ = "0.0.1"

        def __setup__ (app, mntopt):
          app.mount (services)
    """,
    "mytfserver/services/__init__.py": """
        def __mount__ (app, mntopt):
          @app.route ('/predict')
          def predict (was):
            return 'mytfserver predict'
    """,
}


@pytest.fixture(scope="module")
def inherit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    root = tmp_path_factory.mktemp("inherit")
    write_tree(root, INHERIT_FILES)
    client = test_client(str(root / "serve.py"), devel=False)
    try:
        yield client
    finally:
        client.stop()


class TestInheritanceAndOverriding:
    def test_extended_services_are_used(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/vue-only").text == "vue template from atila_vue"

    def test_app_route_overrides_extended(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/examples").text == "myapp examples"

    def test_extended_static_files(self, inherit_server: LiveClient) -> None:
        resp = inherit_server.get("/vue.js")
        assert (resp.status_code, resp.text) == (200, "vue from atila_vue\n")

    def test_app_static_first(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/base.css").text == "base from myapp\n"

    def test_app_templates_first(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/page").text == "page template from myapp"

    def test_overriding_services(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/tf/predict").text == "mytfserver predict"
        assert inherit_server.get("/tf/models").text == "tfserver models"

    def test_unroute(self, inherit_server: LiveClient) -> None:
        assert inherit_server.get("/tf/gone").status_code == 404
        assert inherit_server.get("/tf/gone/sub").status_code == 404


# =====================================================================================
# Server E: "VueJS with Skito-Atila — With Bundlers"
# =====================================================================================

VUE_FILES = {
    "frontend/dist/index.html": "<html><body>vue spa</body></html>",
    "frontend/dist/js/app.js": "console.log('app');\n",
    "frontend/dist/css/app.css": "body { color: red }\n",
    "backend/services/__init__.py": "",
    "backend/services/api.py": """
        def __mount__ (app, mntopt):
          @app.route ('/status')
          def status (was):
            return was.API (status = "ok")

          @app.route ('/echo', methods = ["POST"])
          def echo (was, **DATA):
            return was.API (size = len (was.request.body or b""))
    """,
    "backend/serve.py": """
        from atila import Atila
        import skitai
        import os
        import sys
        from services import api

        app = Atila (__name__)
        app.mount ("/api/v1", api) # for backend API service

        @app.route ("/<path:path>")
        def vapp (was, path = None):
            return was.File (skitai.joinpath ("../frontend", "dist", "index.html"), "text/html")

        if __name__ == "__main__":
            with skitai.preference () as pref:
              pref.securekey = None
              pref.max_client_body_size = 2 << 32
              pref.access_control_allow_origin = ["127.0.0.1:5000"]

              if "---production" not in sys.argv:
                  pref.debug = True
                  pref.use_reloader = True
                  pref.access_control_allow_origin.append ("127.0.0.1:8080")

              skitai.mount ("/", app)
              skitai.mount ("/", "../frontend/dist", pref = pref)
            skitai.run (name = "myapp", port = 5000)
    """,
}


@pytest.fixture(scope="module")
def vue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    root = tmp_path_factory.mktemp("vue")
    write_tree(root, VUE_FILES)
    client = test_client(str(root / "backend" / "serve.py"), devel=False)
    try:
        yield client
    finally:
        client.stop()


class TestVueExample:
    def test_atila_routes(self, vue_server: LiveClient) -> None:
        assert vue_server.get("/api/v1/status").json()["status"] == "ok"

    def test_other_urls_are_the_spa(self, vue_server: LiveClient) -> None:
        for path in ("/", "/users/100", "/deep/link/here"):
            resp = vue_server.get(path)
            assert resp.status_code == 200, path
            assert resp.text == "<html><body>vue spa</body></html>", path
            assert resp.headers["content-type"].startswith("text/html")

    def test_compiled_assets_from_dist(self, vue_server: LiveClient) -> None:
        resp = vue_server.get("/js/app.js")
        assert (resp.status_code, resp.text) == (200, "console.log('app');\n")
        assert "javascript" in resp.headers["content-type"]
        assert vue_server.get("/css/app.css").text == "body { color: red }\n"

    def test_cors_origins_without_scheme(self, vue_server: LiveClient) -> None:
        for origin in ("http://127.0.0.1:5000", "http://127.0.0.1:8080"):
            resp = vue_server.options(
                "/api/v1/status", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
            )
            assert resp.status_code in (200, 204), origin
            assert resp.headers.get("access-control-allow-origin") == origin
        resp = vue_server.options(
            "/api/v1/status",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert resp.headers.get("access-control-allow-origin") != "http://evil.example"

    def test_production_flag(self, tmp_path: Path) -> None:
        write_tree(tmp_path, VUE_FILES)
        with test_client(str(tmp_path / "backend" / "serve.py"), devel=False,
                         args=["---production"]) as client:  # fmt: skip
            allowed = client.options(
                "/api/v1/status",
                headers={"Origin": "http://127.0.0.1:5000", "Access-Control-Request-Method": "GET"},
            )
            assert allowed.headers.get("access-control-allow-origin") == "http://127.0.0.1:5000"
            dev = client.options(
                "/api/v1/status",
                headers={"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "GET"},
            )
            assert dev.status_code == 403

    def test_large_body_limit_accepted(self, vue_server: LiveClient) -> None:
        resp = vue_server.post(
            "/api/v1/echo",
            data=b"x" * (300 * 1024),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert resp.status_code == 200
        assert resp.json()["size"] == 300 * 1024
