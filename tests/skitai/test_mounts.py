"""Unit tests for skitai.mounts: mount targets, hooks and request resolution."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skitai.mounts import Mount, MountError, MountTable, normalize_mount_args, normalize_point
from skitai.preference import Preference

APP_SOURCE = """
def {attr}(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [{body!r}]
"""


@pytest.fixture(autouse=True)
def clean_imports() -> Iterator[None]:
    """Forget modules and sys.path entries the mounts of one test added."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    yield
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def table() -> MountTable:
    return MountTable()


def write(root: Path, relative: str, source: str = "") -> Path:
    """Write ``source`` (dedented) to ``root/relative``, creating directories."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def app_source(body: bytes, attr: str = "app") -> str:
    return APP_SOURCE.format(attr=attr, body=body)


def call(mount: Mount | None, path: str = "/") -> tuple[str, bytes]:
    """Call the mount's app for ``path``: the status line and the body."""
    assert mount is not None and mount.app is not None
    statuses = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    environ = {"PATH_INFO": mount.relative(path), "SCRIPT_NAME": mount.point}
    body = b"".join(mount.app(environ, start_response))
    return statuses[0], body


def make_app(body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [body]

    return app


class RoutedApp:
    """A WSGI app with the ``has_route`` hook, serving only ``routes``."""

    def __init__(self, *routes: str) -> None:
        self.routes = set(routes)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] in self.routes:
            start_response("200 OK", [])
            return [b"routed " + environ["PATH_INFO"].encode()]
        start_response("404 Not Found", [])
        return [b"app 404"]

    def has_route(self, path: str) -> bool:
        return path in self.routes


class ConfiguredApp:
    """A WSGI app with the ``apply_preference`` hook."""

    def __init__(self) -> None:
        self.applied: list[Preference] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"configured"]

    def apply_preference(self, pref: Preference) -> None:
        self.applied.append(pref)


def module_with(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


# -- points and argument forms ----------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/", "/"), ("", "/"), ("v1", "/v1"), ("/v1/", "/v1"), ("//a//b/", "/a/b")],
)
def test_points_are_normalised(given: str, expected: str) -> None:
    assert normalize_point(given) == expected


def test_bad_point_is_refused(table: MountTable) -> None:
    with pytest.raises(MountError, match="mount point"):
        table.add("/a?b", make_app(b""))


def test_mount_argument_forms() -> None:
    app = make_app(b"")
    pref = Preference()
    assert normalize_mount_args(app, "app", pref) == ("app", pref)
    assert normalize_mount_args(app, pref) == (None, pref)
    assert normalize_mount_args(app, pref, name="myapp") == ("myapp", pref)
    assert normalize_mount_args(app, pref=pref) == (None, pref)
    assert normalize_mount_args(app, None, None) == (None, None)
    assert normalize_mount_args(app) == (None, None)


def test_mount_argument_errors() -> None:
    app = make_app(b"")
    with pytest.raises(MountError, match="preference given twice"):
        normalize_mount_args(app, Preference(), pref=Preference())
    with pytest.raises(MountError, match="name given twice"):
        normalize_mount_args(app, "a", name="b")
    with pytest.raises(MountError, match="expected an app name"):
        normalize_mount_args(app, 42)
    with pytest.raises(MountError, match="expected an app name"):
        normalize_mount_args(app, name=3)  # type: ignore[arg-type]
    with pytest.raises(MountError, match="at most a name and a preference"):
        normalize_mount_args(app, "a", Preference(), "b")


# -- target kinds -------------------------------------------------------------


def test_callable_target(table: MountTable) -> None:
    mount = table.add("/v1/", make_app(b"hello"))
    assert isinstance(mount, Mount)
    assert (mount.point, mount.name, mount.static, mount.pref) == ("/v1", "app", None, None)
    assert call(table.resolve("/v1/x"), "/v1/x") == ("200 OK", b"hello")
    assert table.add("/", make_app(b""), "main").name == "main"


