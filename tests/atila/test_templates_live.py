"""Templates end to end through a real Skitai server: Jinja2 pages with globals, filters,
app.r and static URLs, escaping, a Chameleon page, Accept-driven render_or_API, error
templates, the debug page only in debug mode and MINIFY_HTML from a preference."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from skitai.testing import LiveClient, test_client

SERVE = """
import skitai
import atila


def build(name):
    app = atila.Atila(__name__)
    app.config.STATIC_URL = "/static/"

    @app.template_global("greet")
    def greet(was, who):
        return f"hello {who} via {was.request.method}"

    @app.template_filter("reverse")
    def reverse(s):
        return s[::-1]

    @app.route("/")
    def index(was, product="Apple"):
        app.r.howmany = 3
        return was.render("index.html", product=product, rows=ROWS)

    @app.route("/pt")
    def chameleon(was):
        return was.render("page.pt", title="T & <U>", rows=ROWS)

    @app.route("/items")
    def items(was):
        return was.render_or_API("items.html", result=[1, 2, 3])

    @app.route("/mapped")
    def mapped(was):
        return was.render_or_Map("items.html", result=was.Thread(lambda: [4, 5]))

    @app.route("/crash")
    def crash(was):
        token = "s3cret-token"
        raise RuntimeError("boom in " + name)

    @app.error_handler(404)
    def not_found(was, error):
        return was.render("404.htm", error=error)

    return app


ROWS = [{"id": n, "name": f"<row {n}>"} for n in range(1, 4)]

if __name__ == "__main__":
    skitai.mount("/", build("main"))
    with skitai.preference() as pref:
        pref.debug = True
    skitai.mount("/dbg", build("debug"), pref)
    with skitai.preference() as pref:
        pref.config.MINIFY_HTML = "minify"
    skitai.mount("/min", build("minified"), pref)
    skitai.run()
"""

FILES = {
    "templates/index.html": """\
        <html>
          <head><link rel="stylesheet" href="{{ was.static('site.css') }}"></head>
          <body>
            <h1>{{ app.r.howmany }} x {{ product }} {{ product | reverse }}</h1>
            <p>{{ greet(context.product) }}</p>
            <table>
            {% for row in rows %}{% if row.id == 2 %}{% continue %}{% endif %}
              <tr><td>{{ row.id }}</td><td>{{ row.name }}</td></tr>
            {% endfor %}
            </table>
          </body>
        </html>
        """,
    "templates/page.pt": """\
        <html><body>
        <h1>${title}</h1>
        <ul><li tal:repeat="row rows">${row['id']}: ${row['name']}</li></ul>
        <p>${greet('pt')}</p>
        </body></html>
        """,
    "templates/items.html": "<ul>{% for i in result %}<li>{{ i }}</li>{% endfor %}</ul>",
    "templates/404.htm": """\
        <h1>{{ error.code }} {{ error.message }}</h1>
        <div>URL: {{ error.url }}</div>
        """,
}

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    """One server for the module (starting one per test would be slow)."""
    root = tmp_path_factory.mktemp("templates_live")
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "serve.py").write_text(textwrap.dedent(SERVE))
    client = test_client(str(root / "serve.py"), devel=False)
    yield client
    client.stop()


def test_jinja_page_with_globals_filters_app_r_and_escaping(live: LiveClient) -> None:
    page = live.get("/", params={"product": "<Pear & Co>"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = page.text
    assert '<link rel="stylesheet" href="/static/site.css">' in text
    assert "<h1>3 x &lt;Pear &amp; Co&gt; &gt;oC &amp; raeP&lt;</h1>" in text
    assert "<p>hello &lt;Pear &amp; Co&gt; via GET</p>" in text
    assert "<td>1</td><td>&lt;row 1&gt;</td>" in text and "<td>3</td>" in text
    assert "<td>2</td>" not in text  # {% continue %}
    assert "<Pear" not in text


def test_chameleon_page(live: LiveClient) -> None:
    text = live.get("/pt").text
    assert "<h1>T &amp; &lt;U&gt;</h1>" in text
    assert "<li>1: &lt;row 1&gt;</li>" in text and "<li>3: &lt;row 3&gt;</li>" in text
    assert "<p>hello pt via GET</p>" in text


def test_render_or_api_switches_on_accept(live: LiveClient) -> None:
    page = live.get("/items", headers=HTML)
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == "<ul><li>1</li><li>2</li><li>3</li></ul>"
    api = live.get("/items", headers=JSON)
    assert api.headers["content-type"] == "application/json"
    assert api.json() == {"result": [1, 2, 3]}
    assert page.headers["vary"] == api.headers["vary"] == "Accept"


def test_render_or_map_switches_on_accept(live: LiveClient) -> None:
    assert live.get("/mapped", headers=HTML).text == "<ul><li>4</li><li>5</li></ul>"
    assert live.get("/mapped", headers=JSON).json() == {"result": [4, 5]}


def test_error_template(live: LiveClient) -> None:
    missing = live.get("/no/such/page?q=1", headers=HTML)
    assert missing.status_code == 404
    assert missing.text.splitlines() == [
        "<h1>404 Not Found</h1>",
        "<div>URL: /no/such/page?q=1</div>",
    ]
    assert live.get("/dbg/no/such/page").text.startswith("<h1>404 Not Found</h1>")


def test_debug_page_only_in_debug_mode(live: LiveClient) -> None:
    production = live.get("/crash", headers=HTML)
    assert production.status_code == 500
    assert "boom" not in production.text and "s3cret-token" not in production.text
    assert "serve.py" not in production.text

    debug = live.get("/dbg/crash", headers=HTML)
    assert debug.status_code == 500
    assert "RuntimeError: boom in debug" in debug.text
    assert "serve.py" in debug.text and "in crash</h3>" in debug.text
    assert "raise RuntimeError(&quot;boom in &quot; + name)" in debug.text
    assert "s3cret-token" in debug.text
    assert live.get("/dbg/crash", headers=JSON).json()["traceback"]


def test_minify_html_from_a_preference(live: LiveClient) -> None:
    minified = live.get("/min/", params={"product": "Fig"}).text
    plain = live.get("/", params={"product": "Fig"}).text
    assert "\n" not in minified.strip() and len(minified) < len(plain) * 0.8
    assert "<h1>3 x Fig giF</h1><p>hello Fig via GET</p><table><tr><td>1</td>" in minified
    assert "<link href=/static/site.css rel=stylesheet>" in minified


def test_many_concurrent_renders(live: LiveClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def fetch(n: int) -> str:
        client = live.clone()  # not a `with` block: leaving one stops the server
        try:
            return client.get("/", params={"product": f"p{n}"}).text
        finally:
            client.close()

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(fetch, range(40)))
    assert all(f"<h1>3 x p{n} " in page for n, page in enumerate(pages))
