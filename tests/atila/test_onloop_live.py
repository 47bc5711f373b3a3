"""Atila on the engine's event loop (atila/onloop.py), through a real Skitai server.

``async def``, ``@app.coroutine`` and ``nothread=True`` handlers are dispatched on the
worker's loop (routing, ``@app.inspect``, hooks, the call, the response); plain
``def`` handlers on a handler thread.  Each handler reports where it ran: the
thread's name and whether ``asyncio.get_running_loop()`` works there; the
``before_request`` hook reports the same in a response header.
"""

from __future__ import annotations

import concurrent.futures
import textwrap
from pathlib import Path
from typing import Any

import pytest

from skitai.testing import LiveClient, test_client

SERVE = """
import asyncio
import threading
import time

import atila
import skitai

app = atila.Atila(__name__)
app.securekey = "onloop-securekey-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
gathered = {"waiting": [], "all_in": None}


def where():
    try:
        asyncio.get_running_loop()
        on_loop = True
    except RuntimeError:
        on_loop = False
    return {"thread": threading.current_thread().name, "on_loop": on_loop}


@app.before_request
def hook(was):
    was.request.hook_where = where()


@app.finish_request
def stamp(was):
    spot = was.request.hook_where
    was.response.set_header("X-Hook", f"{spot['thread']} {int(spot['on_loop'])}")


@app.route("/async/<int:n>")
@app.inspect(ints=["k"], k__gte=1)
async def async_handler(was, n, k=1):
    await asyncio.sleep(0)
    return was.API(n=n * k, path=was.request.path, **where())


@app.route("/def")
def plain(was):
    return was.API(**where())


@app.route("/nothread", nothread=True)
def nothread(was):
    return was.API(**where())


@app.route("/nothread/waits", nothread=True)
def nothread_waits(was):
    # a blocking wait on the loop would hang the worker: it raises WouldBlock instead
    return was.API(value=was.Thread(time.sleep, args=(0.2,)).fetch())


@app.route("/coroutine", coroutine=True)
def coroutine(was):
    first = where()
    task = yield was.Mask(21)
    return was.API(first=first, second=where(), value=task.fetch() * 2)


@app.route("/body", methods=["POST"])
async def body(was):
    return was.API(got=was.request.JSON, size=len(was.request.body), **where())


@app.route("/upload", methods=["POST"])
async def upload(was, file, **form):
    return was.API(text=file.read().decode(), form=form, **where())


@app.route("/session/set")
async def session_set(was, value):
    was.session.set("k", value)
    return was.API(on_loop=where()["on_loop"])


@app.route("/session/get")
async def session_get(was):
    return was.API(value=was.session.get("k"), on_loop=where()["on_loop"])


@app.route("/page/<name>")
async def page(was, name):
    return was.render("hello.html", name=name, on_loop=where()["on_loop"])


@app.route("/fail")
async def fail(was):
    raise was.Error("409 Conflict", "taken")


@app.route("/rendezvous/<int:n>")
async def rendezvous(was, n, count=1, tag=None):
    # every request waits on the loop until all have arrived: their handlers
    # are suspended at once, each with its own `was`
    if gathered["all_in"] is None:
        gathered["all_in"] = asyncio.Event()
    gathered["waiting"].append(n)
    if len(gathered["waiting"]) >= int(count):
        gathered["all_in"].set()
    await asyncio.wait_for(gathered["all_in"].wait(), 10)
    await asyncio.sleep(0.001 * (n % 3))
    return was.API(n=n, param=was.request.PARAMS["n"], path=was.request.path,
                   arg=was.request.ARGS.get("tag"))


off = atila.Atila("off")
off.config.LOOP_DISPATCH = False


@off.before_request
def off_hook(was):
    was.request.hook_where = where()


@off.route("/async")
async def off_async(was):
    return was.API(hook=was.request.hook_where, handler=where())


@off.route("/nothread", nothread=True)
def off_nothread(was):
    return was.API(**where())


nothreads = atila.Atila("nothreads")
nothreads.config.NOTHREAD = True


@nothreads.route("/def")
def app_wide(was):
    return was.API(**where())


@nothreads.route("/pooled", nothread=False)
def pooled(was):
    return was.API(**where())


if __name__ == "__main__":
    skitai.mount("/off", off)
    skitai.mount("/nt", nothreads)
    skitai.mount("/", app)
    skitai.run(workers=1, threads=2)
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: Any) -> Any:
    site: Path = tmp_path_factory.mktemp("onloop")
    (site / "serve.py").write_text(textwrap.dedent(SERVE))
    (site / "templates").mkdir()
    (site / "templates" / "hello.html").write_text("<p>{{ name }} {{ on_loop }}</p>")
    client = test_client(str(site / "serve.py"), devel=False)
    yield client
    client.stop()


def _loop_thread(live: LiveClient) -> str:
    """The name of the worker's event-loop thread (where an ``async def`` body runs)."""
    return live.get("/async/1").json()["thread"]