def test_module_object_targets(table: MountTable) -> None:
    table.add("/a", module_with("mod_a", app=make_app(b"a")))
    table.add("/b", module_with("mod_b", application=make_app(b"b")))
    table.add("/c", module_with("mod_c", app=make_app(b"no"), other=make_app(b"c")), "other")
    assert call(table.resolve("/a")) == ("200 OK", b"a")
    assert call(table.resolve("/b")) == ("200 OK", b"b")
    mount = table.resolve("/c")
    assert call(mount) == ("200 OK", b"c")
    assert mount is not None and mount.name == "mod_c"


def test_name_not_in_module_names_the_mount(table: MountTable) -> None:
    mount = table.add("/", module_with("pwa", app=make_app(b"pwa")), name="myapp")
    assert isinstance(mount, Mount)
    assert mount.name == "myapp"
    assert call(mount) == ("200 OK", b"pwa")


def test_package_with_wsgi_submodule(tmp_path: Path, table: MountTable) -> None:
    write(
        tmp_path,
        "myapp/__init__.py",
        "CALLED = []\ndef __config__(pref):\n    CALLED.append(pref)\n",
    )
    write(tmp_path, "myapp/wsgi.py", app_source(b"from wsgi"))
    mount = table.add("/", "myapp", base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert call(mount) == ("200 OK", b"from wsgi")
    assert mount.name == "myapp"
    assert sys.modules["myapp"].CALLED == [mount.pref]


def test_lone_file_with_sibling_import(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "app_v1/helper.py", "BODY = b'helped'\n")
    write(
        tmp_path,
        "app_v1/search.py",
        """
        from helper import BODY
        def app(environ, start_response):
            start_response("200 OK", [])
            return [BODY]
        """,
    )
    mount = table.add("/v1", "app_v1/search.py", base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert mount.name == "search"
    assert call(mount, "/v1") == ("200 OK", b"helped")


def test_lone_file_application_and_explicit_name(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "one.py", app_source(b"one", "application"))
    write(tmp_path, "two.py", app_source(b"two", "app") + app_source(b"named", "api"))
    assert call(table.add("/1", "one.py", base_dir=str(tmp_path))) == ("200 OK", b"one")
    mount = table.add("/2", "two.py", "api", base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert call(mount) == ("200 OK", b"named")
    assert mount.name == "two"


def test_same_file_mounted_twice_is_imported_once(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "counted.py", "LOADS = [1]\n" + app_source(b"c"))
    table.add("/a", "counted.py", base_dir=str(tmp_path))
    table.add("/b", str(tmp_path / "counted.py"))
    a, b = table.resolve("/a"), table.resolve("/b")
    assert a is not None and b is not None and a.app is b.app
    assert sys.modules["counted"].LOADS == [1]


def test_lone_file_never_shadows_another_module(tmp_path: Path, table: MountTable) -> None:
    import json

    write(tmp_path, "json.py", app_source(b"mine"))
    mount = table.add("/", "json.py", base_dir=str(tmp_path))
    assert call(mount) == ("200 OK", b"mine")
    assert sys.modules["json"] is json
    assert isinstance(mount, Mount) and mount.name == "json"


def test_file_in_package_runs_package_config(tmp_path: Path, table: MountTable) -> None:
    write(
        tmp_path,
        "app_v1/__init__.py",
        """
        SEEN = []
        def __config__(pref):
            SEEN.append(pref.config.get("prefA"))
            pref.config.urllist = ["a"]
        """,
    )
    write(tmp_path, "app_v1/body.py", "BODY = b'relative import'\n")
    write(
        tmp_path,
        "app_v1/app.py",
        """
        from .body import BODY
        def app(environ, start_response):
            start_response("200 OK", [])
            return [BODY]
        """,
    )
    with Preference() as pref:
        pref.config["prefA"] = 1
        mount = table.add("/v1", "app_v1/app.py", "app", pref, base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert call(mount) == ("200 OK", b"relative import")
    assert (mount.name, mount.pref) == ("app_v1", pref)
    assert sys.modules["app_v1"].SEEN == [1]
    assert pref.config.urllist == ["a"]


@pytest.mark.parametrize(
    "spec", ["proj/wsgi:application", "proj.wsgi:application", "proj/wsgi.py:application"]
)
def test_module_colon_attribute_specs(tmp_path: Path, table: MountTable, spec: str) -> None:
    write(tmp_path, "proj/__init__.py")
    write(tmp_path, "proj/settings.py", "BODY = b'settings'\n")
    write(
        tmp_path,
        "proj/wsgi.py",
        """
        from proj.settings import BODY
        def application(environ, start_response):
            start_response("200 OK", [])
            return [BODY]
        """,
    )
    mount = table.add("/admin", spec, base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert call(mount, "/admin/") == ("200 OK", b"settings")
    assert mount.name == "proj"
    assert str(tmp_path) in sys.path


def test_nested_package_file_puts_project_root_on_sys_path(
    tmp_path: Path, table: MountTable
) -> None:
    write(tmp_path, "site/mysite/__init__.py")
    write(tmp_path, "site/mysite/wsgi.py", app_source(b"django-ish", "application"))
    mount = table.add("/admin", "site/mysite/wsgi.py", "application", base_dir=str(tmp_path))
    assert call(mount) == ("200 OK", b"django-ish")
    assert str(tmp_path / "site") in sys.path
    assert sys.modules["mysite.wsgi"].application is mount.app  # type: ignore[union-attr]


def test_plain_module_name(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "plainmod.py", app_source(b"plain"))
    mount = table.add("/", "plainmod", base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert call(mount) == ("200 OK", b"plain")
    assert mount.name == "plainmod"


def test_directory_is_a_static_mount(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "static/site.css", "body {}")
    mount = table.add("/static", "./static", base_dir=str(tmp_path))
    assert isinstance(mount, Mount)
    assert mount.app is None and mount.static is not None
    assert mount.static.root == str(tmp_path / "static")
    assert mount.name == "static"
    assert table.resolve("/static/site.css") is mount
    assert table.resolve("/static/missing.css") is None
    assert table.resolve("/other") is None


def test_identifier_named_plain_directory_is_static(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "dist/index.html", "<h1>spa</h1>")
    mount = table.add("/", "dist", base_dir=str(tmp_path))
    assert isinstance(mount, Mount) and mount.static is not None
    assert table.resolve("/index.html") is mount


# -- hooks and preference ----------------------------------------------------


def test_config_hook_gets_a_new_preference_when_none(table: MountTable) -> None:
    seen: list[Preference] = []

    def __config__(pref: Preference) -> None:
        seen.append(pref)
        pref.debug = True

    app = ConfiguredApp()
    mount = table.add("/", module_with("hooked", __config__=__config__, app=app))
    assert isinstance(mount, Mount)
    assert len(seen) == 1 and isinstance(seen[0], Preference)
    assert mount.pref is seen[0]
    assert app.applied == [seen[0]]
    assert seen[0].debug is True


def test_config_hook_runs_before_the_app_is_resolved(table: MountTable) -> None:
    module = module_with("late")

    def __config__(pref: Preference) -> None:
        module.app = make_app(b"made in config")

    module.__config__ = __config__
    pref = Preference()
    assert call(table.add("/", module, pref)) == ("200 OK", b"made in config")  # type: ignore[arg-type]


def test_config_hook_may_mount_more(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "resources/a.txt", "a")

    def __config__(pref: Preference) -> None:
        table.add("/resources", str(tmp_path / "resources"))

    table.add("/", module_with("mounter", __config__=__config__, app=make_app(b"")))
    assert [m.point for m in table] == ["/resources", "/"]
    resolved = table.resolve("/resources/a.txt")
    assert resolved is not None and resolved.static is not None


def test_apply_preference_called_only_with_a_preference(table: MountTable) -> None:
    app = ConfiguredApp()
    table.add("/a", app)
    assert app.applied == []
    pref = Preference()
    table.add("/b", app, "app", pref)
    assert app.applied == [pref]


def test_set_static_and_media_add_static_mounts(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "static/app.js", "1")
    write(tmp_path, "media/photo.jpg", "2")
    with Preference() as pref:
        pref.set_static("/", "./static")
        pref.set_media("/media/", str(tmp_path / "media"))
        mounts = table.add("/", RoutedApp("/api"), pref, base_dir=str(tmp_path))
    assert isinstance(mounts, list)
    assert [(m.point, m.app is None) for m in mounts] == [
        ("/", False),
        ("/", True),
        ("/media", True),
    ]
    assert all(m.pref is pref for m in mounts)
    assert table.resolve("/api") is mounts[0]
    assert table.resolve("/app.js") is mounts[1]
    assert table.resolve("/media/photo.jpg") is mounts[2]
    assert table.resolve("/media/none.jpg") is mounts[0]  # the app's own 404


def test_config_hook_set_static_is_mounted(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "pkg/static/logo.png", "png")

    def __config__(pref: Preference) -> None:
        pref.set_static("/static", str(tmp_path / "pkg" / "static"))

    mounts = table.add("/", module_with("pkg", __config__=__config__, app=make_app(b"")))
    assert isinstance(mounts, list) and len(mounts) == 2
    assert mounts[0].pref is not None
    assert mounts[0].pref.config.STATIC_URL == "/static"
    assert table.resolve("/static/logo.png") is mounts[1]


def test_same_pref_statics_are_mounted_once(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "static/a.css", "")
    pref = Preference()
    pref.set_static("/s", str(tmp_path / "static"))
    assert isinstance(table.add("/a", make_app(b""), pref), list)
    assert isinstance(table.add("/b", make_app(b""), pref), Mount)
    assert len(table) == 3


# -- resolution -----------------------------------------------------------------


def test_longest_prefix_wins(table: MountTable) -> None:
    table.add("/", make_app(b"root"))
    table.add("/api", make_app(b"api"))
    table.add("/api/v2", make_app(b"v2"))
    assert call(table.resolve("/api/v2/users"), "/api/v2/users")[1] == b"v2"
    assert call(table.resolve("/api/v2"), "/api/v2")[1] == b"v2"
    assert call(table.resolve("/api/v20"), "/api/v20")[1] == b"api"
    assert call(table.resolve("/api"), "/api")[1] == b"api"
    assert call(table.resolve("/apix"), "/apix")[1] == b"root"


def test_equal_prefix_falls_through_app_then_static(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "frontend/dist/index.html", "<h1>spa</h1>")
    write(tmp_path, "frontend/dist/js/app.js", "1")
    app = RoutedApp("/users", "/")
    table.add("/", app)
    static = table.add("/", "../frontend/dist", base_dir=str(tmp_path / "backend"))
    assert call(table.resolve("/users"), "/users") == ("200 OK", b"routed /users")
    assert table.resolve("/js/app.js") is static
    assert call(table.resolve("/nothing"), "/nothing") == ("404 Not Found", b"app 404")


def test_static_first_then_app(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "static/robots.txt", "")
    static = table.add("/", "./static", base_dir=str(tmp_path))
    app_mount = table.add("/", make_app(b"app"), "app")
    assert table.resolve("/robots.txt") is static
    assert table.resolve("/anything") is app_mount


def test_most_specific_refusing_app_answers(table: MountTable) -> None:
    root = table.add("/", RoutedApp("/"))
    api = table.add("/api", RoutedApp("/users"))
    assert table.resolve("/api/users") is api
    assert table.resolve("/api/nope") is api
    assert table.resolve("/nope") is root


def test_nothing_matches_is_none(tmp_path: Path, table: MountTable) -> None:
    assert table.resolve("/") is None
    table.add("/v1", make_app(b""))
    assert table.resolve("/v2/x") is None
    assert table.resolve("/v10") is None


def test_relative_paths() -> None:
    app = make_app(b"")
    v1 = Mount("/v1", app, None, "v1")
    root = Mount("/", app, None, "root")
    assert v1.relative("/v1/users") == "/users"
    assert v1.relative("/v1") == ""
    assert v1.relative("/v1/") == "/"
    assert root.relative("/a/b") == "/a/b"
    assert v1.matches("/v1") and v1.matches("/v1/x") and not v1.matches("/v10")
    assert root.matches("/anything")
    with pytest.raises(ValueError):
        Mount("/", None, None, "empty")


def test_iteration_keeps_insertion_order(table: MountTable) -> None:
    table.add("/", make_app(b""), "a")
    table.add("/long/prefix", make_app(b""), "b")
    table.add("/x", make_app(b""), "c")
    assert [m.name for m in table] == ["a", "b", "c"]
    assert len(table) == 3


def test_freeze_refuses_mounts(table: MountTable) -> None:
    table.add("/", make_app(b""))
    table.freeze()
    assert table.frozen
    with pytest.raises(RuntimeError, match="cannot mount after the server started"):
        table.add("/late", make_app(b""))
    assert len(table) == 1


# -- errors ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path, table: MountTable) -> None:
    with pytest.raises(MountError, match=r"'nope/app.py'.*file .*nope/app.py not found"):
        table.add("/", "nope/app.py", base_dir=str(tmp_path))


def test_missing_module_path_spec(tmp_path: Path, table: MountTable) -> None:
    with pytest.raises(MountError, match=r"neither .*nope/wsgi.py nor package"):
        table.add("/", "nope/wsgi:application", base_dir=str(tmp_path))


def test_unknown_module_or_directory(tmp_path: Path, table: MountTable) -> None:
    with pytest.raises(MountError, match="no module named 'no_such_mod_xyz'"):
        table.add("/", "no_such_mod_xyz", base_dir=str(tmp_path))
    with pytest.raises(MountError, match="no directory"):
        table.add("/", "./no/such/dir", base_dir=str(tmp_path))


def test_import_error_inside_the_app_is_not_hidden(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "broken.py", "import no_such_dependency_xyz\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        table.add("/", "broken", base_dir=str(tmp_path))


def test_module_without_app(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "empty_app.py", "X = 1\n")
    with pytest.raises(MountError, match=r"no attribute 'app' or 'application' in module"):
        table.add("/", "empty_app.py", base_dir=str(tmp_path))
    with pytest.raises(MountError, match=r"no attribute 'api' or 'app' or 'application'"):
        table.add("/", module_with("m"), "api")
    with pytest.raises(MountError, match=r"no attribute 'missing' in module 'empty_app'"):
        table.add("/", "empty_app:missing", base_dir=str(tmp_path))


def test_package_without_app_mentions_wsgi(tmp_path: Path, table: MountTable) -> None:
    write(tmp_path, "bare_pkg/__init__.py")
    with pytest.raises(MountError, match="nor its 'wsgi' submodule"):
        table.add("/", "bare_pkg", base_dir=str(tmp_path))


def test_not_callable(table: MountTable) -> None:
    with pytest.raises(MountError, match=r"m.app: expected a WSGI callable, got int"):
        table.add("/", module_with("m", app=3))
    with pytest.raises(MountError, match=r"cannot mount 42 at /: expected a WSGI callable"):
        table.add("/", 42)
    with pytest.raises(MountError, match=r"expected an app name \(str\) or a Preference"):
        table.add("/", make_app(b""), None, {"debug": True})  # type: ignore[arg-type]
    assert len(table) == 0
