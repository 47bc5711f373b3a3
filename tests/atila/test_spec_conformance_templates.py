"""Black-box conformance with the spec's template sections, through a running server.

Spec sections (spec/atila-framework.txt): "Working With Jinja2 Template Engine", "Using
Skitai Async Requests Services Working With Jinja2 Template", "Registering Global Template
Function", "Registering Jinja2 Filter", "Custom Error Template", "Working With Chameleon
Template Engine", "Selective Media Response By Accept Header" (also "... With Map
Response"), "Building Static URL", "Default App Configuration" and "Debugging and
Reloading App" (the debug error page).

Every code example runs here, minimally adapted (typos fixed: ``", ".join.(...)``,
``was.Taks``, the ``error`` parameter of the ``render_or_API`` examples, ``404.html``
read as the ``404.htm`` the handler renders), in ONE server for the module; each test
asserts what a reader of the spec expects.  Deliberate readings are in
docs/atila-templates.md.
"""

# The server scripts quote the spec's examples as written (long lines included).
# ruff: noqa: E501

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from skitai.testing import LiveClient, test_client

APP = r"""
import os, sys, time
from atila import Atila

app = Atila (__name__)

# ---- Working With Jinja2 Template Engine
@app.route ("/")
def index (was, **args):
  return was.render ("index.html", choice = 2, product = "Apples")

@app.route ("/dict")
def index_dict (was, **args):
  return was.render ("index.html", {"choice": 2, "product": "Apples"})

@app.route ("/mixed")
def index_mixed (was):
  return was.render ("index.html", {"choice": 2}, product = "Apples")

@app.route ("/reserved/<name>")
def reserved (was, name):
  return was.render ("index.html", **{name: 1, "choice": 2, "product": "x"})

@app.route ("/checkout/<int:choice>")
def checkout (was, choice):
  return "checkout %d" % choice

@app.route ("/apples/<int:howmany>")
def apples (was, howmany):
  app.r.product = "Apple"
  app.r.howmany = howmany
  return was.render ("checkout.html")

@app.route ("/escape")
def escape (was, ext = "html"):
  return was.render ("escape." + ext, text = "<b>&\"bold\"</b>")

@app.route ("/ext")
def ext (was):
  return was.render ("ext.html", items = [1, 2, 3, 4, 5])

# ---- app.jinja_env and @app.template_global
def generate_form_token ():
  return "token-from-env"

app.jinja_env.globals['form_token'] = generate_form_token

@app.template_global ('form_token2')
def generate_form_token2 ():
  return "token-from-decorator"

@app.template_global ("test_global")
def test (was):
  return ", ".join (was.request.args.keys ())

@app.route ("/globals")
def globals_page (was, **args):
  return was.render ("globals.html")

# ---- Registering Jinja2 Filter
@app.template_filter ("reverse")
def reverse_filter (s):
  return s [::-1]

@app.route ("/filter")
def filter_page (was):
  return was.render ("filter.html")

# ---- add_jinja_ext
app.add_jinja_ext ('jinja2.ext.i18n')
app.jinja_env.install_null_translations ()

@app.route ("/i18n")
def i18n (was):
  return was.render ("i18n.html", n = 3)

# ---- Using Skitai Async Requests Services Working With Jinja2 Template
PORT = sys.argv [sys.argv.index ("--port") + 1]

@app.login_handler
def login_handler (was):
  if was.request.args.get ("deny"):
    return "please log in"

@app.route ("/data")
def data (was):
  return was.API (data = ["x", "y"])

@app.route ("/async")
@app.login_required
def intro (was, **args):
  app.r.aa = was.get ("http://127.0.0.1:%s/data" % PORT)
  app.r.bb = was.get ("http://127.0.0.1:1/unreachable")
  return was.render ('template.html')

@app.route ("/async-fail")
def intro_fail (was):
  app.r.aa = was.get ("http://127.0.0.1:1/unreachable")
  return was.render ('template_throw.html')

# ---- Custom Error Template
@app.default_error_handler
def default_error_handler (was, error):
  return was.render ('default.htm', error = error)

@app.error_handler (404)
def not_found (was, error):
  return was.render ('404.htm', error = error)

@app.route ("/crash")
def crash (was):
  secret_local = "s3cret-value"
  raise RuntimeError ("boom in handler")

@app.route ("/explained")
def explained (was):
  return was.response.with_explain (404, "the detail <why>")

@app.route ("/cached")
def cached (was):
  return was.render ("cached.html")

@app.route ("/throw-in-template")
def throw_in_template (was):
  return was.render ("throw.html")

app.users = {"hansroh": ("1234", False)}

@app.route ("/protected", authenticate = "basic")
def protected (was):
  return "inside"

@app.route ("/post-only", methods = ["POST"])
def post_only (was):
  return "posted"

@app.route ("/gone")
def gone (was):
  raise was.Error ("404 Not Found", "this page is gone")

@app.route ("/untitled")
def untitled (was):
  raise was.Error ("400 Bad Request", "title required")

# ---- Chameleon
@app.route ("/pt")
def chameleon (was):
  app.r.who = "r-value"
  return was.render ("page.pt", title = "T & <U>", rows = [{"id": 1, "name": "<a>"}, {"id": 2, "name": "b"}])

@app.route ("/unicode")
def unicode_page (was, ext = "html"):
  return was.render ("unicode." + ext, text = "한글 é €")

@app.route ("/ptal")
def chameleon_ptal (was):
  return was.render ("page.ptal", title = "ptal")

# ---- Selective Media Response By Accept Header
@app.route ('/roa')
def roa (was):
  result = [{"id": 1, "name": "<one>"}, {"id": 2, "name": "two"}]
  return was.render_or_API ("rows.html", result = result)

@app.route ('/rom')
def rom (was):
  db = was.db ("@lite")
  return was.render_or_Map ("rows.html", result = db.execute ('SELECT id, name FROM items ORDER BY id'))

@app.route ('/romd')
def romd (was):
  db = was.db ("@lite")
  tasks = was.Tasks (result = db.execute ('SELECT id, name FROM items ORDER BY id'))
  return was.render_or_Mapped ("rows.html", tasks)

# ---- Building Static URL
@app.route ("/urls")
def urls (was):
  return was.API (static = was.static ('assets/style.css'), media = was.media ('movie.mov'))

@app.route ("/static-file")
def static_file (was):
  return was.Static (was.static ('assets/style.css'))

@app.route ("/static-short")
def static_short (was):
  return was.Static ('assets/style.css')

@app.route ("/in-template")
def in_template (was):
  return was.render ("static.html")
"""