def test_async_def_is_dispatched_on_the_loop(live: LiveClient) -> None:
    response = live.get("/async/4?k=3", headers={"Accept": "application/json"})
    body = response.json()
    assert response.status_code == 200
    assert body["n"] == 12 and body["path"] == "/async/4" and body["on_loop"] is True
    assert response.headers["X-Hook"] == f"{body['thread']} 1"  # the hook ran on the loop
    refused = live.get("/async/4?k=0", headers={"Accept": "application/json"})
    assert refused.status_code == 400 and "k" in refused.text  # @app.inspect on the loop


def test_def_handler_runs_on_a_handler_thread(live: LiveClient) -> None:
    loop_thread = _loop_thread(live)
    response = live.get("/def")
    body = response.json()
    assert body["on_loop"] is False and body["thread"] != loop_thread
    assert response.headers["X-Hook"] == f"{body['thread']} 0"


def test_nothread_route_runs_on_the_loop(live: LiveClient) -> None:
    loop_thread = _loop_thread(live)
    response = live.get("/nothread")
    assert response.json() == {"thread": loop_thread, "on_loop": True}
    assert response.headers["X-Hook"] == f"{loop_thread} 1"


def test_a_blocking_wait_on_the_loop_is_a_500_not_a_hang(live: LiveClient) -> None:
    response = live.get("/nothread/waits", headers={"Accept": "application/json"})
    assert response.status_code == 500 and response.json()["code"] == 500
    assert live.get("/nothread").json()["on_loop"] is True  # the worker serves on


def test_app_wide_nothread_and_a_route_that_opts_out(live: LiveClient) -> None:
    loop_thread = _loop_thread(live)
    assert live.get("/nt/def").json() == {"thread": loop_thread, "on_loop": True}
    pooled = live.get("/nt/pooled").json()
    assert pooled["on_loop"] is False and pooled["thread"] != loop_thread


def test_coroutine_steps_run_on_the_loop(live: LiveClient) -> None:
    loop_thread = _loop_thread(live)
    body = live.get("/coroutine").json()
    assert body["value"] == 42
    assert body["first"] == body["second"] == {"thread": loop_thread, "on_loop": True}


def test_body_is_read_on_the_loop(live: LiveClient) -> None:
    loop_thread = _loop_thread(live)
    body = live.post("/body", json={"a": [1, 2]}).json()
    assert body["got"] == {"a": [1, 2]} and body["thread"] == loop_thread


def test_a_body_larger_than_the_buffer_is_dispatched_on_a_thread(live: LiveClient) -> None:
    """Past body_buffer_size (1 MiB) the body streams in: reading it may wait, so the
    dispatch falls back to a handler thread; the handler still answers."""
    payload = {"blob": "x" * (1_200_000)}
    response = live.post("/body", json=payload, headers={"Accept": "application/json"})
    body = response.json()
    assert response.status_code == 200 and body["got"] == payload
    hook_thread, hook_on_loop = response.headers["X-Hook"].rsplit(" ", 1)
    assert hook_on_loop == "0" and hook_thread != body["thread"]


def test_upload_on_the_loop(live: LiveClient) -> None:
    body = live.post(
        "/upload", files={"file": ("note.txt", "héllo".encode())}, data={"a": "1"}
    ).json()
    assert body["text"] == "héllo" and body["form"] == {"a": "1"} and body["on_loop"] is True


def test_a_template_renders_on_the_loop(live: LiveClient) -> None:
    response = live.get("/page/<b>")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text == "<p>&lt;b&gt; True</p>"


def test_sessions_on_the_loop(live: LiveClient) -> None:
    with LiveClient(live.base_url) as browser:
        assert browser.get("/session/set", params={"value": "v1"}).json()["on_loop"] is True
        assert browser.get("/session/get").json() == {"value": "v1", "on_loop": True}
    assert live.get("/session/get").json()["value"] is None  # another client, no cookie


def test_errors_follow_the_accept_rule_on_the_loop(live: LiveClient) -> None:
    as_json = live.get("/fail", headers={"Accept": "application/json"})
    assert as_json.status_code == 409
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert "taken" in as_json.text
    as_html = live.get("/fail", headers={"Accept": "text/html"})
    assert as_html.status_code == 409 and as_html.headers["Content-Type"].startswith("text/html")


def test_was_does_not_leak_between_interleaved_async_handlers(live: LiveClient) -> None:
    """Twelve handlers are suspended on the one loop at the same time, then resume in
    another order: each still sees its own request through ``was``."""
    count = 12
    loop_thread = _loop_thread(live)

    def call(n: int) -> dict[str, Any]:
        with LiveClient(live.base_url) as client:
            response = client.get(f"/rendezvous/{n}?count={count}&tag=t{n}")
            assert response.headers["X-Hook"] == f"{loop_thread} 1"
            return response.json()

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(call, range(count)))
    assert results == [
        {"n": n, "param": n, "path": f"/rendezvous/{n}", "arg": f"t{n}"} for n in range(count)
    ]


def test_loop_dispatch_off_keeps_the_app_on_threads(live: LiveClient) -> None:
    body = live.get("/off/async").json()
    assert body["hook"]["on_loop"] is False  # dispatched (hooks) on a handler thread
    assert body["handler"]["on_loop"] is True  # the coroutine itself still on the loop
    assert live.get("/off/nothread").json()["on_loop"] is False
