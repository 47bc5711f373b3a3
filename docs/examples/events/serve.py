"""Events across workers (app.broadcast) and shared state (setlu/getlu, @app.if_updated).

python3 serve.py --port 5000     # 2 workers; try /announce then /heard a few times
"""

import os
import threading

import atila
import skitai

app = atila.Atila(__name__)
#: what this worker has heard; each worker process has its own copy
heard: list[str] = []
_heard_lock = threading.Lock()


@app.on_broadcast("news")
def on_news(was, text):
    """Runs in every worker (and host, with a broker) when any of them broadcasts."""
    with _heard_lock:
        heard.append(text)


@app.route("/announce", methods=["POST"])
def announce(was, text: str):
    """Tell every worker; the other workers get it through the engine's message hub."""
    app.broadcast("news", text)
    return was.API(sent=text)


@app.route("/heard", methods=["GET"])
def what_i_heard(was):
    """What this worker heard, and which worker it is."""
    with _heard_lock:
        return was.API(worker=os.getpid(), heard=list(heard))


#: how many times this worker rebuilt its price cache
reloads = 0


def reload_prices(was, key):
    """Rebuild this worker's cache (a real app reads its database here)."""
    global reloads
    reloads += 1


@app.route("/prices", methods=["GET"])
@app.if_updated("prices", reload_prices)
def price_list(was):
    """``reload_prices`` runs first whenever "prices" changed since this worker last looked."""
    return was.API(worker=os.getpid(), reloads=reloads)


@app.route("/prices", methods=["POST"])
def touch_prices(was):
    """Mark "prices" as changed: every worker sees the new time at once."""
    return was.API(updated=was.setlu("prices"))


if __name__ == "__main__":
    skitai.register_states("prices")  # shared-state keys are named before the start
    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2)