SERVE = r"""
import os, sqlite3, sys
import skitai
from atila import Atila

HERE = os.path.dirname (os.path.abspath (__file__))
DB = os.path.join (HERE, "lite.db")
con = sqlite3.connect (DB)
con.execute ("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
con.execute ("DELETE FROM items")
con.executemany ("INSERT INTO items VALUES (?, ?)", [(1, "<one>"), (2, "two")])
con.commit (); con.close ()
skitai.alias ("@lite", skitai.DB_SQLITE3, DB)

import app as main_app

# jinja_overlay: other delimiters (and the spec's line statement prefixes)
vue = Atila ("vue")

@vue.template_filter ("shout")
def shout (s):
  return s.upper () + "!"

@vue.template_global ("hello")
def hello (was, who):
  return "hello " + who

vue.jinja_overlay (
  variable_start_string = "[[",
  variable_end_string = "]]",
  block_start_string = "[%",
  block_end_string = "%]",
  comment_start_string = "[#",
  comment_end_string = "#]",
  line_statement_prefix = "%",
  line_comment_prefix = "%%",
  trim_blocks = True,
)
vue.templates.add_directory (os.path.join (HERE, "templates"))

@vue.route ("/")
def vue_index (was):
  return was.render ("vue.html", name = "<Hans>", items = ["a", "b"])

noext = Atila ("noext")
noext.jinja_overlay (extensions = [])
noext.templates.add_directory (os.path.join (HERE, "templates"))

@noext.route ("/")
def noext_index (was):
  return was.render ("ext.html", items = [1, 2])

# Default App Configuration
defaults = Atila ("defaults")

@defaults.route ("/")
def config (was):
  c = defaults.config
  return was.API (STATIC_URL = c.STATIC_URL, MEDIA_URL = c.MEDIA_URL, MINIFY_HTML = c.MINIFY_HTML,
                  JSON_ENCODER = c.JSON_ENCODER, PRETTY_JSON = c.PRETTY_JSON)

pretty = Atila ("pretty")
pretty.config.PRETTY_JSON = True # if True, 2 spaces indent format

@pretty.route ("/")
def pretty_index (was):
  return was.API (a = 1, b = [1, 2])

def minified (name, mode):
  m = Atila (name)
  m.config.MINIFY_HTML = mode
  m.templates.add_directory (os.path.join (HERE, "templates"))
  @m.route ("/")
  def page (was):
    return was.render ("spaced.html", rows = [1, 2])
  @m.route ("/pt")
  def pt (was):
    return was.render ("spaced.pt", rows = [1, 2])
  @m.route ("/xml")
  def xml (was):
    was.response ["Content-Type"] = "text/xml"
    return was.render ("spaced.xml")
  return m

# Debugging: the debug error page
debug = Atila ("debugapp")
debug.debug = True

@debug.route ("/broken")
def debug_broken (was):
  return was.render ("broken.html", items = [1])

@debug.route ("/crash")
def debug_crash (was):
  secret_local = "s3cret-value"
  raise RuntimeError ("boom in handler")

if __name__ == "__main__":
  main_app.app.config.STATIC_URL = '/static/'
  main_app.app.config.MEDIA_URL = '/media/'
  with skitai.preference () as pref:
    pref.set_static ('/static/', os.path.join (HERE, 'static'))
    pref.set_media ('/media/', os.path.join (HERE, 'media'))
    skitai.mount ("/", main_app.app, pref)
  skitai.mount ("/vue", vue)
  skitai.mount ("/noext", noext)
  skitai.mount ("/defaults", defaults)
  skitai.mount ("/pretty", pretty)
  skitai.mount ("/strip", minified ("strip", "strip"))
  skitai.mount ("/minify", minified ("minify", "minify"))
  skitai.mount ("/dbg", debug)
  skitai.run ()
"""

