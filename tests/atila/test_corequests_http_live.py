"""HTTP client corequests and ``was.ProxyPass`` through a real Skitai server, against
a real upstream HTTP server (and an XML-RPC server) running in the test process."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from skitai.testing import LiveClient, test_client


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/v1/states"):
            self._send(200, json.dumps([{"code": "VA", "name": "Virginia"}]).encode())
        elif self.path.startswith("/slow"):
            time.sleep(2)
            self._send(200, b"{}")
        elif self.path.startswith("/eof"):  # no Content-Length: the body ends at EOF
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True
        elif self.path.startswith("/boom"):
            self._send(500, b"broken", "text/plain")
        elif self.path.startswith("/page"):
            body = f"page {self.path} lang={self.headers.get('Accept-Language')}".encode()
            self._send(200, body, "text/plain; charset=utf-8", {"X-Upstream": "yes"})
        else:
            self._send(404, b"no such thing", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self._send(
            201,
            json.dumps({"got": body.decode(), "type": self.headers.get("Content-Type")}).encode(),
        )


SERVE = """
import os
import atila
import skitai

app = atila.Atila(__name__)

@app.route("/states")
def states(was):
    task = was.get("@api/v1/states")
    result = task.dispatch()
    return was.API(states=task.fetch(), status=result.status_code)

@app.route("/echo")
def echo(was):
    return was.API(form=was.post("@api/echo", {"a": "1"}).fetch(),
                   json=was.post("@api/echo", json={"b": 2}).fetch())

@app.route("/stub")
def stub(was):
    def respond(was, task):
        return task.fetch()
    with was.stub(os.environ["UPSTREAM"]) as stub:
        return stub.get("/page/1").then(respond)

@app.route("/stub/coroutine", coroutine=True)
def stub_coroutine(was):
    with was.stub("@api") as stub:
        task = yield stub.get("/v1/states")
    return was.API(states=task.fetch())

@app.route("/eof")
def eof(was):
    return [was.get("@api/eof").fetch() for _ in range(2)]

@app.route("/boom")
def boom(was):
    return was.get("@api/boom").fetch()

@app.route("/boom/dispatch")
def boom_dispatch(was):
    result = was.get("@api/boom").dispatch()
    return was.API(code=result.status_code, text=result.text)

@app.route("/down")
def down(was):
    return was.get("@down/x").fetch()

@app.route("/slow")
def slow(was):
    return was.get("@api/slow", timeout=0.3).fetch()

@app.route("/rpc")
def rpc(was):
    return was.API(sum=was.rpc("@rpc/").math.add(2, 3).fetch())

@app.route("/proxy/<path:path>", methods=["GET", "POST"])
def proxy(was, path=None, **query):
    return was.ProxyPass("@api", path)

@app.route("/template")
def template(was):
    app.r.aa = was.get("@api/v1/states")
    app.r.bb = was.get("@api/nothing")
    return was.render("states.html")

@app.route("/template/throw")
def template_throw(was):
    app.r.aa = was.get("@api/boom")
    return was.render("throw.html")

@app.route("/map")
def mapped(was):
    return was.Map(states=was.get("@api/v1/states"), first__code=was.get("@api/v1/states"))

if __name__ == "__main__":
    skitai.alias("@api", skitai.PROTO_HTTP, os.environ["UPSTREAM"])
    skitai.alias("@rpc", skitai.PROTO_HTTP, os.environ["RPC"])
    skitai.alias("@down", skitai.PROTO_HTTP, "127.0.0.1:1")
    skitai.mount("/", app)
    skitai.run(threads=2)
"""


STATES_TEMPLATE = """{% set response = app.r.aa.dispatch () %}
{% if response.status_code == 200 %}
{% for each in response.data %}<li>{{ each.name }}</li>{% endfor %}
{% endif %}
{% set missing = app.r.bb.dispatch () %}<p>{{ missing.status_code }}</p>
"""


def _serve_forever(server: Any) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    rpc = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    rpc.register_function(lambda a, b: a + b, "math.add")
    _serve_forever(upstream)
    _serve_forever(rpc)
    site: Path = tmp_path_factory.mktemp("http_live")
    (site / "serve.py").write_text(textwrap.dedent(SERVE))
    (site / "templates").mkdir()
    (site / "templates" / "states.html").write_text(STATES_TEMPLATE)
    (site / "templates" / "throw.html").write_text(
        '{% set r = app.r.aa.dispatch_or_throw("503 Service Unavailable") %}{{ r.data }}'
    )
    env = {
        "UPSTREAM": f"http://127.0.0.1:{upstream.server_address[1]}",
        "RPC": f"http://127.0.0.1:{rpc.server_address[1]}",
    }
    client = test_client(str(site / "serve.py"), devel=False, env=env)
    try:
        yield client
    finally:
        client.stop()
        upstream.shutdown()
        upstream.server_close()
        rpc.shutdown()
        rpc.server_close()


def test_get_through_an_alias(live: LiveClient) -> None:
    assert live.get("/states").json() == {
        "states": [{"code": "VA", "name": "Virginia"}], "status": 200,
    }  # fmt: skip


def test_post_form_and_json(live: LiveClient) -> None:
    body = live.get("/echo").json()
    assert body["form"] == {"got": "a=1", "type": "application/x-www-form-urlencoded"}
    assert body["json"] == {"got": '{"b": 2}', "type": "application/json"}


def test_stub_then_and_coroutine(live: LiveClient) -> None:
    response = live.get("/stub")
    assert response.text == "page /page/1 lang=None"
    assert live.get("/stub/coroutine").json() == {"states": [{"code": "VA", "name": "Virginia"}]}


def test_close_delimited_response(live: LiveClient) -> None:
    assert live.get("/eof").text == "until the enduntil the end"


def test_upstream_failures(live: LiveClient) -> None:
    assert live.get("/boom").status_code == 502
    assert live.get("/boom/dispatch").json() == {"code": 500, "text": "broken"}
    assert live.get("/down").status_code == 503
    started = time.monotonic()
    assert live.get("/slow").status_code == 504
    assert time.monotonic() - started < 1.5


def test_xmlrpc(live: LiveClient) -> None:
    assert live.get("/rpc").json() == {"sum": 5}


def test_proxypass_relays_the_upstream_response(live: LiveClient) -> None:
    response = live.get("/proxy/page/2", params={"q": "1"}, headers={"Accept-Language": "ko"})
    assert response.status_code == 200
    assert response.text == "page /page/2?q=1 lang=ko"
    assert response.headers["X-Upstream"] == "yes"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    missing = live.get("/proxy/nothing")
    assert missing.status_code == 404 and missing.text == "no such thing"
    assert live.post("/proxy/page/2").status_code == 405


def test_results_in_templates(live: LiveClient) -> None:
    # spec "Using Skitai Async Requests Services Working With Jinja2 Template"
    page = live.get("/template")
    assert page.status_code == 200
    assert "<li>Virginia</li>" in page.text and "<p>404</p>" in page.text
    assert live.get("/template/throw").status_code == 503


def test_map_of_http_corequests(live: LiveClient) -> None:
    assert live.get("/map").json() == {
        "states": [{"code": "VA", "name": "Virginia"}], "first": "VA",
    }  # fmt: skip
