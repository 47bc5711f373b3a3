"""Black-box conformance of the engine-facing spec examples and of README.md's claims.

Spec (spec/atila-framework.txt) examples run with minimal adaptation through real
servers: the first ``serve.py``, "Atila with Skitai App Engine / Simple App" (app in the
script and in a package), "Runtime App Preference" (``pref.config``, ``set_static``,
``set_media``, a file mount with an app name, ``__config__`` beside ``app.py``), "App
Testing" (``skitai.test_client`` with ``clone``/``set_default_header``, the ``launching``
fixture), and "Hot Reloading".  README.md: the command line (``--port --workers
--threads --devel --silent --help``, ``start|stop|status|restart``) and the limits table
against ``skitai/config.py``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import requests

from skitai import config as skitai_config
from skitai.testing import LiveClient, test_client

ROOT = Path(__file__).resolve().parents[2]


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# =====================================================================================
# The spec's first example and "Simple App"
# =====================================================================================

SIMPLE_FILES = {
    # the first example of the spec ("__mame__" fixed)
    "first.py": """
        import atila

        app = atila.Atila (__name__)

        @app.route ("/")
        def index (was):
          return "Hello, World"

        if __name__ == "__main__":
          import skitai

          skitai.mount ("/", app)
          skitai.run (port = 5000)
    """,
    # "Simple App"
    "simple.py": """
        from atila import Atila
        app = Atila(__name__)

        @app.route ("/")
        def index (was):
          return was.response ("200 OK", "simple index")

        if __name__ == "__main__":
          import skitai

          with skitai.preference () as pref:
            pref.use_reloader = True
            skitai.mount ('/', './static')
            skitai.mount ('/', app, 'app', pref)

          skitai.run ()
    """,
    "static/style.css": "p { margin: 0 }\n",
    # "If atila app exists seprated file"
    "separated.py": """
        if __name__ == "__main__":
          import skitai
          from myapp import wsgi

          with skitai.preference () as pref:
            pref.use_reloader = True
            pref.set_static ('/', './static')
            skitai.mount ('/',wsgi, pref)
          skitai.run ()
    """,
    "myapp/__init__.py": "",
    "myapp/wsgi.py": """
        from atila import Atila

        app = Atila (__name__)

        @app.route ("/")
        def index (was):
          return "package index " + str (app.use_reloader)
    """,
}


@pytest.fixture(scope="module")
def simple_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("simple")
    write_tree(root, SIMPLE_FILES)
    return root


def test_first_example_hello_world(simple_root: Path) -> None:
    with test_client(str(simple_root / "first.py"), devel=False) as client:
        resp = client.get("/")
        assert (resp.status_code, resp.text) == (200, "Hello, World")


def test_simple_app_with_static_at_the_same_point(simple_root: Path) -> None:
    with test_client(str(simple_root / "simple.py"), devel=False) as client:
        assert client.get("/").text == "simple index"
        resp = client.get("/style.css")
        assert (resp.status_code, resp.text) == (200, "p { margin: 0 }\n")
        assert client.get("/nothing-here").status_code == 404


def test_app_in_a_separate_package(simple_root: Path) -> None:
    with test_client(str(simple_root / "separated.py"), devel=False) as client:
        assert client.get("/").text == "package index True"
        assert client.get("/style.css").text == "p { margin: 0 }\n"


# =====================================================================================
# "Runtime App Preference" and "More About Atila App Initialization"
# =====================================================================================

PREF_FILES = {
    "serve.py": """
        import skitai

        with skitai.preference () as pref:
          pref.use_reloader = True
          pref.debug = True
          pref.config ["prefA"] = 1
          pref.config.prefB = 2
          pref.config.urlfile = skitai.joinpath ("urls.txt")
          pref.set_static ('/static', 'myapp/static')
          pref.set_media ('/media', 'www-root/media')
          pref.max_client_body_size = 1000
          skitai.mount ("/v1", "app_v1/app.py", "app", pref)
        skitai.run ()
    """,
    "urls.txt": "a  http://a.example\nb  http://b.example\n",
    "myapp/static/app.css": "static via pref\n",
    "www-root/media/photo.txt": "media via pref\n",
    # "You can create __init__.py at same directory with app.py"
    "app_v1/__init__.py": """
        import skitai
        import atila

        def __config__ (pref):
          skitai.register_states ('tbl.test')

          with open (pref.config.urlfile, "r") as f:
            pref.config.urllist = []
            while 1:
              line = f.readline ().strip ()
              if not line: break
              pref.config.urllist.append (line.split ("  ", 4))
    """,
    "app_v1/app.py": """
        from atila import Atila

        app = Atila(__name__)

        app.use_reloader = False
        app.debug = False
        app.config ["prefA"] = 0
        app.config ["prefB"] = 0

        @app.route ("/prefs")
        def prefs (was):
          c = app.config
          return was.API (debug = app.debug, use_reloader = app.use_reloader,
                          prefA = c ["prefA"], prefB = c.prefB, urllist = c.urllist,
                          STATIC_ROOT = c.STATIC_ROOT, STATIC_URL = c.STATIC_URL,
                          MEDIA_ROOT = c.MEDIA_ROOT, MEDIA_URL = c.MEDIA_URL)

        @app.route ("/echo", methods = ["POST"])
        def echo (was):
          return str (len (was.request.body or b""))

        @app.route ("/state")
        def state (was):
          was.setlu ("tbl.test")
          return str (was.getlu ("tbl.test") > 0)
    """,
}


@pytest.fixture(scope="module")
def pref_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    root = tmp_path_factory.mktemp("pref")
    write_tree(root, PREF_FILES)
    client = test_client(str(root / "serve.py"), devel=False)
    try:
        yield client
    finally:
        client.stop()


class TestRuntimeAppPreference:
    def test_pref_properties_override_the_app(self, pref_server: LiveClient) -> None:
        data = pref_server.get("/v1/prefs").json()
        assert data["debug"] is True
        assert data["use_reloader"] is True
        assert (data["prefA"], data["prefB"]) == (1, 2)

    def test_static_and_media_keys(self, pref_server: LiveClient) -> None:
        data = pref_server.get("/v1/prefs").json()
        assert data["STATIC_URL"] == "/static"
        assert data["MEDIA_URL"] == "/media"
        assert data["STATIC_ROOT"].endswith("myapp/static")
        assert data["MEDIA_ROOT"].endswith("www-root/media")

    def test_static_and_media_directories_mounted(self, pref_server: LiveClient) -> None:
        assert pref_server.get("/static/app.css").text == "static via pref\n"
        assert pref_server.get("/media/photo.txt").text == "media via pref\n"

    def test_config_hook_beside_app_py(self, pref_server: LiveClient) -> None:
        data = pref_server.get("/v1/prefs").json()
        assert data["urllist"] == [["a", "http://a.example"], ["b", "http://b.example"]]

    def test_pref_max_client_body_size(self, pref_server: LiveClient) -> None:
        octets = {"Content-Type": "application/octet-stream"}
        assert pref_server.post("/v1/echo", data=b"x" * 900, headers=octets).text == "900"
        assert pref_server.post("/v1/echo", data=b"x" * 2000, headers=octets).status_code == 413

    def test_registered_state_usable(self, pref_server: LiveClient) -> None:
        assert pref_server.get("/v1/state").text == "True"


# =====================================================================================
# "App Testing & Generating API Document"
# =====================================================================================

PWA_FILES = {
    "serve.py": """
        import skitai
        import pwa

        if __name__ == "__main__":
          with skitai.preference () as pref:
              pref.expose_spec = True
              skitai.mount ("/", pwa, pref, name = 'myapp') # mount app
          skitai.run (port = 9003, name = "myserver", threads = 8)
    """,
    "pwa/__init__.py": "",
    "pwa/wsgi.py": """
        import os
        from atila import Atila

        app = Atila (__name__)
        USERS = {"100": {"id": 100, "first_name": "Hans", "last_name": "Kim"}}

        @app.mounted
        def mounted (wac):
          app.store.set ("numthreads", wac.numthreads)

        @app.route ("/users/<id>", methods = ["GET", "PATCH"])
        def users (was, id, **DATA):
          user = USERS [id]
          if was.request.method == "PATCH":
            user.update (DATA)
            return was.API (**user)
          if "json" in (was.request.get_header ("accept") or ""):
            return was.API (**user)
          return "<html><body>%s %s</body></html>" % (user ["first_name"], user ["last_name"])

        @app.route ("/login")
        def login (was):
          was.request.session.set ("user", "hans") if app.securekey else None
          return was.response ("200 OK", "ok", headers = [("Set-Cookie", "sid=abc; Path=/")])

        @app.route ("/whoami")
        def whoami (was):
          return was.request.get_header ("cookie") or ""

        @app.route ("/info")
        def info (was):
          return was.API (numthreads = app.store.get ("numthreads"), pid = os.getpid (),
                          name = was.apps ["myapp"] is app)
    """,
}


@pytest.fixture(scope="module")
def pwa_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("pwa")
    write_tree(root, PWA_FILES)
    (root / "tests").mkdir()
    old = os.getcwd()
    os.chdir(root / "tests")  # the spec's conftest.py uses "../serve.py"
    try:
        yield root
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def client(pwa_project: Path) -> Iterator[LiveClient]:
    # client is actually requests.Session object
    engine_ = test_client("../serve.py", port=free_port(), ssl=False, silent=True, dry=True)
    yield engine_
    engine_.stop()


@pytest.fixture
def axios(client: LiveClient) -> LiveClient:
    # mimic axios
    new_client = client.clone()  # share session with client
    new_client.set_default_header("Accept", "application/json")
    new_client.set_default_header("Content-Type", "application/json")
    return new_client


@pytest.fixture
def launching(pwa_project: Path) -> Callable[..., LiveClient]:
    return partial(test_client, port=free_port(), silent=False)


class TestAppTesting:
    def test_html(self, client: LiveClient) -> None:
        resp = client.get("/users/100")
        assert "<html>" in resp.text
        assert resp.status_code == 200

    def test_api(self, axios: LiveClient) -> None:
        resp = axios.patch("/users/100", {"last_name": "Roh"})
        assert resp.json()["last_name"] == "Roh"
        assert resp.status_code == 200

    def test_client_is_a_requests_session(self, client: LiveClient) -> None:
        assert isinstance(client, requests.Session)

    def test_clone_shares_session(self, client: LiveClient, axios: LiveClient) -> None:
        client.get("/login")
        assert "sid=abc" in axios.get("/whoami").text
        assert "Accept" not in client.headers or client.headers["Accept"] != "application/json"

    def test_run_arguments(self, client: LiveClient) -> None:
        data = client.get("/info").json()
        assert data["numthreads"] == 8  # skitai.run (threads = 8)
        assert data["name"] is True  # mounted with name = 'myapp'

    def test_with_launching(self, launching: Callable[..., LiveClient]) -> None:
        with launching("../serve.py") as client:
            resp = client.get("/users/100")
            assert resp.status_code == 200
            port = client.port
        assert port is not None and not accepts(port)  # stopped on leaving the block


# =====================================================================================
# "Hot Reloading": importlib.reload without restarting the worker
# =====================================================================================

RELOAD_FILES = {
    "serve.py": """
        import skitai
        import myapp

        with skitai.preference () as pref:
          pref.use_reloader = True
          skitai.mount ('/', myapp, pref)
        skitai.run ()
    """,
    "myapp/__init__.py": """
        from . import services

        def __setup__ (app, mntopt):
          app.mount ('/', services)
    """,
    "myapp/wsgi.py": """
        import os
        from atila import Atila

        app = Atila (__name__)

        @app.route ("/pid")
        def pid (was):
          return str (os.getpid ())
    """,
    "myapp/services/__init__.py": """
        from . import feature1

        def __setup__ (app, mntopt):
          app.mount ('/feature1', feature1)
    """,
    "myapp/services/feature1.py": """
        def __mount__ (app, mntopt):
          @app.route ('')
          def index (was):
            return 'version 1'
    """,
}


def test_hot_reloading_keeps_the_worker(tmp_path: Path) -> None:
    write_tree(tmp_path, RELOAD_FILES)
    with test_client(str(tmp_path / "serve.py"), devel=False) as client:
        assert client.get("/feature1").text == "version 1"
        pid = client.get("/pid").text
        time.sleep(0.3)  # the watcher is running
        feature = tmp_path / "myapp/services/feature1.py"
        feature.write_text(feature.read_text().replace("version 1", "version 2"))
        assert wait_for(lambda: client.get("/feature1").text == "version 2")
        assert client.get("/pid").text == pid  # no worker restart


# =====================================================================================
# README.md: command line, daemon commands, limits table
# =====================================================================================

CLI_SCRIPT = """
    import os
    import sys
    import skitai

    def application (environ, start_response):
        ctx = environ.get ("skitai.context")
        body = "%d %s %s" % (os.getpid (), getattr (ctx, "threads", "?"),
                             getattr (ctx, "workers", "?"))
        start_response ("200 OK", [("Content-Type", "text/plain")])
        return [body.encode ()]

    if __name__ == "__main__":
        skitai.mount ("/", application)
        here = os.path.dirname (os.path.abspath (__file__))
        skitai.run (ip = "127.0.0.1", port = 5000, workers = 1, threads = 2,
                    name = "readme-check", var_dir = os.path.join (here, "var"))