FILES = {
    "templates/index.html": """\
        <p>{{ request.cookie.username }} choices item {{ request.ARGS.get ("choice", "N/A") }}.</p>
        <a href="{{ was.urlfor ('checkout', context.choice) }}">Proceed</a>
        <span>{{ product }}/{{ context.product }}/{{ choice }}</span>
        <i>{{ app is not none }} {{ response is not none }} {{ was.request is sameas request }} {{ was.response is sameas response }}</i>
        """,
    "templates/checkout.html": """\
        Checkout for {{ app.r.howmany }} {{ app.r.product }}{{ app.r.howmany > 1 and "s" or ""}}
        """,
    "templates/escape.html": "<p>{{ text }}</p>",
    "templates/escape.htm": "<p>{{ text }}</p>",
    "templates/escape.xml": "<t>{{ text }}</t>",
    "templates/escape.txt": "{{ text }}",
    "templates/ext.html": """\
        {% set found = [] %}{% for i in items %}{% if i == 4 %}{% break %}{% endif %}{% if i == 2 %}{% continue %}{% endif %}{% do found.append (i) %}{% endfor %}found={{ found | join (",") }}
        """,
    "templates/globals.html": "<p>{{ form_token () }}|{{ form_token2 () }}|{{ test_global () }}</p>",
    "templates/filter.html": '<p>{{ "Hello" | reverse }}</p>',
    "templates/i18n.html": "{% trans %}Hello World{% endtrans %} {% trans count=n %}{{ count }} apple{% pluralize %}{{ count }} apples{% endtrans %}",
    "templates/template.html": """\
        {% set response = app.r.aa.dispatch () %}
        {% if response.status_code == 200 %}
          {% for each in response.data ["data"] %}<li>{{ each }}</li>{% endfor %}
        {% endif %}
        {% set failed = app.r.bb.dispatch () %}
        <p>failed status={{ failed.status }}</p>
        """,
    "templates/template_throw.html": """\
        {% set response = app.r.aa.dispatch_or_throw ("500 Internal Server Error") %}
        <p>never {{ response.status }}</p>
        """,
    "templates/default.htm": """\
        <h1>{{ error.code }} {{ error.message }}</h1>
        <p class="default">default handler</p>
        <p class="detail">{{ error.detail }}</p>
        """,
    "templates/404.htm": """\
        <h1>{{ error.code }} {{ error.message }}</h1>
        <p>{{ error.detail }}</p>
        <hr>
        <div>URL: {{ error.url }}</div>
        <div>Time: {{ error.time }}</div>
        """,
    "templates/page.pt": """\
        <html><body>
        <h1>${title}</h1>
        <ul><li tal:repeat="row rows">${row['id']}: ${row['name']}</li></ul>
        <p>${test_global()}</p>
        <p>${app.r.who} ${request.method}</p>
        </body></html>
        """,
    "templates/page.ptal": '<div><span tal:content="title">x</span></div>',
    "templates/rows.html": "<ul>{% for r in result %}<li>{{ r.id }}={{ r.name }}</li>{% endfor %}</ul>",
    "templates/static.html": "<link href=\"{{ was.static('site.css') }}\"><img src=\"{{ was.media('a.png') }}\">",
    "templates/vue.html": """\
        <div id="app">{{ vue_variable }}</div>
        <p>[[ name ]]</p>
        [# a comment #]
        % for i in items
        <li>[[ i ]]</li>
        % endfor
        %% a line comment
        [% if name %]yes[% endif %]
        <b>[[ "kept" | shout ]] [[ hello ("vue") ]]</b>
        """,
    "templates/spaced.pt": """\
        <html>
          <body>
            <p>
               Hello      Chameleon
            </p>
            <span tal:repeat="r rows">${r}</span>
          </body>
        </html>
        """,
    "templates/spaced.html": """\
        <html>
          <head>
            <style>
              body   {  color :  red ;  }
            </style>
          </head>
          <body>
            <!-- a comment -->
            <p>
               Hello      World
            </p>
            <pre>
          keep   this
            </pre>
            {% for r in rows %}
              <span>{{ r }}</span>
            {% endfor %}
          </body>
        </html>
        """,
    "templates/spaced.xml": """\
        <?xml version="1.0"?>
        <root>
            <item>  a  </item>
        </root>
        """,
    "templates/cached.html": "version one",
    "templates/unicode.html": "<p>{{ text }} — ✓</p>",
    "templates/unicode.pt": "<p>${text} — ✓</p>",
    "templates/throw.html": """\
        {% if true %}
          {{ was.response.throw ("503 Service Unavailable") }}
        {% endif %}
        never shown
        """,
    "templates/broken.html": """\
        <p>first line</p>
        {{ items [0] / 0 }}
        <p>last line</p>
        """,
    "static/assets/style.css": "body { color: blue; }\n",
    "static/site.css": "p {}\n",
}

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def root_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spec_templates")


