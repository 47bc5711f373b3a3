"""Templates through the in-process client: was.render with Jinja2 and Chameleon, template
globals and filters, jinja_overlay, autoescaping, render_or_API, error templates, the debug
page and MINIFY_HTML (spec "Working With Jinja2 Template Engine", "Registering Global
Template Function", "Registering Jinja2 Filter", "Custom Error Template", "Working With
Chameleon Template Engine", "Selective Media Response By Accept Header", "Building Static
URL", "Default App Configuration", "Debugging and Reloading App")."""

from __future__ import annotations

import logging
import os
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import atila
import skitai
from atila.minify import strip_html
from atila.templates import TemplateNotFound
from skitai.testing import Client

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}

Write = Callable[..., Path]


@pytest.fixture
def templates(tmp_path: Path, app: atila.Atila) -> Write:
    """``templates(name, text)`` writes a template the app finds."""
    directory = tmp_path / "templates"
    directory.mkdir()
    app.templates.add_directory(directory, first=True)

    def write(name: str, text: str) -> Path:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


# -- was.render with Jinja2 ------------------------------------------------------------


def test_render_with_keywords_or_dict_gives_the_same_page(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates("index.html", "{{ choice }} {{ product }} / {{ context.choice }}")

    @app.route("/kw")
    def kw(was):
        return was.render("index.html", choice=2, product="Apples")

    @app.route("/dict")
    def as_dict(was):
        return was.render("index.html", {"choice": 2, "product": "Apples"})

    first = client.get("/kw")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert first.text == "2 Apples / 2"
    assert client.get("/dict").text == "2 Apples / 2"


def test_render_refuses_dict_and_keywords_together_and_reserved_names(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates("index.html", "x")

    @app.route("/both")
    def both(was):
        try:
            was.render("index.html", {"choice": 2}, product="Apples")
        except TypeError as exc:
            return f"refused: {exc}"

    @app.route("/reserved")
    def reserved(was):
        return was.render("index.html", request="mine")

    assert client.get("/both").text == (
        "refused: render() takes a dict or keyword arguments, not both"
    )
    assert client.get("/reserved", headers=HTML).status_code == 500


def test_template_sees_was_app_request_response_context_and_app_r(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates(
        "page.html",
        """\
        {{ request.method }} {{ request.ARGS.get("choice", "N/A") }} {{ response.status }}
        <a href="{{ was.urlfor('checkout', context.choice) }}">Proceed</a>
        {{ app.r.howmany }} {{ app.r.product }}{{ app.r.howmany > 1 and "s" or "" }}
        """,
    )

    @app.route("/checkout/<int:choice>")
    def checkout(was, choice):
        return "ok"

    @app.route("/")
    def index(was, choice=None):
        app.r.product = "Apple"
        app.r.howmany = 10
        return was.render("page.html", choice=7)

    lines = client.get("/?choice=3").text.splitlines()
    assert lines == ["GET 3 200 OK", '<a href="/checkout/7">Proceed</a>', "10 Apples"]


def test_template_can_throw_an_http_error(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates(
        "throw.html",
        """\
        {% set response = app.r.result %}
        {% if response.status != 200 %}{{ was.response.throw("502 Bad Gateway") }}{% endif %}
        ok {{ response.data }}""",
    )

    @app.route("/<int:status>")
    def index(was, status):
        app.r.result = {"status": status, "data": "rows"}
        return was.render("throw.html")

    assert client.get("/200").text.strip() == "ok rows"
    assert client.get("/500", headers=JSON).status_code == 502


def test_template_global_receives_was_and_filter(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates("g.html", '{{ test_global() }} {{ "Hello" | reverse }} {{ form_token() }}')

    @app.template_global("test_global")
    def test(was):
        return ", ".join(sorted(was.request.args.keys()))

    @app.template_filter("reverse")
    def reverse_filter(s):
        return s[::-1]

    app.jinja_env.globals["form_token"] = lambda: "tok"

    @app.route("/")
    def index(was, **kwargs):
        return was.render("g.html")

    assert client.get("/?b=1&a=2").text == "a, b olleH tok"


def test_default_extensions_do_and_loopcontrols(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates(
        "ext.html",
        "{% set seen = [] %}{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}"
        "{% if i == 4 %}{% break %}{% endif %}{% do seen.append(i) %}{% endfor %}{{ seen }}",
    )

    @app.route("/")
    def index(was):
        return was.render("ext.html")

    assert client.get("/").text == "[0, 2, 3]"


def test_jinja_overlay_changes_delimiters_and_keeps_globals(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    @app.template_global("hello")
    def hello(was):
        return "hi " + was.request.method

    app.jinja_overlay(
        variable_start_string="${",
        variable_end_string="}",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<!---",
        comment_end_string="--->",
    )
    templates(
        "vue.html",
        """\
        <!--- a comment --->{{ vue }} ${ name } ${ hello() }
        % for i in [1, 2]
        ${ i }
        % endfor
        %% a line comment
        <% if name %>yes<% endif %>
        """,
    )

    @app.route("/")
    def index(was):
        return was.render("vue.html", name="<b>")

    words = ["{{", "vue", "}}", "&lt;b&gt;", "hi", "GET", "1", "2", "yes"]
    assert client.get("/").text.split() == words


def test_overlay_without_extensions_and_add_jinja_ext(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    app.jinja_overlay(extensions=[], line_statement_prefix=None, line_comment_prefix=None)
    templates("do.html", "{% do x.append(1) %}{{ x }}")
    templates("debug.html", "{% debug %}")

    @app.route("/do")
    def do(was):
        return was.render("do.html", x=[])

    @app.route("/debug")
    def debug(was):
        return was.render("debug.html")

    app.add_jinja_ext("jinja2.ext.debug")
    assert client.get("/do", headers=HTML).status_code == 500
    assert "&#39;filters&#39;" in client.get("/debug").text


def test_dict_fields_read_like_jinja2_always_did(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates(
        "d.txt",
        "{{ d.name }}|{{ d.missing }}|{{ d.items() | list | length }}|{{ d.get('name') }}|"
        "{{ d['items'] }}|{{ a.name }}|{{ d.missing is defined }}",
    )

    @app.route("/")
    def index(was):
        row = {"name": "n", "items": "i"}
        return was.render("d.txt", d=row, a=types.SimpleNamespace(name="ns"))

    assert client.get("/").text == "n||2|n|i|ns|False"


def test_autoescape_for_html_htm_xml_only(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    for suffix in ("html", "htm", "xml", "txt"):
        templates(f"e.{suffix}", "{{ value }}|{{ value | safe }}")

    @app.route("/<suffix>")
    def render(was, suffix):
        return was.render(f"e.{suffix}", value="<script>'&'</script>")

    escaped = "&lt;script&gt;&#39;&amp;&#39;&lt;/script&gt;|<script>'&'</script>"
    for suffix in ("html", "htm", "xml"):
        assert client.get(f"/{suffix}").text == escaped
    assert client.get("/txt").text == "<script>'&'</script>|<script>'&'</script>"


def test_static_and_media_urls(app: atila.Atila, client: Client, templates: Write) -> None:
    app.config.STATIC_URL = "/static/"
    app.config.MEDIA_URL = "/media/"
    templates("s.html", "{{ was.static('assets/style.css') }} {{ was.media('movie.mov') }}")

    @app.route("/")
    def index(was):
        return was.render("s.html")

    assert client.get("/").text == "/static/assets/style.css /media/movie.mov"


def test_missing_template_is_a_500_naming_it_in_debug(
    app: atila.Atila, client: Client, templates: Write, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    def index(was):
        return was.render("nothere.html")

    caplog.set_level(logging.CRITICAL)
    app.debug = True
    page = client.get("/", headers=HTML)
    assert page.status_code == 500
    assert "TemplateNotFound" in page.text and "nothere.html" in page.text


def test_templates_are_cached_unless_use_reloader(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    path = templates("r.html", "one")

    @app.route("/")
    def index(was):
        return was.render("r.html")

    def rewrite(text: str) -> None:
        stat = path.stat()
        path.write_text(text)
        os.utime(path, (stat.st_atime, stat.st_mtime + 5))

    assert client.get("/").text == "one"
    rewrite("two")
    assert client.get("/").text == "one"  # compiled once, never checked again
    app.use_reloader = True
    assert client.get("/").text == "two"
    rewrite("three")
    assert client.get("/").text == "three"


# -- search path: the app's templates, extends and overrides -----------------------------


def _package(root: Path, name: str, templates: dict[str, str]) -> types.ModuleType:
    package_dir = root / name
    (package_dir / "templates").mkdir(parents=True)
    (package_dir / "__init__.py").write_text("")
    for file_name, text in templates.items():
        (package_dir / "templates" / file_name).write_text(text)
    module = types.ModuleType(name)
    module.__file__ = str(package_dir / "__init__.py")
    return module


def test_extends_and_overrides_add_template_directories(tmp_path: Path) -> None:
    app_module = _package(tmp_path, "myapp", {"a.html": "app a", "b.html": "app b"})
    extended = _package(tmp_path, "vue", {"b.html": "vue b", "c.html": "vue c"})
    overriding = _package(tmp_path, "mine", {"a.html": "mine a"})
    app = atila.Atila("myapp")
    app.templates.add_directory(os.path.dirname(app_module.__file__) + "/templates")
    with skitai.preference() as pref:
        pref.extends(extended)
        pref.overrides(overriding)
    app.apply_preference(pref)

    @app.route("/<name>")
    def page(was, name):
        return was.render(name)

    client = Client(app)
    assert [client.get(f"/{n}.html").text for n in "abc"] == ["mine a", "app b", "vue c"]


def test_app_module_templates_directory_is_found(tmp_path: Path) -> None:
    module = _package(tmp_path, "pkgapp", {"index.html": "from the package"})
    import sys

    sys.modules["pkgapp"] = module
    try:
        app = atila.Atila("pkgapp")
        assert app.templates.search_path == [str(tmp_path / "pkgapp" / "templates")]
    finally:
        del sys.modules["pkgapp"]


def test_template_registration_is_frozen_after_the_first_request(
    app: atila.Atila, client: Client
) -> None:
    @app.route("/")
    def index(was):
        return "x"

    client.get("/")
    with pytest.raises(RuntimeError):
        app.template_global("late")(lambda was: 1)
    with pytest.raises(RuntimeError):
        app.jinja_overlay()


# -- Chameleon --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["pt", "ptal"])
def test_chameleon_templates(
    app: atila.Atila, client: Client, templates: Write, suffix: str
) -> None:
    templates(
        f"page.{suffix}",
        """\
        <html><body>
        <h1>${context.title}</h1>
        <ul><li tal:repeat="row rows" tal:content="row">x</li></ul>
        <p tal:condition="request.method == 'GET'">${was.urlfor('page')} ${shout('hey')}</p>
        <div tal:replace="structure trusted" />
        </body></html>
        """,
    )

    @app.template_global("shout")
    def shout(was, word):
        return word.upper() + was.request.method

    @app.route("/")
    def page(was):
        return was.render(f"page.{suffix}", title="A & <B>", rows=["<i>", 2], trusted="<em>ok</em>")

    text = client.get("/").text
    assert "<h1>A &amp; &lt;B&gt;</h1>" in text
    assert "<li>&lt;i&gt;</li>" in text and "<li>2</li>" in text
    assert "<p>/ HEYGET</p>" in text and "<em>ok</em>" in text


def test_chameleon_missing_template(app: atila.Atila) -> None:
    with pytest.raises(TemplateNotFound):
        app.templates._chameleon_template("../etc/passwd.pt")


# -- render_or_API ----------------------------------------------------------------------


def test_render_or_api_follows_the_accept_header(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates("items.html", "<ul>{% for i in result %}<li>{{ i }}</li>{% endfor %}</ul>")

    @app.route("/")
    def index(was):
        return was.render_or_API("items.html", result=[1, 2])

    page = client.get("/", headers=HTML)
    assert page.text == "<ul><li>1</li><li>2</li></ul>"
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept"
    api = client.get("/", headers=JSON)
    assert api.json() == {"result": [1, 2]} and api.headers["vary"] == "Accept"
    assert client.get("/", headers={"Accept": "*/*"}).json() == {"result": [1, 2]}
    refused = client.get("/", headers={"Accept": "text/html;q=0, application/json"})
    assert refused.json() == {"result": [1, 2]}


def test_render_or_map_and_mapped_wait_for_corequests(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates("m.html", "{{ result }} {{ count }}")

    @app.route("/map")
    def mapped(was):
        return was.render_or_Map(
            "m.html", "210 Something", result=was.Thread(lambda: [1, 2]), count=2
        )

    @app.route("/tasks")
    def tasks(was):
        return was.render_or_Mapped("m.html", was.Tasks(result=was.Thread(sum, args=([1, 2],))))

    page = client.get("/map", headers=HTML)
    assert page.status_code == 210 and page.text == "[1, 2] 2"
    assert page.headers["content-type"].startswith("text/html")
    api = client.get("/map", headers=JSON)
    assert api.status_code == 210 and api.json() == {"result": [1, 2], "count": 2}
    assert client.get("/tasks", headers=HTML).text == "3 "
    assert client.get("/tasks", headers=JSON).json() == {"result": 3}


# -- error templates and the debug page ---------------------------------------------------


def test_error_handler_renders_a_template(
    app: atila.Atila, client: Client, templates: Write
) -> None:
    templates(
        "404.htm",
        """\
        <h1>{{ error.code }} {{ error.message }}</h1>
        <p>{{ error.detail }}</p>
        <div>URL: {{ error.url }}</div>
        <div>Time: {{ error.time }}</div>""",
    )
    templates("default.htm", "default {{ error.code }} {{ error.message }}")

    @app.error_handler(404)
    def not_found(was, error):
        return was.render("404.htm", error=error)

    @app.default_error_handler
    def default_error_handler(was, error):
        return was.render("default.htm", error=error)

    @app.route("/photo/<name>")
    def photo(was, name, **query):
        raise was.Error("404 Not Found", detail=f"no <{name}>")

    @app.route("/forbidden")
    def forbidden(was):
        return was.response("403 Forbidden")

    missing = client.get("/photo/cat?x=1", headers=HTML)
    assert missing.status_code == 404
    lines = missing.text.splitlines()
    assert lines[:3] == [
        "<h1>404 Not Found</h1>",
        "<p>no &lt;cat&gt;</p>",
        "<div>URL: /photo/cat?x=1</div>",
    ]
    assert lines[3].startswith("<div>Time: 20")
    assert client.get("/nowhere").status_code == 404
    denied = client.get("/forbidden")
    assert denied.status_code == 403 and denied.text == "default 403 Forbidden"


@pytest.fixture
def crashing(app: atila.Atila, caplog: pytest.LogCaptureFixture) -> atila.Atila:
    caplog.set_level(logging.CRITICAL)

    @app.route("/crash")
    def crash(was):
        secret = "hunter2"  # noqa: F841 - shown as a local on the debug page
        return {"a": 1}["missing"]

    return app


def test_debug_page_shows_source_lines_and_locals_in_debug(crashing: atila.Atila) -> None:
    crashing.debug = True
    page = Client(crashing).get("/crash", headers=HTML)
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "KeyError: &#x27;missing&#x27;" in page.text
    assert "in crash</h3>" in page.text and "test_templates.py" in page.text
    assert "return {&quot;a&quot;: 1}[&quot;missing&quot;]" in page.text  # the source line
    assert "hunter2" in page.text  # locals
    as_json = Client(crashing).get("/crash", headers=JSON).json()
    assert as_json["code"] == 500 and as_json["traceback"]


def test_no_debug_page_in_production(crashing: atila.Atila) -> None:
    page = Client(crashing).get("/crash", headers=HTML)
    assert page.status_code == 500
    assert "hunter2" not in page.text and "missing" not in page.text
    assert (
        "test_templates.py" not in page.text and "<h1>500 Internal Server Error</h1>" in page.text
    )


def test_error_in_a_template_shows_the_template_line_in_debug(
    app: atila.Atila, client: Client, templates: Write, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    templates("broken.html", "line one\n{{ 1 / zero }}\n")

    @app.route("/")
    def index(was):
        return was.render("broken.html", zero=0)

    app.debug = True
    page = client.get("/", headers=HTML).text
    assert "ZeroDivisionError" in page and "broken.html" in page and "{{ 1 / zero }}" in page


# -- MINIFY_HTML ----------------------------------------------------------------------------

PAGE = """\
<html>
  <head>
    <style>
      body { color: red; }
    </style>
  </head>
  <body>

    <!-- a comment -->
    <p>  {{ text }}  </p>
    <pre>
  keep   this
    </pre>
  </body>
</html>
"""


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (None, None),
        (False, None),
        (
            "strip",
            "<html>\n<head>\n<style>\n      body { color: red; }\n    </style>\n</head>\n<body>\n"
            "<!-- a comment -->\n<p>  a &amp; b  </p>\n<pre>\n  keep   this\n    </pre>\n"
            "</body>\n</html>",
        ),
        (
            "minify",
            "<html><head><style>body{color:red}</style></head><body><p>a & b</p><pre>\n"
            "  keep   this\n    </pre></body></html>",
        ),
    ],
)
def test_minify_html_modes(
    app: atila.Atila, client: Client, templates: Write, mode: str | None, expected: str | None
) -> None:
    templates("page.html", PAGE)
    templates("page.txt", "keep  \n\n  as is")
    app.config.MINIFY_HTML = mode

    @app.route("/")
    def index(was):
        return was.render("page.html", text="a & b")

    @app.route("/txt")
    def txt(was):
        return was.render("page.txt")

    text = client.get("/").text
    if expected is None:
        assert text == PAGE.replace("{{ text }}", "a &amp; b").rstrip("\n")
    else:
        assert text == expected
    assert client.get("/txt").text == "keep  \n\n  as is"


def test_invalid_minify_mode_is_an_error(
    app: atila.Atila, client: Client, templates: Write, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    templates("page.html", "x")
    app.config.MINIFY_HTML = "squeeze"

    @app.route("/")
    def index(was):
        return was.render("page.html")

    assert client.get("/", headers=HTML).status_code == 500


def test_strip_keeps_verbatim_elements() -> None:
    html = "  <div>\n\n   <textarea>\n  a\n</textarea>\n <script>\n  if (a) {}\n</script>  </div>"
    assert strip_html(html) == (
        "<div>\n<textarea>\n  a\n</textarea>\n<script>\n  if (a) {}\n</script>  </div>"
    )