"""


@pytest.fixture(scope="module")
def cli_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    write_tree(root, {"serve.py": CLI_SCRIPT})
    return root / "serve.py"


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], cwd=script.parent,
                          capture_output=True, text=True, timeout=30)  # fmt: skip


def fresh(port: int) -> str:
    return requests.get(f"http://127.0.0.1:{port}/", headers={"Connection": "close"},
                        timeout=10).text  # fmt: skip


class TestReadmeCommandLine:
    def test_port_workers_threads_override_run(self, cli_script: Path) -> None:
        with test_client(str(cli_script), devel=False,
                         args=["--workers", "2", "--threads", "3"]) as client:  # fmt: skip
            answers: set[str] = set()
            for _ in range(400):  # which worker accepts a new connection is the kernel's choice
                answers.add(fresh(client.port or 0))
                if len({a.split()[0] for a in answers}) == 2:
                    break
        pids = {a.split()[0] for a in answers}
        assert {a.split(" ", 1)[1] for a in answers} == {"3 2"}
        assert len(pids) == 2

    def test_devel_runs_in_the_foreground(self, cli_script: Path) -> None:
        with test_client(str(cli_script), devel=True) as client:
            assert client.get("/").status_code == 200

    def test_silent_drops_the_access_log(self, cli_script: Path) -> None:
        with test_client(str(cli_script), devel=False, silent=False) as loud:
            loud.get("/loud-path")
            assert wait_for(lambda: "/loud-path" in loud.server.output_tail())  # type: ignore[union-attr]
        with test_client(str(cli_script), devel=False, silent=True) as quiet:
            quiet.get("/quiet-path")
            time.sleep(0.3)
            assert "/quiet-path" not in quiet.server.output_tail()  # type: ignore[union-attr]

    def test_help(self, cli_script: Path) -> None:
        out = run_script(cli_script, "--help")
        assert out.returncode == 0
        for flag in ("--port", "--workers", "--threads", "--devel", "--silent"):
            assert flag in out.stdout
        assert "start" in out.stdout and "restart" in out.stdout

    def test_start_status_restart_stop(self, cli_script: Path) -> None:
        port = str(free_port())
        started = run_script(cli_script, "start", "--port", port)
        try:
            assert started.returncode == 0, started.stderr
            assert wait_for(lambda: accepts(int(port)))
            first = fresh(int(port)).split()[0]
            status = run_script(cli_script, "status")
            assert status.returncode == 0 and "running" in status.stdout
            # the pid file is named by skitai.run(name=...)
            assert (cli_script.parent / "var" / "readme-check.pid").exists()
            restarted = run_script(cli_script, "restart", "--port", port)
            assert restarted.returncode == 0, restarted.stderr
            assert wait_for(lambda: accepts(int(port)))
            assert run_script(cli_script, "status").returncode == 0
            assert fresh(int(port)).split()[0] != first
        finally:
            stopped = run_script(cli_script, "stop")
        assert stopped.returncode == 0, stopped.stderr
        status = run_script(cli_script, "status")
        assert status.returncode != 0 and "not running" in status.stdout
        assert wait_for(lambda: not accepts(int(port)))


_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024 * 1024, "s": 1}


def test_readme_limits_table_matches_config() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)`[^|]*\| ([\d.]+) ?(\w*) \|", readme, re.MULTILINE)
    documented = {name: float(value) * _UNITS.get(unit, 1) for name, value, unit in rows}
    assert len(documented) >= 10
    defaults = skitai_config.Config()
    for name, value in documented.items():
        assert getattr(defaults, name) == value, name


def test_readme_limit_errors_live(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "serve.py": """
        import skitai

        def application (environ, start_response):
            start_response ("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        skitai.mount ("/", application)
        skitai.run (max_client_body_size = 1000, header_timeout = 0.5, max_connections = 3)
    """
        },
    )
    with test_client(str(tmp_path / "serve.py"), devel=False) as client:
        assert client.get("/" + "a" * 8300).status_code == 414
        assert client.get("/", headers={"X-Big": "b" * 70000}).status_code == 431
        assert client.post("/", data=b"x" * 2000).status_code == 413
        assert client.post("/", data=b"x" * 900).status_code == 200
        port = client.port or 0
        client.close()
        smuggling = [
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
        ]
        for raw in smuggling:
            status, closed = raw_exchange(port, raw)
            assert (status, closed) == (400, True), raw
        # header_timeout: a request head not complete in time gets 408, connection closed
        status, closed = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n")
        assert (status, closed) == (408, True)
        # max_connections: one more connection than allowed gets 503
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        try:
            time.sleep(0.2)
            # (the refusal is written at accept time: read it before sending anything)
            status, closed = raw_exchange(port, b"")
            assert (status, closed) == (503, True)
        finally:
            for sock in held:
                sock.close()


def raw_exchange(port: int, raw: bytes) -> tuple[int, bool]:
    """Send ``raw``; return the response status and whether the server then closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if raw:
            sock.sendall(raw)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return (int(data.split()[1]) if data else 0), False
            if not chunk:
                break
            data += chunk
    return int(data.split()[1]), True


def test_readme_running_your_own_app(tmp_path: Path) -> None:
    """README "Running your own app": any WSGI callable plus a static directory."""
    write_tree(tmp_path, {
        "myapp.py": """
            def application (environ, start_response):
                start_response ("200 OK", [("Content-Type", "text/plain")])
                return [b"plain wsgi " + environ ["PATH_INFO"].encode ()]
        """,
        "static/logo.txt": "a static file\n",
        "serve.py": """
            import skitai

            from myapp import application  # an Atila app, a Django WSGI handler, any WSGI callable

            if __name__ == "__main__":
                skitai.mount("/", application)
                skitai.mount("/static", "static")  # a directory of static files
                skitai.run(ip="0.0.0.0", port=5000, workers=2, threads=4)
        """,
    })  # fmt: skip
    with test_client(str(tmp_path / "serve.py"), devel=False) as client:
        assert client.get("/hello").text == "plain wsgi /hello"
        resp = client.get("/static/logo.txt")
        assert (resp.status_code, resp.text) == (200, "a static file\n")
        assert "etag" in resp.headers


SPEC_CONFTEST = """
    import pytest
    from skitai import test_client
    from atila.pytest_hooks import * # must do
    from functools import partial

    @pytest.fixture
    def client ():
      # client is actually requests.Session object
      engine_ = test_client ("../serve.py", port = PORT, ssl = False, silent = True, dry = True)
      yield engine_
      engine_.stop ()

    @pytest.fixture
    def axios (client):
      # mimic axios
      new_client = client.clone () # share session with client
      new_client.set_default_header ('Accept', "application/json")
      new_client.set_default_header ('Content-Type', "application/json")
      return new_client

    @pytest.fixture
    def launching ():
      return partial (test_client, port = PORT2, silent = False)
"""

SPEC_TESTS = """
    def test_html (client):
      resp = client.get ("/users/100")
      assert '<html>' in resp.text
      assert resp.status_code == 200

    def test_api (axios):
      resp = axios.patch ('/users/100', {'last_name': 'Roh'})
      assert resp.json () ['last_name'] == 'Roh'
      assert resp.status_code == 200

    def test_api_with_lauching (launching):
      with launching ('../serve.py') as client:
        resp = client.get ("/users/100")
        assert resp.status_code == 200
"""


def test_spec_conftest_and_pytest_docs(tmp_path: Path) -> None:
    """Steps 1-4 of "App Testing & Generating API Document", run as a user would
    (``pytest`` in the project's tests directory), then ``pytest --docs``."""
    write_tree(tmp_path, PWA_FILES)
    conftest = textwrap.dedent(SPEC_CONFTEST)
    conftest = conftest.replace("PORT2", str(free_port())).replace("PORT", str(free_port()))
    write_tree(tmp_path, {"tests/conftest.py": conftest, "tests/test_api.py": SPEC_TESTS})
    tests = tmp_path / "tests"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
               str(tests)]  # fmt: skip
    # a user's shell: nothing left over from this test session (pytest-django settings...)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    plain = subprocess.run(command, cwd=tests, capture_output=True, text=True, timeout=60, env=env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "3 passed" in plain.stdout
    assert not (tests / "api-docs.md").exists()
    documented = subprocess.run([*command, "--docs"], cwd=tests, capture_output=True,
                                text=True, timeout=60, env=env)  # fmt: skip
    assert documented.returncode == 0, documented.stdout + documented.stderr
    doc = (tests / "api-docs.md").read_text()
    assert "## `/users/<id>`" in doc  # from the exposed __spec__ of the API response
    assert "PATCH `/users/100` -> 200" in doc
    assert "GET `/users/100` -> 200" in doc
    assert '"last_name": "Roh"' in doc
    assert "__spec__" not in doc