@pytest.fixture(scope="module")
def live(root_dir: Path) -> Iterator[LiveClient]:
    """One server for the module."""
    for name, text in FILES.items():
        path = root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root_dir / "media").mkdir(exist_ok=True)
    (root_dir / "app.py").write_text(APP, encoding="utf-8")
    (root_dir / "serve.py").write_text(SERVE, encoding="utf-8")
    client = test_client(str(root_dir / "serve.py"), devel=False)
    try:
        yield client
    finally:
        client.stop()


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ================================================================== Jinja2


def test_render_kwargs_and_template_names(live: LiveClient) -> None:
    live.cookies.set("username", "hans")
    try:
        r = live.get("/", params={"choice": "7"}, headers=HTML)
    finally:
        live.cookies.clear()
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<p>hans choices item 7.</p>" in r.text
    assert '<a href="/checkout/2">Proceed</a>' in r.text
    assert "<span>Apples/Apples/2</span>" in r.text
    assert "<i>True True True True</i>" in r.text
    assert live.get("/checkout/2").text == "checkout 2"


def test_render_dict_is_same_as_kwargs(live: LiveClient) -> None:
    assert live.get("/dict").text == live.get("/").text
    assert "N/A" in live.get("/dict").text


def test_render_dict_and_kwargs_together_is_refused(live: LiveClient) -> None:
    r = live.get("/mixed", headers=HTML)
    assert r.status_code == 500
    assert "Apples" not in r.text


