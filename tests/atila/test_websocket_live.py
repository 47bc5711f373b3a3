"""``@app.websocket`` through a real server, with the spec's examples and a real client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from skitai.testing import LiveClient

SERVE = """
import skitai
import atila

app = atila.Atila(__name__)
app.securekey = "websocket-tests-key"
events = []

def onopen(was):
    was.request.session.set("WS_ID", was.websocket.client_id)
    events.append("open " + was.request.ARGS.get("option", "-"))

def onclose(was):
    events.append("close")

@app.route("/websocket")
@app.websocket(skitai.WS_CHANNEL, 1200, onopen, onclose)
def websocket(was, message):
    return "you said: " + message

@app.route("/option")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_THREADSAFE, 1200)
def with_option(was, message, option):
    return {"message": message, "option": option, "client": was.websocket.client_id}

@app.route("/fast")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 60)
def fast(was, message):
    return message[::-1]

@app.route("/session")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_SESSION, 60)
def session(was):
    while 1:
        message = yield
        if not message:
            return
        if message == "bye":
            yield "see you"
            return
        yield "ECHO:" + message

@app.route("/coroutine")
@app.websocket(skitai.WS_COROUTINE, 60)
def coroutine(was):
    while 1:
        msg = yield was.Input()
        if not msg:
            events.append("coroutine done")
            break
        task = yield was.Thread(len, (msg,))   # a corequest: no thread waits for it
        yield {"message": msg, "length": task.fetch()}

@app.route("/chat")
@app.websocket(skitai.WS_GROUPCHAT, 60)
def chat(was, message):
    return f"{was.websocket.client_id}: {message}"

@app.route("/private")
@app.login_required
@app.websocket(skitai.WS_CHANNEL, 60)
def private(was, message):
    return message

@app.login_handler
def login(was):
    raise was.Error("401 Unauthorized", "log in first")

@app.route("/item_in_stock")
def item_in_stock(was):
    return str(app.websocket_send(was.request.session.get("WS_ID"), "Item In Stock!"))

@app.route("/events")
def show_events(was):
    return " | ".join(events)

skitai.mount("/", app)
skitai.run(workers=1, threads=2)
"""


@pytest.fixture
def server(serve: Callable[..., LiveClient]) -> LiveClient:
    return serve(SERVE)


def events_once(server: LiveClient, done: Callable[[str], bool], within: float = 10.0) -> str:
    """The server's event log, asked again until ``done(log)`` or ``within`` seconds
    (onclose and the end of a coroutine run on a handler thread after the close)."""
    deadline = time.monotonic() + within
    while True:
        events = requests.get(server.base_url + "/events", timeout=5).text
        if done(events) or time.monotonic() > deadline:
            return events


def url(server: LiveClient, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


def test_channel_with_onopen_onclose_and_push_through_the_session(server: LiveClient) -> None:
    with connect(url(server, "/websocket?option=value")) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "you said: hello"
        cookie = ws.response.headers["Set-Cookie"]  # onopen's session, with the 101
        assert cookie
        pushed = requests.get(
            server.base_url + "/item_in_stock",
            headers={"Cookie": cookie.split(";")[0]},
            timeout=5,
        )
        assert pushed.text == "True"
        assert ws.recv(timeout=5) == "Item In Stock!"
    events = requests.get(server.base_url + "/events", timeout=5).text
    assert events.startswith("open value")
    events = events_once(server, lambda text: text.endswith("close"))
    assert events == "open value | close"


def test_handler_parameters_from_the_query_and_json_replies(server: LiveClient) -> None:
    with connect(url(server, "/option?option=blue")) as ws:
        ws.send("one")
        answer = json.loads(ws.recv(timeout=5))
        assert answer["message"] == "one" and answer["option"] == "blue"
        assert isinstance(answer["client"], str)  # "<node>-<n>": unique across workers and hosts


def test_nothread_and_session(server: LiveClient) -> None:
    with connect(url(server, "/fast")) as ws:
        ws.send("abc")
        assert ws.recv(timeout=5) == "cba"
    with connect(url(server, "/session")) as ws:
        for word in ("a", "b", "c"):
            ws.send(word)
            assert ws.recv(timeout=5) == "ECHO:" + word
        ws.send("bye")
        assert ws.recv(timeout=5) == "see you"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)  # the generator ended: the server closes
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_groupchat_reaches_every_member(server: LiveClient) -> None:
    with connect(url(server, "/chat")) as first, connect(url(server, "/chat")) as second:
        first.send("hi all")
        heard_first, heard_second = first.recv(timeout=5), second.recv(timeout=5)
        assert heard_first == heard_second and heard_first.endswith(": hi all")


def test_plain_requests_and_route_checks(server: LiveClient) -> None:
    plain = requests.get(server.base_url + "/websocket", timeout=5)
    assert plain.status_code == 426 and plain.headers["Upgrade"] == "websocket"
    with pytest.raises(InvalidStatus) as refused:
        connect(url(server, "/private"))
    assert refused.value.response.status_code == 401
    assert requests.get(server.base_url + "/item_in_stock", timeout=5).text == "False"


def test_coroutine_waits_for_messages_and_corequests(server: LiveClient) -> None:
    with connect(url(server, "/coroutine")) as ws:
        for word in ("one", "three", "seventeen"):
            ws.send(word)
        answers = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
        assert answers == [
            {"message": "one", "length": 3},
            {"message": "three", "length": 5},
            {"message": "seventeen", "length": 9},
        ]
    # the coroutine is told of the close (msg is None) and ends
    assert "coroutine done" in events_once(server, lambda text: "coroutine done" in text)


def test_pages_of_other_origins_are_refused(server: LiveClient) -> None:
    own = server.base_url
    with connect(url(server, "/fast"), origin=own) as ws:  # type: ignore[arg-type]
        ws.send("ok")
        assert ws.recv(timeout=5) == "ko"
    with pytest.raises(InvalidStatus) as refused:
        connect(url(server, "/fast"), origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
