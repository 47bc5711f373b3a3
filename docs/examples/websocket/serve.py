"""WebSocket: an echo endpoint, and a push to a client from an ordinary request.

python3 serve.py --port 5000
"""

import atila
import skitai

app = atila.Atila(__name__)


def opened(was):
    """Runs in the upgrade request: greet the client with its id."""
    was.websocket.send(f"welcome {was.websocket.client_id}")


@app.route("/echo")
@app.websocket(skitai.WS_CHANNEL, 60, opened)
def echo(was, message):
    """Each message calls this; what it returns is sent back (a dict as JSON text)."""
    if message == "stats":
        return {"client": was.websocket.client_id}
    return "you said: " + message


@app.route("/push/<client_id>", methods=["POST"])
def push(was, client_id, text: str):
    """Send to a connection from anywhere, whichever worker holds it."""
    delivered = app.websocket_send(client_id, text)
    return was.API(delivered=delivered)


if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2)