@pytest.mark.parametrize("name", ["was", "app", "request", "response", "context"])
def test_reserved_names_cannot_be_context_variables(live: LiveClient, name: str) -> None:
    assert live.get(f"/reserved/{name}", headers=HTML).status_code == 500


def test_app_r_values_in_template(live: LiveClient) -> None:
    assert squash(live.get("/apples/10").text) == "Checkout for 10 Apples"
    assert squash(live.get("/apples/1").text) == "Checkout for 1 Apple"


@pytest.mark.parametrize(
    ("ext", "escaped"), [("html", True), ("htm", True), ("xml", True), ("txt", False)]
)
def test_autoescaping(live: LiveClient, ext: str, escaped: bool) -> None:
    text = live.get("/escape", params={"ext": ext}).text
    if escaped:
        assert "&lt;b&gt;&amp;&#34;bold&#34;&lt;/b&gt;" in text and "<b>" not in text
    else:
        assert '<b>&"bold"</b>' in text


def test_default_extensions_do_and_loopcontrols(live: LiveClient) -> None:
    r = live.get("/ext")
    assert r.status_code == 200 and squash(r.text) == "found=1,3"


def test_jinja_overlay_extensions_empty_removes_them(live: LiveClient) -> None:
    assert live.get("/noext/", headers=HTML).status_code == 500


def test_jinja_overlay_delimiters_and_line_statements(live: LiveClient) -> None:
    r = live.get("/vue/")
    assert r.status_code == 200, r.text
    assert "{{ vue_variable }}" in r.text  # left for the JS renderer
    assert "<p>&lt;Hans&gt;</p>" in r.text
    assert "<li>a</li>" in r.text and "<li>b</li>" in r.text
    assert "a comment" not in r.text and "line comment" not in r.text
    assert "yes" in r.text
    # filters and globals registered before the overlay are kept
    assert "<b>KEPT! hello vue</b>" in r.text


def test_add_jinja_ext_i18n(live: LiveClient) -> None:
    assert squash(live.get("/i18n").text) == "Hello World 3 apples"


def test_templates_compiled_once_without_reloader(live: LiveClient, root_dir: Path) -> None:
    assert live.get("/cached").text == "version one"
    (root_dir / "templates" / "cached.html").write_text("version two")
    assert live.get("/cached").text == "version one"  # use_reloader is off


# ================================================================== globals and filters


def test_template_globals_env_and_decorator(live: LiveClient) -> None:
    r = live.get("/globals", params={"a": "1", "b": "2"})
    assert r.status_code == 200, r.text
    assert r.text == "<p>token-from-env|token-from-decorator|a, b</p>"


def test_template_filter(live: LiveClient) -> None:
    assert live.get("/filter").text == "<p>olleH</p>"


# ================================================================== async requests in templates


def test_async_requests_dispatched_in_template(live: LiveClient) -> None:
    r = live.get("/async")
    assert r.status_code == 200, r.text
    assert "<li>x</li><li>y</li>" in r.text
    assert re.search(r"failed status=[12]\b", r.text)  # not STATUS_NORMAL (3)
    assert live.get("/async", params={"deny": "1"}).text == "please log in"


def test_dispatch_or_throw_in_template(live: LiveClient) -> None:
    r = live.get("/async-fail", headers=HTML)
    assert r.status_code == 500
    assert "never" not in r.text


