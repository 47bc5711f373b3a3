"""URL building (spec "Building URL", "... by Updating Parameters Partially",
"Building Base URL without Parameters", "Building Static URL")."""

from __future__ import annotations

import pytest

import atila
from atila.urls import handler_names
from skitai.testing import Client


@pytest.fixture
def math_app(app: atila.Atila) -> atila.Atila:
    @app.route("/add")
    def add(was, num1, num2):
        return str(int(num1) + int(num2))

    @app.route("/hello/<name>")
    def hello(was, name="Hans Roh"):
        return f"Hello, {name}"

    @app.route("/episode/<int:id>")
    def episode(was, id=None):
        return str(id)

    @app.route("/navigate")
    def navigate(was, limit=20, pageno=1):
        return ""

    @app.route("/user/<id>/pat")
    def user_pat(was, id):
        return ""

    @app.route("/files/<path:path>")
    def files(was, path):
        return path

    @app.route("/urls")
    def urls(was):
        return was.API(
            a=was.urlfor("add", 10, 40),
            b=was.urlfor("add", 10, num2=60),
            c=was.urlfor(add, 10, 40),
            d=was.urlfor("hello", "Your Name"),
            e=was.urlfor("episode"),
            f=was.urlfor("episode", 100),
            g=was.urlfor("hello"),
            h=was.urlfor("files", "a b/c.txt"),
            i=was.basepath("user_pat"),
            j=was.basepath("navigate"),
            k=app.build_url("add", 1, 2),
        )

    return app


def test_urlfor_at_mount_point(math_app: atila.Atila) -> None:
    data = Client(math_app, script_name="/math").get("/math/urls").json()
    assert data["a"] == "/math/add?num1=10&num2=40"
    assert data["b"] == "/math/add?num1=10&num2=60"
    assert data["c"] == "/math/add?num1=10&num2=40"
    assert data["d"] == "/math/hello/Your_Name"
    assert data["e"] == "/math/episode"
    assert data["f"] == "/math/episode/100"
    assert data["g"] == "/math/hello"
    assert data["h"] == "/math/files/a_b/c.txt"
    assert data["i"] == "/math/user/"
    assert data["j"] == "/math/navigate"
    assert data["k"] == "/math/add?num1=1&num2=2"


def test_built_urls_route_back(math_app: atila.Atila) -> None:
    client = Client(math_app, script_name="/math")
    assert client.get("/math/add?num1=10&num2=40").text == "50"
    assert client.get("/math/hello/Your_Name").text == "Hello, Your_Name"
    assert client.get("/math/hello").text == "Hello, Hans Roh"


def test_build_url_outside_request_uses_last_mount_point(math_app: atila.Atila) -> None:
    assert math_app.build_url("episode", 3) == "/episode/3"
    Client(math_app, script_name="/math").get("/math/add?num1=1&num2=1")
    assert math_app.build_url("episode", 3) == "/math/episode/3"


def test_urlfor_errors(math_app: atila.Atila) -> None:
    with pytest.raises(atila.BuildError, match="no route"):
        math_app.build_url("nothing")
    with pytest.raises(atila.BuildError, match="takes"):
        math_app.build_url("add", 1, 2, 3)
    with pytest.raises(atila.BuildError, match="missing URL parameter"):
        math_app.build_url("user_pat")


def test_urlpatch_keeps_current_params(app: atila.Atila, client: Client) -> None:
    @app.route("/navigate")
    def navigate(was, limit=20, pageno=1):
        return was.urlpatch("navigate", pageno=3)

    @app.route("/to-episode/<int:id>")
    def to_episode(was, id, q=None):
        return was.urlpatch("to_episode", q="new")

    assert client.get("/navigate?limit=100&pageno=2").text == "/navigate?limit=100&pageno=3"
    assert client.get("/navigate").text == "/navigate?pageno=3"
    assert client.get("/to-episode/4?q=old").text == "/to-episode/4?q=new"


def test_static_and_media_urls(app: atila.Atila, client: Client) -> None:
    app.config.STATIC_URL = "/static/"
    app.config.MEDIA_URL = "/media/"

    @app.route("/")
    def index(was):
        return was.static("assets/style.css") + " " + was.media("movie.mov")

    assert client.get("/").text == "/static/assets/style.css /media/movie.mov"


def test_handler_names() -> None:
    def search(was, q):
        return q

    search.__module__ = "myapp.services.boards.index"
    assert handler_names(search) == ("search", "boards.index.search")
    search.__module__ = "myapp.views"
    assert handler_names(search) == ("search", "myapp.views.search")
