"""The spec's WebSocket push and chat room, and a broadcast, on any worker."""

import os

from events import note

import atila
import skitai

app = atila.Atila(__name__)
app.securekey = "hub-tests-key"


def onopen(was):
    was.request.session.set("WS_ID", was.websocket.client_id)


@app.route("/pid")
def pid(was):
    return str(os.getpid())


@app.route("/websocket")
@app.websocket(skitai.WS_CHANNEL, 300, onopen)
def websocket(was, message):
    return f"{os.getpid()} {was.websocket.client_id}"


@app.route("/item_in_stock")
def item_in_stock(was):
    sent = app.websocket_send(was.request.session.get("WS_ID"), "Item In Stock!")
    return f"{os.getpid()} {sent}"


def join(was):
    was.websocket.send(f"pid {os.getpid()}")


@app.route("/chat")
@app.websocket(skitai.WS_GROUPCHAT, 300, join)
def chat(was, message):
    return message


@app.route("/broadcast/<value>")
def broadcast(was, value):
    return f"{os.getpid()} {was.broadcast('item:added', value)}"


@app.route("/setlu/<key>")
def setlu(was, key):
    return f"{os.getpid()} {was.setlu(key)!r}"


@app.route("/getlu/<key>")
def getlu(was, key):
    return f"{os.getpid()} {was.getlu(key)!r}"


@app.route("/login/<name>")
def login(was, name):
    was.request.session.set("user", name)
    return f"{os.getpid()} {name}"


@app.route("/whoami")
def whoami(was):
    return f"{os.getpid()} {was.request.session.get('user')}"


@app.route("/logout")
def logout(was):
    was.request.session.expire()
    return f"{os.getpid()} bye"


@app.on_broadcast("item:added")
def added(was, value):
    note("chat", value)