# ================================================================== Custom Error Template


def test_custom_404_template(live: LiveClient) -> None:
    r = live.get("/no/such/page", params={"x": "1"}, headers=HTML)
    assert r.status_code == 404
    assert "<h1>404 Not Found</h1>" in r.text
    assert "<div>URL: /no/such/page?x=1</div>" in r.text
    assert re.search(r"<div>Time: \S.*\d</div>", r.text)


def test_custom_404_template_with_message(live: LiveClient) -> None:
    r = live.get("/gone", headers=HTML)
    assert r.status_code == 404
    assert "<h1>404 Not Found</h1>\n<p>this page is gone</p>" in r.text


def test_default_error_template_renders_400_bad_request_and_detail(live: LiveClient) -> None:
    r = live.get("/untitled", headers=HTML)
    assert r.status_code == 400
    assert "<h1>400 Bad Request</h1>" in r.text
    assert '<p class="detail">title required</p>' in r.text


def test_custom_404_template_with_detail_escaped(live: LiveClient) -> None:
    r = live.get("/explained", headers=HTML)
    assert r.status_code == 404
    assert "<p>the detail &lt;why&gt;</p>" in r.text and "<div>URL: /explained</div>" in r.text


def test_default_error_template(live: LiveClient) -> None:
    r = live.get("/crash", headers=HTML)
    assert r.status_code == 500
    assert "<h1>500 " in r.text and 'class="default"' in r.text
    # debug is off: nothing of the failure reaches the client
    assert "boom in handler" not in r.text and "s3cret-value" not in r.text
    assert "Traceback" not in r.text and "app.py" not in r.text


def test_throw_from_template(live: LiveClient) -> None:
    r = live.get("/throw-in-template", headers=HTML)
    assert r.status_code == 503
    assert "never shown" not in r.text


def test_debug_page_shows_template_lines(live: LiveClient) -> None:
    r = live.get("/dbg/broken", headers=HTML)
    assert r.status_code == 500
    assert "ZeroDivisionError" in r.text and "broken.html" in r.text
    assert "items [0] / 0" in r.text and "first line" in r.text


def test_debug_page_only_when_debug(live: LiveClient) -> None:
    r = live.get("/dbg/crash", headers=HTML)
    assert r.status_code == 500
    assert "RuntimeError" in r.text and "boom in handler" in r.text
    assert "raise RuntimeError" in r.text  # source lines
    assert "s3cret-value" in r.text  # locals
    r = live.get("/dbg/crash", headers=JSON)
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == 500 and "traceback" in body


# ================================================================== Chameleon


