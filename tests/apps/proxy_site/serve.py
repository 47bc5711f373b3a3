"""A server behind a (pretend) reverse proxy, for tests/skitai/test_proxy.py.

``/echo`` (plain WSGI) shows what the engine put in the environ; ``/atila``
shows what Atila's request makes of it.  Every answer names the worker's pid.
"""

import json
import os

import atila
import skitai

app = atila.Atila(__name__)


@app.route("/")
def index(was):
    request = was.request
    return was.API(addr=request.get_remote_addr(), scheme=request.get_scheme(), pid=os.getpid())


def echo(environ, start_response):
    body = json.dumps(
        {
            "addr": environ["REMOTE_ADDR"],
            "scheme": environ["wsgi.url_scheme"],
            "pid": os.getpid(),
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


skitai.mount("/echo", echo)
skitai.mount("/atila", app)
skitai.run(workers=1, threads=2)