def test_chameleon_pt(live: LiveClient) -> None:
    r = live.get("/pt", params={"q": "1"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<h1>T &amp; &lt;U&gt;</h1>" in r.text
    assert "<li>1: &lt;a&gt;</li>" in r.text and "<li>2: b</li>" in r.text
    assert "<p>q</p>" in r.text  # template global, without was
    assert "<p>r-value GET</p>" in r.text


def test_chameleon_ptal(live: LiveClient) -> None:
    r = live.get("/ptal")
    assert r.status_code == 200 and "<span>ptal</span>" in r.text


# ================================================================== Selective media response


@pytest.mark.parametrize("path", ["/roa", "/rom", "/romd"])
def test_render_or_api_by_accept(live: LiveClient, path: str) -> None:
    r = live.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text == "<ul><li>1=&lt;one&gt;</li><li>2=two</li></ul>"
    assert "accept" in r.headers["Vary"].lower()
    for accept in (JSON, {"Accept": "*/*"}, {"Accept": "text/xml"}):  # no XML API: docs
        r = live.get(path, headers=accept)
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.json() == {"result": [{"id": 1, "name": "<one>"}, {"id": 2, "name": "two"}]}
        assert "accept" in r.headers["Vary"].lower()


# ================================================================== Building Static URL


def test_static_and_media_urls(live: LiveClient) -> None:
    assert live.get("/urls").json() == {
        "static": "/static/assets/style.css",
        "media": "/media/movie.mov",
    }
    assert live.get("/in-template").text == '<link href="/static/site.css"><img src="/media/a.png">'


@pytest.mark.parametrize("path", ["/static-file", "/static-short", "/static/assets/style.css"])
def test_static_responses(live: LiveClient, path: str) -> None:
    r = live.get(path)
    assert r.status_code == 200, r.text
    assert r.text == "body { color: blue; }\n"
    assert r.headers["Content-Type"].startswith("text/css")


# ================================================================== Default App Configuration


def test_default_app_configuration(live: LiveClient) -> None:
    assert live.get("/defaults/").json() == {
        "STATIC_URL": "/", "MEDIA_URL": "/media/", "MINIFY_HTML": None,
        "JSON_ENCODER": "utcoffset", "PRETTY_JSON": False,
    }  # fmt: skip
    assert "\n" not in live.get("/defaults/").text.strip()  # PRETTY_JSON = False: compact


def test_pretty_json(live: LiveClient) -> None:
    text = live.get("/pretty/").text
    assert text.strip() == json.dumps({"a": 1, "b": [1, 2]}, indent=2)


def test_minify_html_none(live: LiveClient, root_dir: Path) -> None:
    text = live.get("/escape").text
    assert text == "<p>&lt;b&gt;&amp;&#34;bold&#34;&lt;/b&gt;</p>"


def test_minify_html_strip(live: LiveClient) -> None:
    r = live.get("/strip/")
    assert r.status_code == 200, r.text
    lines = r.text.splitlines()
    assert "<p>" in lines and "Hello      World" in lines  # trimmed, text not joined
    assert all(line for line in lines)  # no blank lines
    assert "<span>1</span>" in lines
    assert "<pre>\n  keep   this\n    </pre>" in r.text  # <pre> verbatim


def test_minify_html_minify(live: LiveClient) -> None:
    r = live.get("/minify/")
    assert r.status_code == 200, r.text
    assert "a comment" not in r.text
    assert "Hello World" in r.text and "Hello      World" not in r.text
    assert "<span>1</span><span>2</span>" in r.text
    assert "color:red" in r.text
    assert "keep   this" in r.text  # <pre> kept
    assert len(r.text) < len(live.get("/strip/").text)


@pytest.mark.parametrize("prefix", ["/strip", "/minify"])
def test_minify_leaves_xml_alone(live: LiveClient, prefix: str) -> None:
    r = live.get(f"{prefix}/xml")
    assert r.status_code == 200
    assert "<item>  a  </item>" in r.text


def test_missing_static_file_is_404(live: LiveClient) -> None:
    assert live.get("/static/none.css").status_code == 404


@pytest.mark.parametrize("prefix", ["/strip", "/minify"])
def test_minify_applies_to_chameleon(live: LiveClient, prefix: str) -> None:
    r = live.get(f"{prefix}/pt")
    assert r.status_code == 200, r.text
    assert "<span>1</span>" in r.text and "<span>2</span>" in r.text
    assert "\n\n" not in r.text and "    <p>" not in r.text
    if prefix == "/minify":
        assert "Hello Chameleon" in r.text


@pytest.mark.parametrize("ext", ["html", "pt"])
def test_non_ascii_templates(live: LiveClient, ext: str) -> None:
    r = live.get("/unicode", params={"ext": ext})
    assert r.status_code == 200, r.text
    assert "charset=utf-8" in r.headers["Content-Type"].lower()
    assert r.content.decode("utf-8") == "<p>한글 é € — ✓</p>"


def test_error_templates_keep_protocol_headers(live: LiveClient) -> None:
    """A custom error page must not drop WWW-Authenticate (401) or Allow (405)."""
    r = live.get("/protected", headers=HTML)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    assert "<h1>401 " in r.text and 'class="default"' in r.text
    assert live.get("/protected", auth=("hansroh", "1234")).text == "inside"
    r = live.get("/post-only", headers=HTML)
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    assert 'class="default"' in r.text
